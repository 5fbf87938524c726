import { BUCKET_COUNT, BUCKET_KEYS } from "./buckets.ts";
import { canonicalJson, checksumOfTexts } from "./canonical.ts";

/**
 * A state's canonical JSON cut around its parts: `pieces[0] + parts[0].text + pieces[1] + … +
 * parts[n - 1].text + pieces[n]` is its text. A part is one bucket of a bucketed record (NPCs,
 * locations, quests, canon facts; buckets.ts): the rules replace a bucket when they change a
 * member, so two states that share a bucket share its part, the same object.
 */
export interface CutText {
  pieces: string[];
  parts: Array<{ container: object; text: string }>;
}

/**
 * Which containers have their text kept: those at least this deep (the root is 0) with at most
 * WIDE members. Shallower or wider ones (the world, a record of NPCs, a canon bucket) are written
 * member by member, so that a change to one member costs that member's text, not its record's.
 */
const KEPT_DEPTH = 2;
const WIDE = 32;

/**
 * Canonical JSON of states that share structure (one derived from another by `applyDeltas`,
 * which copies only the containers a change goes through), reusing the text of every container
 * written before. A state's text is then its few changed containers written afresh and the rest
 * joined from what is kept: on a large world a checksum costs the hash, not the serialization.
 *
 * The states given must never be changed in place (keep them frozen): a container's text is kept
 * for as long as the container lives. The texts kept are small (a canon fact, an NPC, a quest),
 * each shared by every state holding its container. The same bytes as `canonicalJson`.
 */
export class CanonicalTexts {
  private readonly kept = new WeakMap<object, string>();
  private readonly sorted = new WeakMap<object, Members>();
  /** Buckets' texts (see cut). */
  private readonly parts = new WeakMap<object, string>();

  json(value: unknown): string {
    const parts: string[] = [];
    this.write(value, 0, parts);
    return parts.join("");
  }

  /**
   * `json(value)` cut around its parts (see CutText); a bucket whose text is shorter than
   * `minPart` characters stays in the piece it would cut.
   */
  cut(value: unknown, minPart = 0): CutText {
    const cut: Cutting = { pieces: [], parts: [], minPart };
    const current: string[] = [];
    this.write(value, 0, current, cut);
    cut.pieces.push(current.join(""));
    return { pieces: cut.pieces, parts: cut.parts };
  }

  /**
   * Takes `text` for a bucket's canonical JSON, as a part read from a snapshot is (see parseCut):
   * the states holding that bucket are then written without writing it again. The bucket must be
   * kept frozen, as every state given here.
   */
  knowPart(bucket: object, text: string): void {
    this.parts.set(bucket, text);
  }

  /** `checksum(value)`, the same digest. */
  checksum(value: unknown): string {
    const parts: string[] = [];
    this.write(value, 0, parts);
    return checksumOfTexts(parts);
  }

  /**
   * Writes a value's canonical JSON into `parts`. With `cut`, a bucketed record's buckets are
   * parts: the text written so far goes to the pieces, and `parts` starts the next one. Only the
   * containers written member by member are looked into; the text is the same.
   */
  private write(value: unknown, depth: number, parts: string[], cut?: Cutting): void {
    if (value === null || typeof value !== "object") {
      parts.push(canonicalJson(value));
      return;
    }
    const known = this.kept.get(value);
    if (known !== undefined) {
      parts.push(known);
      return;
    }
    if (depth >= KEPT_DEPTH && !wide(value)) {
      const text = canonicalJson(value);
      this.kept.set(value, text);
      parts.push(text);
      return;
    }
    if (Array.isArray(value)) {
      const items: unknown[] = value;
      parts.push("[");
      for (let i = 0; i < items.length; i++) {
        if (i > 0) parts.push(",");
        if (items[i] === undefined) parts.push("null");
        else this.write(items[i], depth + 1, parts, cut);
      }
      parts.push("]");
      return;
    }
    const record = value as Record<string, unknown>;
    const members = this.members(record);
    const bucketed = isBucketed(members.keys);
    parts.push("{");
    let first = true;
    for (let i = 0; i < members.keys.length; i++) {
      const member = record[members.keys[i]!];
      if (member === undefined) continue;
      parts.push(first ? members.following[i]!.slice(1) : members.following[i]!);
      first = false;
      if (!bucketed || member === null || typeof member !== "object")
        this.write(member, depth + 1, parts, cut);
      else if (cut) this.writePart(member, depth + 1, parts, cut);
      else parts.push(this.partText(member, depth + 1));
    }
    parts.push("}");
  }

  /** A bucket: a part of its own from `cut.minPart` characters, else written where it stands. */
  private writePart(bucket: object, depth: number, parts: string[], cut: Cutting): void {
    const text = this.partText(bucket, depth);
    if (text.length < cut.minPart) {
      parts.push(text);
      return;
    }
    cut.pieces.push(parts.join(""));
    parts.length = 0;
    cut.parts.push({ container: bucket, text });
  }

