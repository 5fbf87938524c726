import { parsePointer, type Delta } from "../delta.ts";
import type { UniverseState } from "../state.ts";
import type { Draft } from "./draft.ts";
import { own } from "./lookup.ts";
import { bucketedMember, readLocation, readNpc, readQuest } from "../world-records.ts";

/**
 * Canon memory for changes a game master made directly: locations added or discovered, NPC
 * attitudes, quests. `after` is the state with the GM's deltas applied; facts describe it.
 */
export function recordCanonOf(draft: Draft, after: UniverseState, deltas: readonly Delta[]): void {
  const seen = new Set<string>();
  for (const delta of deltas) {
    const named = bucketedMember(parsePointer(delta.path));
    if (named?.id === undefined) continue;
    const { record, id } = named;
    const [field, sub] = named.inside;
    if (record === "locations" && (field === undefined || field === "discoveredAt")) {
      once(seen, `location:${id}`, () => location(draft, after, id));
    } else if (record === "npcs") {
      if (field === "attitudes" && sub !== undefined)
        once(seen, `attitude:${id}:${sub}`, () => attitude(draft, after, id, sub));
      else if (field === "relationship")
        once(seen, `relationship:${id}`, () => relationship(draft, after, id));
    } else if (record === "quests" && (field === undefined || field === "state")) {
      once(seen, `quest:${id}`, () => quest(draft, after, id, named.inside.length === 0 ? delta : null));
    }
  }
}

function once(seen: Set<string>, key: string, record: () => void): void {
  if (seen.has(key)) return;
  seen.add(key);
  record();
}

function location(draft: Draft, after: UniverseState, id: string): void {
  const place = readLocation(after, id);
  if (!place) return;
  const discovered = place.discoveredAt !== null;
  draft.fact(
    "location",
    { locationId: id, name: place.name, region: place.region, discovered },
    `location-${id}`,
  );
  draft.event("location", discovered ? `${place.name} is discovered` : `${place.name} becomes known`, {
    data: { locationId: id, discovered },
  });
}

function attitude(draft: Draft, after: UniverseState, npcId: string, characterId: string): void {
  const npc = readNpc(after, npcId);
  const value = npc && own(npc.attitudes, characterId);
  if (!npc || !value) return;
  draft.fact("relationship", { npcId, characterId, attitude: value }, `relationship-${npcId}-${characterId}`);
  const name = own(after.characters, characterId)?.name ?? characterId;
  draft.event("attitude_changed", `${npc.name} is now ${value} towards ${name}`, {
    data: { npcId, characterId, attitude: value },
  });
}

function relationship(draft: Draft, after: UniverseState, npcId: string): void {
  const npc = readNpc(after, npcId);
  if (!npc) return;
  draft.fact("relationship", { npcId, relationship: npc.relationship }, `relationship-${npcId}`);
  draft.event("attitude_changed", `${npc.name} is now ${npc.relationship}`, {
    data: { npcId, relationship: npc.relationship },
  });
}

/** `added` is the delta that set the whole quest, if one did. */
function quest(draft: Draft, after: UniverseState, questId: string, added: Delta | null): void {
  const quest = readQuest(after, questId);
  if (!quest) return;
  draft.fact("quest", { questId, title: quest.title, state: quest.state }, `quest-${questId}`);
  const isNew = added !== null && added.op === "set" && added.prev === undefined;
  if (quest.state === "resolved" || quest.state === "failed") {
    const description = `The quest "${quest.title}" is ${quest.state}`;
    draft.event(quest.state === "resolved" ? "quest_resolved" : "quest_failed", description, {
      major: true,
      data: { questId },
    });
    draft.majorEvent(null, description);
  } else {
    draft.event(
      isNew ? "quest_added" : "quest_updated",
      `The quest "${quest.title}" is ${isNew ? "open" : quest.state}`,
      {
        data: { questId, state: quest.state },
      },
    );
  }
}
