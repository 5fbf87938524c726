import { bucketOf, listBucketed, readBucketed, type Buckets } from "./buckets.ts";
import { pointer } from "./delta.ts";
import type { Npc, Quest, UniverseState, WorldLocation } from "./state.ts";

/**
 * The world's NPCs, locations and quests, bucketed as canon facts are (buckets.ts): an attack on
 * an NPC copies one bucket of a dozen NPCs, not a record of hundreds. Readers and writers go
 * through these functions and never spell the layout themselves.
 */

/** Where each bucketed record sits in the state, as pointer tokens. */
export const BUCKETED_RECORDS = {
  canonFacts: ["canon", "factBuckets"],
  npcs: ["world", "npcBuckets"],
  locations: ["world", "locationBuckets"],
  quests: ["questBuckets"],
} as const satisfies Record<string, readonly string[]>;
export type BucketedRecord = keyof typeof BUCKETED_RECORDS;

const RECORDS = Object.entries(BUCKETED_RECORDS) as [BucketedRecord, readonly string[]][];

/** The JSON Pointer of an NPC (or of a member inside it). */
export function npcPath(id: string, ...inside: string[]): string {
  return pointer(...BUCKETED_RECORDS.npcs, bucketOf(id), id, ...inside);
}

/** The JSON Pointer of a location (or of a member inside it). */
export function locationPath(id: string, ...inside: string[]): string {
  return pointer(...BUCKETED_RECORDS.locations, bucketOf(id), id, ...inside);
}

/** The JSON Pointer of a quest (or of a member inside it). */
export function questPath(id: string, ...inside: string[]): string {
  return pointer(...BUCKETED_RECORDS.quests, bucketOf(id), id, ...inside);
}

type World = Pick<UniverseState, "world">;
type Quests = Pick<UniverseState, "questBuckets">;

export const readNpc = (state: World, id: string): Npc | undefined =>
  readBucketed(state.world.npcBuckets, id);
export const readLocation = (state: World, id: string): WorldLocation | undefined =>
  readBucketed(state.world.locationBuckets, id);
export const readQuest = (state: Quests, id: string): Quest | undefined =>
  readBucketed(state.questBuckets, id);

/** Every NPC, bucket by bucket (callers that need an order sort). */
export const listNpcs = (state: World): Npc[] => listBucketed(state.world.npcBuckets);
export const listLocations = (state: World): WorldLocation[] => listBucketed(state.world.locationBuckets);
export const listQuests = (state: Quests): Quest[] => listBucketed(state.questBuckets);

/** A bucketed record's buckets in a state, by name. */
export function bucketsOf(state: UniverseState, record: BucketedRecord): Buckets<unknown> {
  switch (record) {
    case "canonFacts":
      return state.canon.factBuckets;
    case "npcs":
      return state.world.npcBuckets;
    case "locations":
      return state.world.locationBuckets;
    case "quests":
      return state.questBuckets;
  }
}

/**
 * What a path names inside a bucketed record: the record, and, when the path reaches one, the
 * bucket, the member's id and the tokens inside the member. Null for a path outside them.
 */
export function bucketedMember(
  tokens: readonly string[],
): { record: BucketedRecord; bucket?: string; id?: string; inside: string[] } | null {
  for (const [record, at] of RECORDS) {
    if (tokens.length < at.length || !at.every((token, i) => tokens[i] === token)) continue;
    const [bucket, id, ...inside] = tokens.slice(at.length);
    return { record, bucket, id, inside };
  }
  return null;
}

/** The bucketed records a path's value holds whole (the path is one of theirs or above them). */
export function recordsUnder(tokens: readonly string[]): BucketedRecord[] {
  return RECORDS.filter(
    ([, at]) => tokens.length <= at.length && tokens.every((token, i) => at[i] === token),
  ).map(([record]) => record);
}

/** A record a game master's command may name: its id, and how a picker shows it. */
export interface NamedRecord {
  id: string;
  label: string;
}

/** The records a command changes by id, by kind. */
export type WorldNames = Record<"npc" | "location" | "faction" | "quest", NamedRecord[]>;

/**
 * The world's NPCs, locations, factions and quests as a picker lists them, each sorted by label:
 * "Old Wick (wary)", "Saltgate, the Marches", "The Guild (standing 2)", "The Drowned Bell (active)".
 */
export function worldNames(state: UniverseState): WorldNames {
  const byLabel = (a: NamedRecord, b: NamedRecord) => a.label.localeCompare(b.label);
  return {
    npc: listNpcs(state)
      .map((npc) => ({ id: npc.id, label: `${npc.name} (${npc.relationship})` }))
      .sort(byLabel),
    location: listLocations(state)
      .map((place) => ({ id: place.id, label: place.region ? `${place.name}, ${place.region}` : place.name }))
      .sort(byLabel),
    faction: Object.values(state.world.factions)
      .map((faction) => ({ id: faction.id, label: `${faction.name} (standing ${faction.standing})` }))
      .sort(byLabel),
    quest: listQuests(state)
      .map((quest) => ({ id: quest.id, label: `${quest.title} (${quest.state})` }))
      .sort(byLabel),
  };
}
