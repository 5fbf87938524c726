import { undoTargetOf } from "@loom/shared";
import { log } from "../log.ts";
import type { TurnStore } from "../persist/turn-store.ts";
import type { FileLiveStore } from "./file.ts";

/**
 * Writes to the database the acknowledged turns a previous process left only in the write-ahead
 * log (a kill -9 between two persist ticks), before the server answers anything. Until a universe
 * is opened, reads answered from the database (a recap, a run's record) would otherwise miss
 * them. A data folder has one process (data-dir-lock.ts), so no owner of these universes can be
 * writing them meanwhile: the write is the one the universe's persister would make on opening.
 */
/** A universe whose logged turns do not follow its database's head: left in the log. */
export interface LogGap {
  universeId: string;
  head: number;
  first: number;
  last: number;
}

export async function persistRecoveredTurns(
  liveStore: FileLiveStore,
  turnStore: Pick<TurnStore, "headPosition" | "appendTurns">,
): Promise<{ written: number; gaps: LogGap[] }> {
  let written = 0;
  const gaps: LogGap[] = [];
  for (const universeId of liveStore.universesWithTurns()) {
    const head = await turnStore.headPosition(universeId);
    const tail = (await liveStore.readTail(universeId, head)).filter((turn) => turn.position > head);
    if (tail.length === 0) continue;
    // a gap is left to the universe's open, which refuses it with its own error
    if (tail.some((turn, i) => turn.position !== head + 1 + i)) {
      gaps.push({ universeId, head, first: tail[0]!.position, last: tail.at(-1)!.position });
      continue;
    }
    const undone = tail.flatMap((turn) => {
      const target = undoTargetOf(turn);
      return target === null ? [] : [target];
    });
    try {
      await turnStore.appendTurns(universeId, { expectedHead: head, turns: tail, undone });
    } catch (error) {
      // the turns stay in the log; the universe's persister tries them again when it is opened
      log.warn(`universe ${universeId}: recovered turns not written at start`, { err: error, universeId });
      continue;
    }
    await liveStore.trim(universeId, tail.at(-1)!.position);
    written += tail.length;
  }
  return { written, gaps };
}
