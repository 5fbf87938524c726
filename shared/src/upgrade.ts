import { bucketedById, bucketOf, bucketRecord } from "./buckets.ts";
import { factPath, factsById } from "./canon-facts.ts";
import { parsePointer, pointer, type Delta } from "./delta.ts";
import type { UniverseState } from "./state.ts";
import { BUCKETED_RECORDS } from "./world-records.ts";

/**
 * Reading what older versions stored. The log is never rewritten: a snapshot keeps the document
 * (and checksum) of the version it was taken in, a turn the deltas it was decided with. Readers
 * bring both to the current version on the way in — documents through `upcasters`, deltas
 * through `deltaUpgrades` — so replay, jump, branch and undo only ever see the current layout.
 *
 * A delta carries no version. That works because each version renames the member it reshapes
 * (version 2 has `canon.factBuckets`, no `canon.facts`; version 3 `world.npcBuckets`, no
 * `world.npcs`): an older path names a member the current
 * document does not have, so a translator recognises it by the path alone and leaves every
 * other delta as it is, which also makes translating twice harmless. A future version must keep
 * that property. See docs/state-versions.md.
 */

type Document = Record<string, unknown>;

/** Document upcasters: the entry for N takes a document of version N to version N + 1. */
export const upcasters: Readonly<Record<number, (doc: Document) => Document>> = {
  /** Version 1 kept canon facts in one record keyed by id; version 2 buckets them. */
  1: (doc) => ({ ...doc, version: 2, canon: upcastCanonV1(doc.canon) }),
  /**
   * Version 2 kept NPCs, locations and quests in records keyed by id, and keyed fact buckets
   * "00"…"3f"; version 3 buckets the records, and keys every bucket "b00"…"b3f".
   */
  2: (doc) => {
    const { quests, ...rest } = doc;
    return {
      ...rest,
      version: 3,
      world: upcastWorldV2(doc.world),
      questBuckets: bucketed(quests),
      canon: upcastCanonV2(doc.canon),
    };
  },
};

/** Version 2's key of a bucket ("07") as version 3 spells it ("b07"); any other key as it is. */
function keyV3(key: string): string {
  return /^[0-9a-f]{2}$/.test(key) ? `b${key}` : key;
}

/** Version 2's fact buckets under version 3's keys (the same bucket of each fact: same hash, same count). */
function rekeyBucketsV2(buckets: unknown): unknown {
  if (!isRecord(buckets)) return buckets;
  return Object.fromEntries(Object.keys(buckets).map((key) => [keyV3(key), buckets[key]]));
}

function upcastCanonV2(canon: unknown): unknown {
  return isRecord(canon) && "factBuckets" in canon
    ? { ...canon, factBuckets: rekeyBucketsV2(canon.factBuckets) }
    : canon;
}

/**
 * A record keyed by id (version 1's facts, version 2's NPCs, locations and quests) in buckets;
 * anything else (a bad value a rejected delta carried) as it is.
 */
function bucketed(record: unknown): unknown {
  return isRecord(record) ? bucketRecord(record) : record;
}

function upcastWorldV2(world: unknown): unknown {
  if (!isRecord(world) || !("npcs" in world || "locations" in world)) return world;
  const { npcs, locations, ...rest } = world;
  return { ...rest, locationBuckets: bucketed(locations), npcBuckets: bucketed(npcs) };
}