  /** A bucket's text, kept while the bucket lives. */
  private partText(bucket: object, depth: number): string {
    let text = this.parts.get(bucket);
    if (text === undefined) {
      const parts: string[] = [];
      this.write(bucket, depth, parts);
      text = parts.join("");
      this.parts.set(bucket, text);
    }
    return text;
  }

  /** A record's keys in order and each as written after a member, kept while the record lives. */
  private members(record: Record<string, unknown>): Members {
    let members = this.sorted.get(record);
    if (!members) {
      const keys = Object.keys(record);
      if (!inOrder(keys)) keys.sort();
      members = { keys, following: keys.map(following) };
      this.sorted.set(record, members);
    }
    return members;
  }
}

/**
 * The value a cut text makes, each part parsed on its own (the inverse of `cut`): the skeleton,
 * the pieces with each part's index in its place, is parsed, and every index found as a bucket of
 * a bucketed record is replaced by its part's value. `buckets[i]` is the value of `parts[i]`, whose
 * canonical JSON that text is (for `CanonicalTexts.knowPart`); `parsePart` may give one parsed
 * before (frozen: the value is then not to be changed in place). Null when the pieces do not
 * place every part exactly once, at a bucket: the caller parses the joined text instead.
 */
export function parseCut(
  pieces: readonly string[],
  parts: readonly string[],
  parsePart: (text: string, index: number) => unknown = (text) => JSON.parse(text),
): { value: unknown; buckets: object[] } | null {
  if (pieces.length !== parts.length + 1) return null;
  let skeleton = pieces[0]!;
  for (let i = 0; i < parts.length; i++) skeleton += `${i}${pieces[i + 1]!}`;
  const value: unknown = JSON.parse(skeleton);
  const buckets = parts.map(parsePart);
  if (buckets.some((bucket) => bucket === null || typeof bucket !== "object")) return null;
  const placed = new Uint8Array(parts.length);
  let found = 0;
  // every container of the skeleton; the parts placed are not looked into
  const visit = (container: object): boolean => {
    if (Array.isArray(container)) {
      for (const item of container as unknown[])
        if (item !== null && typeof item === "object" && !visit(item)) return false;
      return true;
    }
    const record = container as Record<string, unknown>;
    const keys = Object.keys(record);
    const bucketed = isBucketed(keys);
    for (const key of keys) {
      const member = record[key];
      if (bucketed && typeof member === "number") {
        if (!Number.isInteger(member) || member < 0 || member >= parts.length || placed[member]) return false;
        placed[member] = 1;
        found++;
        record[key] = buckets[member];
      } else if (member !== null && typeof member === "object" && !visit(member)) return false;
    }
    return true;
  };
  if (value === null || typeof value !== "object" || !visit(value) || found !== parts.length) return null;
  return { value, buckets: buckets as object[] };
}

/** A cut being made (see cut). */
interface Cutting extends CutText {
  minPart: number;
}

interface Members {
  keys: string[];
  /** `,"key":` for each key */
  following: string[];
}

/**
 * `,"key":` for a key, one string per key for every record that has it: a record copied to change
 * one member shares the rest. Forgotten wholesale past a bound.
 */
const quotedKeys = new Map<string, string>();

function following(key: string): string {
  let text = quotedKeys.get(key);
  if (text === undefined) {
    if (quotedKeys.size >= 200_000) quotedKeys.clear();
    text = `,${JSON.stringify(key)}:`;
    quotedKeys.set(key, text);
  }
  return text;
}

function inOrder(keys: readonly string[]): boolean {
  for (let i = 1; i < keys.length; i++) if (keys[i - 1]! > keys[i]!) return false;
  return true;
}

/** Whether a record's sorted keys are a bucketed record's, `b00` to `b3f`. */
function isBucketed(keys: readonly string[]): boolean {
  return (
    keys.length === BUCKET_COUNT &&
    keys[0] === BUCKET_KEYS[0] &&
    keys[BUCKET_COUNT - 1] === BUCKET_KEYS[BUCKET_COUNT - 1]
  );
}

function wide(container: object): boolean {
  if (Array.isArray(container)) return container.length > WIDE;
  let members = 0;
  for (const _ in container) if (++members > WIDE) return true;
  return false;
}

/**
 * Freezes a state and every container in it not frozen yet, stopping at frozen ones: after
 * `applyDeltas` on a frozen state, only the containers it copied are visited.
 */
export function freezeShared<T>(value: T): T {
  if (value === null || typeof value !== "object" || Object.isFrozen(value)) return value;
  Object.freeze(value);
  // indexed and for-in walks: a parsed world has tens of thousands of containers, and
  // `Object.values` would allocate an array for each
  if (Array.isArray(value)) for (let i = 0; i < value.length; i++) freezeShared(value[i]);
  else for (const key in value) freezeShared(value[key]);
  return value;
}
