import type { Character, Npc, Relationship } from "../state.ts";
import type { Draft } from "./draft.ts";
import { own } from "./lookup.ts";
import { npcPath } from "../world-records.ts";

const STEPS: readonly Relationship[] = ["hostile", "wary", "neutral", "friendly", "ally"];

/** How an NPC feels about a character: their own entry, else the NPC's general disposition. */
export function attitudeOf(npc: Npc, characterId: string): Relationship {
  return own(npc.attitudes, characterId) ?? npc.relationship;
}

export function friendlier(attitude: Relationship): Relationship {
  return STEPS[Math.min(STEPS.length - 1, STEPS.indexOf(attitude) + 1)]!;
}

/**
 * Changes how an NPC feels about a character, and records it as canon under a stable id per
 * pair: canon holds the current attitude, the timeline holds how it got there.
 */
export function changeAttitude(draft: Draft, npc: Npc, character: Character, attitude: Relationship): void {
  const previous = attitudeOf(npc, character.id);
  if (previous === attitude) return;
  draft.set(npcPath(npc.id, "attitudes", character.id), attitude, own(npc.attitudes, character.id));
  draft.fact(
    "relationship",
    { npcId: npc.id, characterId: character.id, attitude, previous },
    `relationship-${npc.id}-${character.id}`,
  );
  draft.event(
    "attitude_changed",
    `${npc.name} is now ${attitude} towards ${character.name} (was ${previous})`,
    {
      data: { npcId: npc.id, characterId: character.id, attitude, previous },
    },
  );
}
