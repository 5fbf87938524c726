import type { NarrationMessage } from "@loom/shared";
import type { Audience } from "../narrator/index.ts";

/**
 * How long a piece of prose that is not a telling's first may wait to leave in a write the room
 * makes anyway (the next turn's).
 */
export const NARRATION_LINGER_MS = 40;

/**
 * How long a telling's first piece may wait for such a write: at a busy table a turn comes within
 * a few milliseconds and the piece shares its write; at a quiet one the wait is too short to read.
 */
export const NARRATION_FIRST_LINGER_MS = 5;

/**
 * The narration a room sends, in the writes it makes for its turns rather than writes of its own.
 *
 * Every write to a member is a read (a wake-up, a pass through the stream and WebSocket layers)
 * for the member's process, whatever it carries, and at a busy table a player's ack waits behind
 * the reads of the frames before it. Every piece waits for the room's next turn, whose write to
 * each member it joins: a telling's first piece (the table sees the story start) for at most
 * NARRATION_FIRST_LINGER_MS, every other piece (the rest of a streamed telling, its `done`, the
 * template's whole prose when it tells a turn after the fact: a fallback, or a turn a previous
 * owner left untold; its prose of a new turn travels inside the turn) for at most
 * NARRATION_LINGER_MS; whichever comes first. The order of the
 * pieces is kept: they leave in the order they came, each audience's in one go.
 */
export class NarrationOutput {
  private readonly waiting: Record<Audience, NarrationMessage[]> = { table: [], gm: [] };
  private timer: ReturnType<typeof setTimeout> | null = null;
  /** When the timer fires (performance.now()). */
  private due = Infinity;

  constructor(
    /** Sends pieces to an audience, in order, as part of the room's current output batch. */
    private readonly deliver: (messages: readonly NarrationMessage[], audience: Audience) => void,
    private readonly lingerMs = NARRATION_LINGER_MS,
    /** 0: a telling's first piece leaves at once, with what waits before it. */
    private readonly firstLingerMs = NARRATION_FIRST_LINGER_MS,
  ) {}

  /** A piece of prose for `audience`; `first` for a telling's first piece. */
  push(message: NarrationMessage, audience: Audience, first: boolean): void {
    this.waiting[audience].push(message);
    const wait = first ? this.firstLingerMs : this.lingerMs;
    if (wait <= 0) {
      this.flush();
      return;
    }
    const due = performance.now() + wait;
    if (this.timer && due >= this.due) return;
    if (this.timer) clearTimeout(this.timer);
    this.due = due;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flush();
    }, wait);
  }

  /** Sends what waits: called by the room as it writes a turn to every member. */
  flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    this.due = Infinity;
    for (const audience of ["table", "gm"] as const) {
      const messages = this.waiting[audience];
      if (messages.length === 0) continue;
      this.waiting[audience] = [];
      this.deliver(messages, audience);
    }
  }

  /** Pieces waiting to leave. */
  get size(): number {
    return this.waiting.table.length + this.waiting.gm.length;
  }
}
