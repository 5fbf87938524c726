import { pointer } from "./delta.ts";
import type { CanonFact, UniverseState } from "./state.ts";

/**
 * Canon facts live in CANON_FACT_BUCKETS buckets (`canon.factBuckets["00"…"3f"]`), each fact in
 * the bucket its id hashes to. A turn that records a fact writes `/canon/factBuckets/<b>/<id>`:
 * applying it copies the canon object, the bucket index (64 keys) and one bucket (a few facts),
 * where one record of every fact would be copied whole by every fact-recording turn. 64 is about
 * the square root of the facts a long campaign holds (a few thousand: places, attitudes per NPC
 * and character, quests, the newest happenings), which keeps both levels small.
 *
 * The bucket of an id never changes (it is part of state version 2: another count would be a new
 * version), so readers and writers go through this module and never spell the layout themselves.
 */
export const CANON_FACT_BUCKETS = 64;

/** The bucket keys, in order: "00", "01", … "3f". */
export const FACT_BUCKET_KEYS: readonly string[] = Array.from({ length: CANON_FACT_BUCKETS }, (_, i) =>
  i.toString(16).padStart(2, "0"),
);

/** FNV-1a over the id's UTF-16 code units: pure, the same in every engine, spreads similar ids. */
export function factBucket(id: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    hash ^= id.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return FACT_BUCKET_KEYS[(hash >>> 0) % CANON_FACT_BUCKETS]!;
}

/** The JSON Pointer of a fact (or of a member inside it). */
export function factPath(id: string, ...inside: string[]): string {
  return pointer("canon", "factBuckets", factBucket(id), id, ...inside);
}

export type FactBuckets = UniverseState["canon"]["factBuckets"];

/** Every bucket, empty. */
export function emptyFactBuckets(): FactBuckets {
  return Object.fromEntries(FACT_BUCKET_KEYS.map((key) => [key, {}]));
}

/** Facts keyed by id, placed in their buckets (a record of facts is how version 1 kept them). */
export function bucketFacts(facts: Readonly<Record<string, CanonFact>>): FactBuckets {
  const buckets = emptyFactBuckets();
  for (const id of Object.keys(facts)) buckets[factBucket(id)]![id] = facts[id]!;
  return buckets;
}

/** The fact with this id, if the state holds it (never a prototype member). */
export function readFact(state: UniverseState, id: string): CanonFact | undefined {
  const bucket = state.canon.factBuckets[factBucket(id)];
  return bucket && Object.prototype.hasOwnProperty.call(bucket, id) ? bucket[id] : undefined;
}

/** Every fact the state holds, bucket by bucket (callers that need an order sort). */
export function listFacts(state: Pick<UniverseState, "canon">): CanonFact[] {
  const facts: CanonFact[] = [];
  for (const key of FACT_BUCKET_KEYS) {
    const bucket = state.canon.factBuckets[key];
    if (bucket) for (const id of Object.keys(bucket)) facts.push(bucket[id]!);
  }
  return facts;
}

/** How many facts the state holds, without listing them. */
export function countFacts(state: UniverseState): number {
  let count = 0;
  for (const key of FACT_BUCKET_KEYS) {
    const bucket = state.canon.factBuckets[key];
    if (bucket) count += Object.keys(bucket).length;
  }
  return count;
}

/** Facts keyed by id, whatever bucket they sit in. */
export function factsById(state: UniverseState): Record<string, CanonFact> {
  const facts: Record<string, CanonFact> = {};
  for (const key of FACT_BUCKET_KEYS) {
    const bucket = state.canon.factBuckets[key];
    if (bucket) for (const id of Object.keys(bucket)) facts[id] = bucket[id]!;
  }
  return facts;
}
