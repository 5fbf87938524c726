import type { Turn } from "@loom/shared";
import type { Lease, LiveStore } from "../live/live-store.ts";

/**
 * Where a universe's acknowledged but unpersisted turns are kept: in the live store's stream, and
 * in the owner's memory until the database has them. These checks read the stream back rather
 * than trusting it, because a live store can lose its data (Redis restarted without persistence)
 * while the owner is still running.
 */

/** The positions of `pending` that the live stream does not hold (read back now). */
export async function missingFromLiveStore(
  liveStore: LiveStore,
  universeId: string,
  pending: readonly Turn[],
): Promise<number[]> {
  const first = pending[0];
  if (!first) return [];
  const tail = await liveStore.readTail(universeId, first.position - 1);
  const held = new Set(tail.map((turn) => turn.position));
  return pending.filter((turn) => !held.has(turn.position)).map((turn) => turn.position);
}

/**
 * Puts the pending turns back into the stream under `lease` (the stream is made again when it
 * is gone, continuing after `persistedThrough`). Returns how many turns it wrote again. Throws
 * TurnOrderError when the stream runs past a missing turn: then another owner wrote it, and the
 * gap cannot be filled.
 */
export async function restoreToLiveStore(
  liveStore: LiveStore,
  lease: Lease,
  persistedThrough: number,
  pending: readonly Turn[],
): Promise<number> {
  await liveStore.ensureStream(lease, persistedThrough);
  const missing = await missingFromLiveStore(liveStore, lease.universeId, pending);
  if (missing.length === 0) return 0;
  const wanted = new Set(missing);
  await liveStore.appendTurns(
    lease,
    pending.filter((turn) => wanted.has(turn.position)),
  );
  return missing.length;
}
