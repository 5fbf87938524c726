import { bucketFacts, factBucket, factsById } from "./canon-facts.ts";
import { parsePointer, pointer, type Delta } from "./delta.ts";
import type { CanonFact, UniverseState } from "./state.ts";

/**
 * Reading what older versions stored. The log is never rewritten: a snapshot keeps the document
 * (and checksum) of the version it was taken in, a turn the deltas it was decided with. Readers
 * bring both to the current version on the way in — documents through `upcasters`, deltas
 * through `deltaUpgrades` — so replay, jump, branch and undo only ever see the current layout.
 *
 * A delta carries no version. That works because each version renames the member it reshapes
 * (version 2 has `canon.factBuckets`, no `canon.facts`): an older path names a member the current
 * document does not have, so a translator recognises it by the path alone and leaves every
 * other delta as it is, which also makes translating twice harmless. A future version must keep
 * that property. See docs/state-versions.md.
 */

type Document = Record<string, unknown>;

/** Document upcasters: the entry for N takes a document of version N to version N + 1. */
export const upcasters: Readonly<Record<number, (doc: Document) => Document>> = {
  /** Version 1 kept canon facts in one record keyed by id; version 2 buckets them. */
  1: (doc) => ({ ...doc, version: 2, canon: upcastCanonV1(doc.canon) }),
};

function upcastCanonV1(canon: unknown): unknown {
  if (!isRecord(canon) || !("facts" in canon)) return canon;
  const { facts, ...rest } = canon;
  return { ...rest, factBuckets: bucketFactsV1(facts) };
}

/** A version 1 facts record in buckets; anything else (a bad value a rejected delta carried) as it is. */
function bucketFactsV1(facts: unknown): unknown {
  return isRecord(facts) ? bucketFacts(facts as Record<string, CanonFact>) : facts;
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
  if (!delta.path.startsWith("/canon")) return delta;
  const tokens = parsePointer(delta.path);
  if (tokens[0] !== "canon") return delta;
  if (tokens.length === 1) return withValues(delta, "/canon", upcastCanonV1);
  if (tokens[1] !== "facts") return delta;
  if (tokens.length === 2) return withValues(delta, pointer("canon", "factBuckets"), bucketFactsV1);
  const [, , id, ...inside] = tokens;
  return { ...delta, path: pointer("canon", "factBuckets", factBucket(id!), id!, ...inside) };
}

function withValues(delta: Delta, path: string, upcast: (value: unknown) => unknown): Delta {
  const upgraded: Delta = { ...delta, path };
  if ("value" in delta) upgraded.value = upcast(delta.value);
  if ("prev" in delta) upgraded.prev = upcast(delta.prev);
  return upgraded;
}

/** Delta translators, oldest first; each leaves deltas of later versions alone. */
const deltaUpgrades: ReadonlyArray<(delta: Delta) => Delta> = [upgradeDeltaV1];

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
 * The version 1 document a version 2 state came from: bucketing is a bijection, so this is the
 * exact inverse of the upcaster. Tests use it to hold rebuilt states to version 1 checksums.
 */
export function downcastToV1(state: UniverseState): Document {
  const { factBuckets: _buckets, ...canon } = state.canon;
  return { ...state, version: 1, canon: { ...canon, facts: factsById(state) } };
}
