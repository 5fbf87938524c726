import type { Turn } from "@loom/shared";
import type { LiveStore } from "../live/live-store.ts";
import type { TurnStore, UniverseRecord } from "../persist/turn-store.ts";
import { marked, undoTarget } from "./live-reads.ts";

export interface UniverseAt {
  universe: UniverseRecord;
  /** Null at position 0 and past the head. */
  turn: Turn | null;
  /** The position of the newest acknowledged turn. */
  head: number;
}

/**
 * A universe's record, its turn at a position and its head, every acknowledged turn counted, with
 * the live stream and the TurnStore read at the same time rather than one after the other: one
 * wait instead of two, and one statement to the database.
 *
 * LiveReads reads the stream first so that whatever leaves it before the TurnStore is asked is
 * stored by then. Read at once, a turn persisted and trimmed between the two reads could be in
 * neither. The stream's last position says whether that happened: every turn acknowledged through
 * the stream is at or below it, and every turn at or below the record's head (read in the same
 * statement as the turn) was stored, undo marks included, when the turn was read. When the stream
 * as read holds every position between that head and its last one, nothing acknowledged before
 * the reads began is missing, and an undo not stored yet is in the stream. Otherwise `careful` is
 * set and the caller reads the turn and the head the careful way (a trim raced these reads: rare).
 * Null when there is no such universe.
 */
export async function universeAtOnce(
  turnStore: Pick<TurnStore, "universeAndTurn">,
  liveStore: Pick<LiveStore, "readStream">,
  universeId: string,
  position: number,
): Promise<UniverseAt | { universe: UniverseRecord; careful: true } | null> {
  const [stream, stored] = await Promise.all([
    liveStore.readStream(universeId),
    turnStore.universeAndTurn(universeId, position),
  ]);
  if (!stored) return null;
  const storedHead = stored.universe.headPosition;
  // positions are consecutive, so counting the stream's turns above the head finds any gap
  const unstored = stream.turns.filter((turn) => turn.position > storedHead);
  if (unstored.length !== Math.max(0, stream.last - storedHead))
    return { universe: stored.universe, careful: true };
  const undone = new Set<number>();
  for (const turn of stream.turns) {
    const target = undoTarget(turn);
    if (target !== null) undone.add(target);
  }
  const turn = unstored.find((live) => live.position === position) ?? stored.turn;
  return {
    universe: stored.universe,
    turn: turn ? marked([turn], undone)[0]! : null,
    head: Math.max(storedHead, stream.last),
  };
}
