import { checksum, evolve, type Turn } from "@loom/shared";
import type { LiveStore } from "../live/live-store.ts";
import type { StateAt, TimelinePage, TimelineQuery, TurnStore } from "../persist/turn-store.ts";

type Reader = Pick<
  TurnStore,
  | "headPosition"
  | "getTurn"
  | "turnsBetween"
  | "timeline"
  | "matchingTurns"
  | "stateAt"
  | "stateWithoutChecksum"
>;

/**
 * The acknowledged turns of a universe that the TurnStore may not hold yet: read from the live
 * store before the TurnStore's head, so that whatever was trimmed from the stream in between was
 * persisted first and is in the TurnStore by the time it is asked.
 */
export interface LiveTail {
  /** The TurnStore's head, read after the stream. */
  persisted: number;
  /** The stream's turns after `persisted`, ascending, each as the undo turns among them left it. */
  turns: Turn[];
  /** Positions the tail's undo turns undid, stored ones among them: the store does not know yet. */
  undone: ReadonlySet<number>;
}

/** The undo turn's target (an undo cannot itself be undone, so the mark is final). */
export function undoTarget(turn: Turn): number | null {
  const target = turn.input.targetPosition;
  return turn.kind === "undo" && typeof target === "number" ? target : null;
}

/**
 * HTTP reads of a timeline that include every acknowledged turn. A turn is acknowledged once it is
 * in the live store's stream (authority.ts), and leaves the stream only after the TurnStore has it
 * (persister.ts), so the two read in that order miss none: a client that saw an ack sees the turn
 * on its next read, whichever process it asks. Redis is shared by every process; the file and
 * memory live stores belong to the only process of an embedded server.
 *
 * The turns come back unredacted, like the TurnStore's: callers pass them through `viewTurn`.
 */
export class LiveReads {
  /** The tails read, when `oneRequest`. */
  private readonly tails = new Map<string, Promise<LiveTail | null>>();

  /**
   * `oneRequest`: the reads serve one request, which may read the tail once and reuse it (a view
   * of the timeline as of the first read; what leaves the stream later is in the TurnStore by
   * then, so later reads of the store still miss nothing).
   */
  constructor(
    private readonly turnStore: Reader,
    private readonly liveStore: Pick<LiveStore, "readTail" | "streamHead">,
    private readonly oneRequest = false,
  ) {}

  /** Null when the stream holds nothing: every acknowledged turn is in the TurnStore. */
  tail(universeId: string): Promise<LiveTail | null> {
    if (!this.oneRequest) return this.readTail(universeId);
    let tail = this.tails.get(universeId);
    if (!tail) {
      tail = this.readTail(universeId);
      this.tails.set(universeId, tail);
    }
    return tail;
  }

  private async readTail(universeId: string): Promise<LiveTail | null> {
    const stream = await this.liveStore.readTail(universeId, 0);
    if (stream.length === 0) return null;
    const persisted = await this.turnStore.headPosition(universeId);
    const turns = stream.filter((turn) => turn.position > persisted);
    const undone = new Set<number>();
    for (const turn of turns) {
      const target = undoTarget(turn);
      if (target !== null) undone.add(target);
    }
    return { persisted, turns: marked(turns, undone), undone };
  }

  /**
   * The position of the newest acknowledged turn. A request's reads take it from the tail they
   * share; a reader of the head alone, from the stream's newest entry, not its every turn (a stream
   * may hold thousands while the database lags).
   */
  async head(universeId: string): Promise<number> {
    if (!this.oneRequest) {
      const live = await this.liveStore.streamHead(universeId);
      // an empty stream may have been trimmed since: the store has those turns
      return live > 0 ? live : this.turnStore.headPosition(universeId);
    }
    const tail = await this.tail(universeId);
    return tail ? headOf(tail) : this.turnStore.headPosition(universeId);
  }

  /**
   * `head` without a read of the TurnStore's head when the stream holds nothing, given that head
   * as read (the universe's record) after this request's tail was read: a turn that left the
   * stream before that is stored by then.
   */
  async headGiven(universeId: string, storedHead: number): Promise<number> {
    if (!this.oneRequest) return Math.max(storedHead, await this.liveStore.streamHead(universeId));
    const tail = await this.tail(universeId);
    return tail ? Math.max(storedHead, headOf(tail)) : storedHead;
  }

  async getTurn(universeId: string, position: number): Promise<Turn | null> {
    const tail = await this.tail(universeId);
    const live = tail?.turns.find((turn) => turn.position === position);
    if (live) return live;
    const stored = await this.turnStore.getTurn(universeId, position);
    return stored && tail ? (marked([stored], tail.undone)[0] ?? null) : stored;
  }

