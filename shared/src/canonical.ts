import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, utf8ToBytes } from "@noble/hashes/utils.js";

/**
 * Canonical JSON: object keys sorted by code unit, no whitespace, numbers in their shortest
 * round-trip form (JSON.stringify's), `undefined` members dropped. Two equal documents always
 * produce the same bytes, whatever order their keys were written in. For JSON values (what
 * states, turns and snapshots are); a `toJSON` method is not part of the contract.
 *
 * The fast path lets the engine's JSON.stringify do the writing and only sorts each object's
 * keys. An object with an array-index key ("0", "17") cannot go that way, since engines list
 * such keys first whatever their order: the containers on the way to one are written member by
 * member, and every member without one goes the fast way again. State version 2's fact buckets
 * ("10", "3f") were such keys; version 3's ("b10") are not, so a current state goes the fast way
 * unless a record holds such an id.
 */
export function canonicalJson(value: unknown): string {
  try {
    return JSON.stringify(value, sortedMembers) ?? String(value);
  } catch (error) {
    if (!(error instanceof IndexKey)) throw error;
    return writeMembers(value as object);
  }
}

/** A container holding an array-index key somewhere: its members each by `canonicalJson`. */
function writeMembers(container: object): string {
  if (Array.isArray(container)) {
    const items: unknown[] = container;
    return `[${items.map((item) => (item === undefined ? "null" : canonicalJson(item))).join(",")}]`;
  }
  const record = container as Record<string, unknown>;
  const parts: string[] = [];
  for (const key of Object.keys(record).sort()) {
    const member = record[key];
    if (member === undefined) continue;
    parts.push(`${JSON.stringify(key)}:${canonicalJson(member)}`);
  }
  return `{${parts.join(",")}}`;
}

/** Thrown inside JSON.stringify to leave the fast path; never escapes canonicalJson. */
class IndexKey extends Error {}
const ARRAY_INDEX = /^(?:0|[1-9]\d{0,9})$/;

function sortedMembers(_key: string, value: unknown): unknown {
  if (value === null || typeof value !== "object") {
    if (typeof value === "number" && !Number.isFinite(value)) {
      throw new TypeError(`canonical JSON cannot encode ${value}`);
    }
    return value;
  }
  if (Array.isArray(value)) return value;
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  let inOrder = true;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    const first = key.charCodeAt(0);
    if (first >= 48 && first <= 57 && ARRAY_INDEX.test(key)) throw new IndexKey(key);
    if (i > 0 && keys[i - 1]! > key) inOrder = false;
  }
  // An object whose keys are already in order (one parsed from canonical JSON, as stored
  // snapshots are) is written as it is: no copy, no sort.
  if (inOrder) return record;
  keys.sort();
  // No prototype: assigning a member named "__proto__" to a plain object would set its prototype
  // instead, and the member would vanish from the JSON.
  const sorted = Object.create(null) as Record<string, unknown>;
  for (const key of keys) sorted[key] = record[key];
  return sorted;
}

/** The reference writer: the same bytes as `canonicalJson`, built by hand. */
export function writeCanonical(value: unknown): string {
  if (value === null || typeof value !== "object") {
    if (typeof value === "number" && !Number.isFinite(value)) {
      throw new TypeError(`canonical JSON cannot encode ${value}`);
    }
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) {
    return `[${value.map((item) => (item === undefined ? "null" : writeCanonical(item))).join(",")}]`;
  }
  const record = value as Record<string, unknown>;
  const parts: string[] = [];
  for (const key of Object.keys(record).sort()) {
    const member = record[key];
    if (member === undefined) continue;
    parts.push(`${JSON.stringify(key)}:${writeCanonical(member)}`);
  }
  return `{${parts.join(",")}}`;
}

/**
 * Hex sha256 of the UTF-8 of texts one after another, the digest of their concatenation: a text
 * made of pieces (a state's canonical JSON from the texts kept of its parts) is hashed without
 * being joined, which on a large world costs more than the hash. Each text is whole JSON
 * tokens, so no character is split between two.
 */
export type Sha256Hex = (texts: readonly string[]) => string;

const portableSha256: Sha256Hex = (texts) => {
  const hash = sha256.create();
  for (const text of texts) hash.update(utf8ToBytes(text));
  return bytesToHex(hash.digest());
};
let sha256Hex: Sha256Hex = portableSha256;

/**
 * Replaces the portable (pure JavaScript) sha256 behind `checksum` with a native one, such as
 * Node's crypto, several times faster on large states. It must return the same digests; the
 * server checks that before installing it.
 */
export function useNativeSha256(implementation: Sha256Hex): void {
  const probe = canonicalJson({ probe: "Loom ✓", n: [1, 2.5, -3] });
  const pieces = [probe.slice(0, 9), probe.slice(9), ""];
  if (
    implementation([probe]) !== portableSha256([probe]) ||
    implementation(pieces) !== portableSha256([probe])
  )
    throw new Error("the native sha256 disagrees with the portable one");
  sha256Hex = implementation;
}

/**
 * The checksum of a value whose canonical JSON is `json` (as snapshots are stored): the same as
 * `checksum(JSON.parse(json))` when `json` is canonical, without serializing again.
 */
export function checksumOfJson(json: string): string {
  return sha256Hex([json]);
}

/** `checksumOfJson` of the texts joined, without joining them. */
export function checksumOfTexts(texts: readonly string[]): string {
  return sha256Hex(texts);
}

/** Hex sha256 of the canonical JSON of a value: the checksum stored with every snapshot. */
export function checksum(value: unknown): string {
  return sha256Hex([canonicalJson(value)]);
}

/** A value's canonical JSON and its checksum, for a writer that stores the JSON too. */
export function canonicalWithChecksum(value: unknown): { json: string; checksum: string } {
  const json = canonicalJson(value);
  return { json, checksum: sha256Hex([json]) };
}
