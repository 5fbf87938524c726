import { SHOWN } from "./scrub-summary.ts";

/** The last index whose value is ≤ `position` in an ascending list, or -1. */
function lastAtOrBefore(ascending: readonly number[], position: number): number {
  let low = 0;
  let high = ascending.length - 1;
  while (low <= high) {
    const middle = (low + high) >>> 1;
    if (ascending[middle]! <= position) low = middle + 1;
    else high = middle - 1;
  }
  return high;
}

/**
 * The values one part of a timeline's brief took, each held from the position it took it on: a
 * value a change, however many positions it lasts.
 */
export class Versions<T> {
  private readonly from: number[] = [];
  private readonly values: T[] = [];

  constructor(position: number, value: T) {
    this.set(position, value);
  }

  /** The value from `position` on (positions ascending); a later one at the same position replaces it. */
  set(position: number, value: T): void {
    const last = this.from.length - 1;
    if (this.from[last] === position) this.values[last] = value;
    else {
      this.from.push(position);
      this.values.push(value);
    }
  }

  get latest(): T {
    return this.values[this.values.length - 1]!;
  }

  /** The value at `position`, at or after the first one set. */
  at(position: number): T {
    return this.values[Math.max(0, lastAtOrBefore(this.from, position))]!;
  }
}

/** One stay of a key in a record: from the set that added it to the unset that removed it. */
interface Stay<T> {
  key: string;
  start: number;
  /** Infinity while the key is in the record. */
  end: number;
  items: Versions<T>;
}

/** Keys a JavaScript object lists first, in ascending order, whatever order they were added in. */
const isArrayIndex = (key: string) => /^(0|[1-9][0-9]*)$/.test(key) && Number(key) < 2 ** 32 - 1;

/**
 * A keyed record's brief through a timeline (a world's NPCs, locations, quests): how many entries
 * it holds at a position and the newest few, told as `Object.values` lists them and mapped to
 * their briefs, without a copy of the record per position. A record lists its keys in the order
 * they were added (replacing a member keeps its place, removing and adding it again moves it
 * last), array-index keys first in ascending order; each stay of a key is kept in that order.
 */
export class RecordHistory<T> {
  /** Stays in the order their keys were added (ascending `start`). */
  private readonly stays: Array<Stay<T>> = [];
  private readonly starts: number[] = [];
  /** Positions stays ended at, ascending. */
  private readonly ends: number[] = [];
  /** Stays of array-index keys, listed before the others whatever their order. */
  private readonly indexKeys: Array<Stay<T>> = [];
  private readonly current = new Map<string, Stay<T>>();

  /** The key is in the record from `position` with this brief, or its brief changed there. */
  set(position: number, key: string, item: T, sameItem: (a: T, b: T) => boolean): void {
    const stay = this.current.get(key);
    if (stay) {
      if (!sameItem(stay.items.latest, item)) stay.items.set(position, item);
      return;
    }
    const added: Stay<T> = { key, start: position, end: Infinity, items: new Versions(position, item) };
    this.stays.push(added);
    this.starts.push(position);
    if (isArrayIndex(key)) this.indexKeys.push(added);
    this.current.set(key, added);
  }

  /** The key left the record at `position`. */
  unset(position: number, key: string): void {
    const stay = this.current.get(key);
    if (!stay) return;
    stay.end = position;
    this.ends.push(position);
    this.current.delete(key);
  }

  has(key: string): boolean {
    return this.current.has(key);
  }

  /** Every key left the record at `position` (the record was replaced). */
  clear(position: number): void {
    for (const key of [...this.current.keys()]) this.unset(position, key);
  }

  /** How many entries the record held at `position`. */
  count(position: number): number {
    return lastAtOrBefore(this.starts, position) - lastAtOrBefore(this.ends, position);
  }

  /** How many entries the record held at `position`, and the briefs of the newest SHOWN. */
  at(position: number): { count: number; shown: T[] } {
    const added = lastAtOrBefore(this.starts, position) + 1;
    const count = added - (lastAtOrBefore(this.ends, position) + 1);
    const newest: T[] = [];
    for (let i = added - 1; i >= 0 && newest.length < SHOWN; i--) {
      const stay = this.stays[i]!;
      if (stay.end > position && !isArrayIndex(stay.key)) newest.push(stay.items.at(position));
    }
    newest.reverse();
    if (newest.length < SHOWN && this.indexKeys.length > 0) {
      const first = this.indexKeys
        .filter((stay) => stay.start <= position && stay.end > position)
        .sort((a, b) => Number(a.key) - Number(b.key))
        .map((stay) => stay.items.at(position));
      return {
        count,
        shown: [...first.slice(Math.max(0, first.length - (SHOWN - newest.length))), ...newest],
      };
    }
    return { count, shown: newest };
  }
}

/**
 * A bucketed record's brief through a timeline (world-records.ts: NPCs, locations, quests): a
 * RecordHistory a bucket, so that its entries are told as the state lists them, bucket by bucket
 * and in each bucket in the order they were added; the newest SHOWN are the last ones listed.
 */
export class BucketedHistory<T> {
  private readonly buckets = new Map<string, RecordHistory<T>>();

  constructor(private readonly keys: readonly string[]) {
    for (const key of keys) this.buckets.set(key, new RecordHistory<T>());
  }

  /** The bucket's history, or undefined for a key that is not a bucket (a value the schema refuses). */
  bucket(key: string): RecordHistory<T> | undefined {
    return this.buckets.get(key);
  }

  /** Every key of every bucket left the record at `position` (the record was replaced). */
  clear(position: number): void {
    for (const bucket of this.buckets.values()) bucket.clear(position);
  }

  at(position: number): { count: number; shown: T[] } {
    let count = 0;
    let shown: T[] = [];
    for (let i = this.keys.length - 1; i >= 0; i--) {
      const bucket = this.buckets.get(this.keys[i]!)!;
      if (shown.length === SHOWN) {
        count += bucket.count(position);
        continue;
      }
      const told = bucket.at(position);
      count += told.count;
      if (told.shown.length > 0)
        shown = [...told.shown.slice(Math.max(0, told.shown.length - (SHOWN - shown.length))), ...shown];
    }
    return { count, shown };
  }
}
