import { pointer } from "../delta.ts";
import { absorbHit } from "../fate/stress.ts";
import type { StressTrack } from "../fate/skills.ts";
import type { Character, ConsequenceSeverity, Npc } from "../state.ts";
import type { Draft } from "./draft.ts";
import { npcPath } from "../world-records.ts";

export type Combatant = { type: "character"; character: Character } | { type: "npc"; npc: Npc };

const CONSEQUENCE_NAMES: Record<StressTrack, Record<ConsequenceSeverity, string>> = {
  physical: { mild: "Bruised and Winded", moderate: "Deep Gash", severe: "Shattered Bones" },
  mental: { mild: "Rattled", moderate: "Shaken to the Core", severe: "Haunted by Doubt" },
};

const SEVERITIES: readonly ConsequenceSeverity[] = ["mild", "moderate", "severe"];

export function combatantName(target: Combatant): string {
  return target.type === "character" ? target.character.name : target.npc.name;
}

/**
 * Applies a successful attack's shifts to the defender (Fate Core pp. 160–167). Each consequence
 * taken gives the attacker one free invoke on it (p. 162). NPCs here have a stress track and no
 * consequences, like the nameless and supporting NPCs of p. 213. Returns true if taken out.
 */
export function applyHarm(draft: Draft, target: Combatant, shifts: number, track: StressTrack): boolean {
  const position = draft.ctx.position;
  const name = combatantName(target);
  if (target.type === "npc") {
    const { box, takenOut } = absorbHit(target.npc.stress, [], shifts);
    const base = npcPath(target.npc.id);
    if (box !== null) draft.set(`${base}/stress/${box}`, true, false);
    if (takenOut) draft.set(`${base}/takenOut`, true, false);
    draft.event("stress", describeHarm(name, shifts, box, [], takenOut), {
      data: { npcId: target.npc.id, shifts, box },
    });
    return takenOut;
  }
  const character = target.character;
  const free = SEVERITIES.filter((severity) => character.consequences[severity] === null);
  const { box, consequences, takenOut } = absorbHit(character.stress[track], free, shifts);
  const base = pointer("characters", character.id);
  if (box !== null) draft.set(`${base}/stress/${track}/${box}`, true, false);
  for (const severity of consequences) {
    const consequence = {
      aspect: CONSEQUENCE_NAMES[track][severity],
      freeInvokes: 1,
      sourcePosition: position,
    };
    draft.set(`${base}/consequences/${severity}`, consequence, null);
  }
  if (takenOut) draft.set(`${base}/takenOut`, true, false);
  draft.event(
    "stress",
    describeHarm(
      name,
      shifts,
      box,
      consequences.map((s) => `${s} "${CONSEQUENCE_NAMES[track][s]}"`),
      takenOut,
    ),
    {
      data: { characterId: character.id, shifts, track, box, consequences },
    },
  );
  return takenOut;
}

function describeHarm(
  name: string,
  shifts: number,
  box: number | null,
  consequences: string[],
  takenOut: boolean,
): string {
  if (takenOut) return `${name} cannot absorb a ${shifts}-shift hit`;
  const parts: string[] = [];
  if (box !== null) parts.push(`checks stress box ${box + 1}`);
  if (consequences.length > 0) parts.push(`takes a ${consequences.join(" and a ")} consequence`);
  return `${name} ${parts.join(" and ")} to absorb a ${shifts}-shift hit`;
}