function upcastCanonV1(canon: unknown): unknown {
  if (!isRecord(canon) || !("facts" in canon)) return canon;
  const { facts, ...rest } = canon;
  return { ...rest, factBuckets: bucketed(facts) };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * A version 1 delta in version 2 terms: `/canon/facts/<id>/…` goes to the id's bucket, a delta
 * that replaces the whole facts record or the whole canon gets its value and prev bucketed.
 * Any other delta is returned as it is (the same object).
 */
function upgradeDeltaV1(delta: Delta): Delta {
  if (delta.path === "/canon") return withValues(delta, delta.path, upcastCanonV1);
  if (!names(delta.path, "/canon/facts")) return delta;
  const [, , id, ...inside] = parsePointer(delta.path);
  if (id === undefined) return withValues(delta, pointer("canon", "factBuckets"), bucketed);
  return { ...delta, path: factPath(id, ...inside) };
}

function withValues(delta: Delta, path: string, upcast: (value: unknown) => unknown): Delta {
  const upgraded: Delta = { ...delta, path };
  if ("value" in delta) upgraded.value = upcast(delta.value);
  if ("prev" in delta) upgraded.prev = upcast(delta.prev);
  return upgraded;
}

/** Version 2's keyed records and where version 3 buckets them. */
const RECORDS_V2: ReadonlyArray<{ at: readonly string[]; to: readonly string[] }> = [
  { at: ["world", "npcs"], to: BUCKETED_RECORDS.npcs },
  { at: ["world", "locations"], to: BUCKETED_RECORDS.locations },
  { at: ["quests"], to: BUCKETED_RECORDS.quests },
];

/**
 * A version 2 delta in version 3 terms: `/world/npcs/<id>/…`, `/world/locations/<id>/…` and
 * `/quests/<id>/…` go to the id's bucket, `/canon/factBuckets/07/…` to `/canon/factBuckets/b07/…`;
 * a delta that replaces a whole record, the fact buckets, the whole canon or the whole world gets
 * its value and prev bucketed and keyed so. Any other delta is returned as it is (the same object).
 */
function upgradeDeltaV2(delta: Delta): Delta {
  const path = delta.path;
  if (path.startsWith("/canon")) return upgradeCanonDeltaV2(delta);
  if (
    path !== "/world" &&
    !names(path, "/world/npcs") &&
    !names(path, "/world/locations") &&
    !names(path, "/quests")
  )
    return delta;
  const tokens = parsePointer(path);
  if (tokens.length === 1 && tokens[0] === "world") return withValues(delta, "/world", upcastWorldV2);
  for (const { at, to } of RECORDS_V2) {
    if (tokens.length < at.length || !at.every((token, i) => tokens[i] === token)) continue;
    if (tokens.length === at.length) return withValues(delta, pointer(...to), bucketed);
    const [id, ...inside] = tokens.slice(at.length);
    return { ...delta, path: pointer(...to, bucketOf(id!), id!, ...inside) };
  }
  return delta;
}

/** A path into a fact bucket under version 2's key. */
const FACT_BUCKET_V2 = /^\/canon\/factBuckets\/[0-9a-f]{2}(?:\/|$)/;

function upgradeCanonDeltaV2(delta: Delta): Delta {
  const path = delta.path;
  if (path === "/canon") return withValues(delta, path, upcastCanonV2);
  if (path === "/canon/factBuckets") return withValues(delta, path, rekeyBucketsV2);
  if (!FACT_BUCKET_V2.test(path)) return delta;
  const [, , bucket, ...inside] = parsePointer(path);
  return { ...delta, path: pointer("canon", "factBuckets", keyV3(bucket!), ...inside) };
}

/**
 * Whether `path` is `member` or inside it. Every delta read passes the translators: a path they
 * leave alone (nearly all) is recognised by its text, without splitting it.
 */
function names(path: string, member: string): boolean {
  return path.startsWith(member) && (path.length === member.length || path[member.length] === "/");
}

/** Delta translators, oldest first; each leaves deltas of later versions alone. */
const deltaUpgrades: ReadonlyArray<(delta: Delta) => Delta> = [upgradeDeltaV1, upgradeDeltaV2];

export function upgradeDelta(delta: Delta): Delta {
  let current = delta;
  for (const upgrade of deltaUpgrades) current = upgrade(current);
  return current;
}

/** Recorded deltas in the current layout; the same array when none needed translating. */
export function upgradeDeltas(deltas: readonly Delta[]): Delta[] {
  let copy: Delta[] | null = null;
  for (let i = 0; i < deltas.length; i++) {
    const upgraded = upgradeDelta(deltas[i]!);
    if (upgraded !== deltas[i]) (copy ??= deltas.slice())[i] = upgraded;
  }
  return copy ?? (deltas as Delta[]);
}

/** A recorded turn with its deltas in the current layout. */
export function upgradeTurn<T extends { deltas: Delta[] }>(turn: T): T {
  const deltas = upgradeDeltas(turn.deltas);
  return deltas === turn.deltas ? turn : { ...turn, deltas };
}

/**
 * The version 2 document a current state came from: bucketing is a bijection, so this is the
 * exact inverse of the upcaster (members in the order version 2 lists them: by id within each
 * bucket, which the canonical JSON a checksum hashes sorts anyway). Tests use it to hold rebuilt
 * states to older versions' checksums.
 */
export function downcastToV2(state: UniverseState): Document {
  const { questBuckets, ...rest } = state;
  const { npcBuckets, locationBuckets, ...world } = state.world;
  const factBuckets = Object.fromEntries(
    Object.keys(state.canon.factBuckets).map((key) => [key.slice(1), state.canon.factBuckets[key]]),
  );
  return {
    ...rest,
    version: 2,
    world: { ...world, locations: bucketedById(locationBuckets), npcs: bucketedById(npcBuckets) },
    quests: bucketedById(questBuckets),
    canon: { ...state.canon, factBuckets },
  };
}

/** The version 1 document a current state came from, through version 2. */
export function downcastToV1(state: UniverseState): Document {
  const { factBuckets: _buckets, ...canon } = state.canon;
  return { ...downcastToV2(state), version: 1, canon: { ...canon, facts: factsById(state) } };
}
