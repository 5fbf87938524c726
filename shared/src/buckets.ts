/**
 * Records that grow with a long campaign (canon facts, NPCs, locations, quests) are kept in
 * BUCKET_COUNT buckets, each member in the bucket its id hashes to. Applying a delta copies every
 * container on its path (structural sharing), so a turn that changes one member copies the bucket
 * index (64 keys) and one bucket (a few dozen members) instead of a record of thousands. 64 is
 * about the square root of what a long campaign holds, which keeps both levels small.
 *
 * The bucket of an id never changes: the count, the keys and the hash are part of the state version
 * (docs/state-versions.md), so readers and writers go through the modules built on this one
 * (canon-facts.ts, world-records.ts) and never spell the layout themselves.
 */
export const BUCKET_COUNT = 64;

/**
 * The bucket keys, in order: "b00", "b01", … "b3f". Never array indices: V8 keeps keys such as
 * "10" apart from the named ones, and copies an object holding both member by member, which made
 * the copy of a bucket index several times slower (state version 2 keyed fact buckets "00"…"3f").
 */
export const BUCKET_KEYS: readonly string[] = Array.from(
  { length: BUCKET_COUNT },
  (_, i) => `b${i.toString(16).padStart(2, "0")}`,
);

/** FNV-1a over the id's UTF-16 code units: pure, the same in every engine, spreads similar ids. */
export function bucketOf(id: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    hash ^= id.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return BUCKET_KEYS[(hash >>> 0) % BUCKET_COUNT]!;
}

/** A bucketed record: bucket key → member id → member. */
export type Buckets<T> = Record<string, Record<string, T>>;

/** Every bucket, empty. */
export function emptyBuckets<T>(): Buckets<T> {
  return Object.fromEntries(BUCKET_KEYS.map((key) => [key, {}]));
}

/** Members keyed by id, placed in their buckets. */
export function bucketRecord<T>(record: Readonly<Record<string, T>>): Buckets<T> {
  const buckets = emptyBuckets<T>();
  for (const id of Object.keys(record)) buckets[bucketOf(id)]![id] = record[id]!;
  return buckets;
}

/** The member with this id, if the record holds it (never a prototype member). */
export function readBucketed<T>(buckets: Readonly<Buckets<T>>, id: string): T | undefined {
  const bucket = buckets[bucketOf(id)];
  return bucket && Object.prototype.hasOwnProperty.call(bucket, id) ? bucket[id] : undefined;
}

/** Every member, bucket by bucket (callers that need an order sort). */
export function listBucketed<T>(buckets: Readonly<Buckets<T>>): T[] {
  const members: T[] = [];
  for (const key of BUCKET_KEYS) {
    const bucket = buckets[key];
    if (bucket) for (const id of Object.keys(bucket)) members.push(bucket[id]!);
  }
  return members;
}

/** Members keyed by id, whatever bucket they sit in. */
export function bucketedById<T>(buckets: Readonly<Buckets<T>>): Record<string, T> {
  const members: Record<string, T> = {};
  for (const key of BUCKET_KEYS) {
    const bucket = buckets[key];
    if (bucket) for (const id of Object.keys(bucket)) members[id] = bucket[id]!;
  }
  return members;
}

/** How many members the record holds, without listing them. */
export function countBucketed(buckets: Readonly<Buckets<unknown>>): number {
  let count = 0;
  for (const key of BUCKET_KEYS) {
    const bucket = buckets[key];
    if (bucket) count += Object.keys(bucket).length;
  }
  return count;
}

/** The first id found outside the bucket it hashes to, if any (a value a game master wrote). */
export function misplacedId(buckets: unknown): string | null {
  if (typeof buckets !== "object" || buckets === null) return null;
  for (const [bucket, members] of Object.entries(buckets as Record<string, unknown>)) {
    if (typeof members !== "object" || members === null) continue;
    for (const id of Object.keys(members)) if (bucketOf(id) !== bucket) return id;
  }
  return null;
}

/**
 * The ids of members in either record, sorted by UTF-16 code units, skipping the buckets the two
 * share (a bucket not copied since is unchanged): what to compare between two states of a universe.
 */
export function idsInChangedBuckets(
  before: Readonly<Buckets<unknown>>,
  after: Readonly<Buckets<unknown>>,
): string[] {
  const ids = new Set<string>();
  for (const key of BUCKET_KEYS) {
    const was = before[key];
    const now = after[key];
    if (was === now) continue;
    if (was) for (const id of Object.keys(was)) ids.add(id);
    if (now) for (const id of Object.keys(now)) ids.add(id);
  }
  return [...ids].sort();
}
