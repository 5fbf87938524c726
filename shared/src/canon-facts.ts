import { bucketedById, bucketOf, countBucketed, listBucketed, readBucketed } from "./buckets.ts";
import { pointer } from "./delta.ts";
import type { CanonFact, UniverseState } from "./state.ts";

/**
 * Canon facts live in buckets (`canon.factBuckets["b00"…"b3f"]`, see buckets.ts), each fact in the
 * bucket its id hashes to. A turn that records a fact writes `/canon/factBuckets/<b>/<id>`.
 * Readers and writers go through this module and never spell the layout themselves.
 */

/** The JSON Pointer of a fact (or of a member inside it). */
export function factPath(id: string, ...inside: string[]): string {
  return pointer("canon", "factBuckets", bucketOf(id), id, ...inside);
}

export type FactBuckets = UniverseState["canon"]["factBuckets"];

/** The fact with this id, if the state holds it (never a prototype member). */
export function readFact(state: UniverseState, id: string): CanonFact | undefined {
  return readBucketed(state.canon.factBuckets, id);
}

/** Every fact the state holds, bucket by bucket (callers that need an order sort). */
export function listFacts(state: Pick<UniverseState, "canon">): CanonFact[] {
  return listBucketed(state.canon.factBuckets);
}

/** How many facts the state holds, without listing them. */
export function countFacts(state: UniverseState): number {
  return countBucketed(state.canon.factBuckets);
}

/** Facts keyed by id, whatever bucket they sit in. */
export function factsById(state: UniverseState): Record<string, CanonFact> {
  return bucketedById(state.canon.factBuckets);
}