  /** Turns in (from, to], ascending. */
  async turnsBetween(universeId: string, from: number, to: number): Promise<Turn[]> {
    const tail = await this.tail(universeId);
    if (!tail) return this.turnStore.turnsBetween(universeId, from, to);
    const stored =
      from < tail.persisted
        ? await this.turnStore.turnsBetween(universeId, from, Math.min(to, tail.persisted))
        : [];
    const live = tail.turns.filter((turn) => turn.position > from && turn.position <= to);
    return [...marked(stored, tail.undone), ...live];
  }

  /**
   * One page of history, as `TurnStore.timeline` pages it, over the stored turns and the tail.
   * The tail's turns are the newest: a descending page starts with them, an ascending one ends
   * with them once the stored turns are exhausted.
   */
  async timeline(universeId: string, query: TimelineQuery): Promise<TimelinePage> {
    const tail = await this.tail(universeId);
    if (!tail || tail.turns.length === 0) {
      const page = await this.turnStore.timeline(universeId, query);
      return tail ? { ...page, turns: marked(page.turns, tail.undone) } : page;
    }
    const limit = query.limit ?? 50;
    const descending = query.order === "desc";
    const cursor = query.cursor;
    const inRange = tail.turns.filter((turn) =>
      cursor === undefined ? true : descending ? turn.position < cursor : turn.position > cursor,
    );
    const positions = new Set(await this.turnStore.matchingTurns(inRange, query));
    const live = inRange.filter((turn) => positions.has(turn.position));
    if (descending) {
      live.reverse();
      // the stored part starts below the tail, so no turn is in both
      const below = Math.min(cursor ?? Infinity, tail.persisted + 1);
      const stored =
        live.length > limit
          ? { turns: [], nextCursor: null }
          : await this.turnStore.timeline(universeId, {
              ...query,
              cursor: below,
              limit: Math.max(1, limit - live.length),
            });
      return page([...live, ...marked(stored.turns, tail.undone)], limit, stored.nextCursor !== null);
    }
    const stored = await this.turnStore.timeline(universeId, { ...query, limit });
    const turns = marked(stored.turns, tail.undone);
    if (stored.nextCursor !== null) return { turns, nextCursor: stored.nextCursor };
    // a tail turn persisted since the tail was read is on the stored page already
    const seen = new Set(turns.map((turn) => turn.position));
    return page([...turns, ...live.filter((turn) => !seen.has(turn.position))], limit, false);
  }

  /** The state after the turn at `position`, which may be past the TurnStore's head. */
  async stateAt(universeId: string, position: number): Promise<StateAt> {
    const at = await this.readState(universeId, position, true);
    return at.checksum === undefined ? { ...at, checksum: checksum(at.state) } : (at as StateAt);
  }

  /** `stateAt` without the replayed state's checksum (TurnStore.stateWithoutChecksum). */
  async stateWithoutChecksum(universeId: string, position: number): Promise<Omit<StateAt, "checksum">> {
    const { checksum: _, ...at } = await this.readState(universeId, position, false);
    return at;
  }

  private async readState(
    universeId: string,
    position: number,
    checksummed: boolean,
  ): Promise<Omit<StateAt, "checksum"> & { checksum?: string }> {
    const stored = (at: number) =>
      checksummed
        ? this.turnStore.stateAt(universeId, at)
        : this.turnStore.stateWithoutChecksum(universeId, at);
    const tail = await this.tail(universeId);
    if (!tail || position <= tail.persisted) return stored(position);
    const replay = tail.turns.filter((turn) => turn.position <= position);
    const last = replay[replay.length - 1];
    if (!last || last.position !== position) return stored(position); // persisted meanwhile, or past the head
    const base = await stored(tail.persisted);
    let state = base.state;
    for (const turn of replay) state = evolve(state, turn.deltas);
    return { position, state, fromSnapshot: base.fromSnapshot, replayed: base.replayed + replay.length };
  }
}

/** The newest acknowledged position, given a tail. */
export function headOf(tail: LiveTail): number {
  return tail.turns[tail.turns.length - 1]?.position ?? tail.persisted;
}

/** The turns with those in `undone` marked so, copied where they change. */
export function marked(turns: Turn[], undone: ReadonlySet<number>): Turn[] {
  if (undone.size === 0) return turns;
  return turns.map((turn) =>
    undone.has(turn.position) && turn.status !== "undone" ? { ...turn, status: "undone" as const } : turn,
  );
}

function page(turns: Turn[], limit: number, more: boolean): TimelinePage {
  const shown = turns.slice(0, limit);
  const hasMore = more || turns.length > limit;
  return { turns: shown, nextCursor: hasMore ? shown[shown.length - 1]!.position : null };
}
