import type { Turn } from "@loom/shared";
import { TurnOrderError, type Lease } from "./live-store.ts";

// Argument checks both adapters share, so a bad call fails the same way before anything is written.

export function checkTtl(ttlMs: number): number {
  if (!Number.isFinite(ttlMs) || ttlMs < 1)
    throw new RangeError(`lock TTL must be at least 1 ms, got ${ttlMs}`);
  return Math.ceil(ttlMs);
}

/** Turns must belong to the lease's universe and ascend strictly by position within the batch. */
export function checkBatch(lease: Lease, turns: readonly Turn[]): void {
  let previous = 0;
  for (const turn of turns) {
    if (turn.universeId !== lease.universeId) {
      throw new RangeError(`turn ${turn.position} belongs to ${turn.universeId}, not ${lease.universeId}`);
    }
    if (!Number.isSafeInteger(turn.position) || turn.position <= previous) {
      throw new TurnOrderError(lease.universeId, turn.position);
    }
    previous = turn.position;
  }
}

export function checkPosition(position: number): void {
  if (!Number.isSafeInteger(position) || position < 0) throw new RangeError(`not a position: ${position}`);
}
