import { checksum, evolve, undoTargetOf, type Snapshot, type Turn, type UniverseState } from "@loom/shared";
import type { TurnStore } from "../../server/src/persist/index.ts";

export interface AppendPlayedOptions {
  /** The universe's head before these turns. */
  from: number;
  /** A snapshot at every position divisible by this, as the server takes them. */
  snapshotEvery: number;
  /** Turns appended at a time (all at once by default). */
  batch?: number;
  /** What the turn carries besides the simulation's own (narration, say). */
  dress?: (turn: Turn) => Turn;
}

/**
 * Appends simulated turns (shared `simulateCampaign`) to a universe after `options.from`, each
 * applied, with the snapshots the replayed state gives at their positions and the undo marks of
 * their undo turns, as the server would have written them. Returns the state at the last turn.
 */
export async function appendPlayed(
  turnStore: TurnStore,
  universeId: string,
  start: UniverseState,
  turns: readonly Turn[],
  options: AppendPlayedOptions,
): Promise<UniverseState> {
  const size = options.batch ?? Math.max(turns.length, 1);
  const dress = options.dress ?? ((turn: Turn) => turn);
  let state = start;
  let head = options.from;
  for (let i = 0; i < turns.length; i += size) {
    const batch = turns.slice(i, i + size).map((turn) => dress({ ...turn, universeId, status: "applied" }));
    const snapshots: Snapshot[] = [];
    for (const turn of batch) {
      state = evolve(state, turn.deltas);
      if (turn.position % options.snapshotEvery === 0)
        snapshots.push({
          universeId,
          position: turn.position,
          state,
          checksum: checksum(state),
          reason: "interval_turns",
          createdAt: turn.createdAt,
        });
    }
    const undone = batch.map(undoTargetOf).filter((target): target is number => target !== null);
    await turnStore.appendTurns(universeId, { expectedHead: head, turns: batch, snapshots, undone });
    head += batch.length;
  }
  return state;
}
