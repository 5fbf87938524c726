import type { Room } from "@colyseus/sdk";
import { LoomError } from "./http.ts";
import {
  ClientMessage,
  CloseCode,
  LIMITS,
  decodeTurnMessage,
  isWithheldTurn,
  ServerMessage,
  type AckMessage,
  type CommandInput,
  type Delta,
  type Recap,
  type RecentMessage,
  type DurableMessage,
  type NarrationMessage,
  type Rejection,
  type RejectionCode,
  type RejectedMessage,
  type RoomState,
  type Telling as RecordedTelling,
  type Turn,
} from "@loom/shared";

export type ActResult = { ok: true; turn: Turn; duplicate: boolean } | { ok: false; rejection: Rejection };

export interface SessionEvents {
  turn: (turn: Turn) => void;
  /** The newest turns as of joining (history: no `turn` event is emitted for them). */
  recent: (turns: Turn[]) => void;
  rejected: (rejection: RejectedMessage) => void;
  durable: (marks: DurableMessage) => void;
  state: (state: unknown) => void;
  recap: (recap: Recap) => void;
  /** A piece of a turn's prose; the `done` one ends it, with the recorded text when the pieces differ (see NarrationMessage). */
  narration: (message: NarrationMessage) => void;
  /** To a game master: the universe's members or invites changed; read them again (listMembers, listInvites). */
  members: () => void;
  /**
   * The connection was lost (close `code`); the session is rejoining, through any server of the
   * deployment. Commands sent meanwhile wait (and `act` waits for their answer).
   */
  reconnecting: (info: { code: number }) => void;
  /** Seated again; commands whose answer was lost were sent again with their `seq`. */
  reconnected: () => void;
  /** The session is over: left, refused for good, or rejoining gave up. */
  leave: (code: number) => void;
}

/** How a session gets a seat again after its connection is lost (LoomClient.joinUniverse). */
export interface Failover {
  /**
   * A new seat. Each room joined is handed to `seat`, which resolves once the room's first state
   * has arrived and rejects when the room closes before it (a failed attempt: the next one follows,
   * after its wait); resolves once a room is seated, and gives up (rejects) when no attempt will
   * succeed, or when `signal` aborts (the session was left meanwhile).
   */
  rejoin: (signal: AbortSignal, seat: (room: Room) => Promise<void>) => Promise<void>;
  /** Most commands held while reconnecting; more are refused `unavailable` at once. Default 100. */
  maxHeld?: number;
  /**
   * The turns after `after` and before `before`, oldest first, as this member may see them: what
   * was missed before the server's `recent` turns begin. Some may be left out (the newest kept).
   */
  missed?: (after: number, before: number) => Promise<Turn[]>;
  /** A turn's narration as recorded (null while it is not): for prose whose pieces were lost. */
  recorded?: (position: number) => Promise<string | null>;
}

/** A turn's prose as this session received it: its latest telling. */
interface Telling {
  chunks: string[];
  /** The characters of the chunks. */
  length: number;
  /** Some pieces were not received (the connection was lost meanwhile): the chunks are not the record. */
  gap: boolean;
  /** The record, once told (null until then). */
  text: string | null;
  /** Whether `text` came from the turn's record rather than from this telling's `done` message. */
  fromRecord: boolean;
  /** Increased when a new telling of the position begins (a retelling, or the next process's). */
  generation: number;
  /** Forgotten by this session (too old to keep): nothing more arrives for those waiting on it. */
  dropped: boolean;
  wake: Array<() => void>;
}

/**
 * Whether a message is part of the telling this session already holds whole from its recorded turn:
 * the room's `recent` can overtake the last pieces of a telling, which then arrive late. Such a
 * message says nothing new; one that disagrees with the record starts a telling.
 */
function agreesWithRecord(told: Telling, message: NarrationMessage): boolean {
  if (told.text === null || !told.fromRecord || message.at === undefined) return false;
  if (message.chunk && told.text.slice(message.at, message.at + message.chunk.length) !== message.chunk)
    return false;
  return !message.done || message.text === undefined || message.text === told.text;
}

/** How many times, how often, a telling with lost pieces asks for its record over HTTP. */
const RECORD_READS = 20;
const RECORD_READ_EVERY_MS = 500;

/**
 * How many turns received while commands are in flight are kept for their acks: the turns of one
 * live-store append are broadcast together, before their acks.
 */
const ARRIVALS_KEPT = 256;

/** How long turns broadcast after a reconnection wait for the server's `recent` message. */
const RECENT_WAIT_MS = 5_000;

/** Close codes after which the session does not rejoin: the server or the player meant it. */
const FINAL_CLOSES = new Set([
  1000, // closed normally
  4000, // left on purpose (consented)
  4002, // a protocol error: rejoining would repeat it
  CloseCode.RunClosed,
  CloseCode.MemberRemoved,
  // rejoining with the token the session holds would be refused: it is among those revoked
  CloseCode.SessionRevoked,
  // a game master's seat would be refused again: the player is no longer one
  CloseCode.NoLongerGameMaster,
]);

/**
 * What a message takes on the wire, where it could pass LIMITS.frameBytesMax (0 where it cannot).
 * The server closes the connection on a larger frame, and a session sends what it waits on again
 * once seated: sent, it would close every seat it got back. msgpack takes at most three bytes for
 * a character of the message's JSON (a float's nine for its three, a character's UTF-8), so only a
 * long message is encoded to be measured, with the room's own encoder.
 */
function frameBytes(room: Room, type: string, message: Record<string, unknown>): number {
  const json = JSON.stringify(message);
  if ((json.length + type.length) * 3 + 16 <= LIMITS.frameBytesMax) return 0;
  const packr = (room as unknown as { packr?: { pack(value: unknown): Uint8Array } }).packr;
  const encoded = packr ? packr.pack(message).length : new TextEncoder().encode(json).length;
  return encoded + type.length + 8;
}

/** The close that ends a seat for the reason a join was refused, if the refusal is one of those. */
function closeOfRefusal(error: unknown): number | undefined {
  if (!(error instanceof LoomError)) return undefined;
  for (const [close, refusal] of CLOSED_BEFORE_STATE) if (refusal === error.code) return close;
  return undefined;
}

/**
 * Why a room closed before its first state, as the code a refused join carries: the closes that
 * end a session (FINAL_CLOSES) say who refused the seat; any other is the room or its process
 * going away, `unavailable`.
 */
const CLOSED_BEFORE_STATE: ReadonlyMap<number, RejectionCode> = new Map<number, RejectionCode>([
  [CloseCode.RunClosed, "run_not_active"],
  [CloseCode.MemberRemoved, "member_removed"],
  [CloseCode.SessionRevoked, "unauthorized"],
  [CloseCode.NoLongerGameMaster, "not_allowed"],
]);

/** The coded error of a room that closed (`code`) before its first state arrived: no seat. */
function closedBeforeState(code: number): LoomError {
  return new LoomError(
    CLOSED_BEFORE_STATE.get(code) ?? "unavailable",
    `the room closed (${code}) before its state arrived`,
  );
}

interface Pending {
  type: string;
  message: Record<string, unknown>;
  /** Sent on some connection: its outcome is unknown if that connection is lost unanswered. */
  sent: boolean;
  /**
   * Held while the session had no seat, then sent with the others held: a burst the player did
   * not make, so a `rate_limited` answer sends it again a little later instead of refusing it.
   */
  held?: boolean;
  settle: (result: ActResult) => void;
}

/** How long a held command refused `rate_limited` waits before it is sent again. */
const HELD_RATE_RETRY_MS = 250;

/** The synced room state as decoded on the client: see shared/src/room-state.ts. */
export type { RoomState };

type Listener<K extends keyof SessionEvents> = SessionEvents[K];

/**
 * Sequence numbers start from the clock so a new session of the same player never reuses a
 * number an earlier session used (the server answers a reused number with the earlier turn).
 */
/**
 * The answer to a command that got none: `outcome_unknown` if it was sent (it may have been
 * applied: send it again with the same seq to learn which), `unavailable` if it never left.
 */
function unanswered(pending: Pending, message: string): ActResult {
  return {
    ok: false,
    rejection: pending.sent
      ? { rejected: true, code: "outcome_unknown", message }
      : { rejected: true, code: "unavailable", message: `${message}; it was never sent` },
  };
}

function initialSeq(): number {
  return Date.now() * 1000;
}

export function checkKeepTurns(keepTurns: number): number {
  if (!Number.isInteger(keepTurns) || keepTurns < 0)
    throw new RangeError(`keepTurns must be a whole number ≥ 0, not ${keepTurns}`);
  return keepTurns;
}

/** A joined universe: send commands, receive the timeline as it grows. */
export class UniverseSession {
  private seq = initialSeq();
  private readonly pending = new Map<number, Pending>();
  private current: Room;
  /** False from a lost connection until a seat is back. */
  private connected = true;
  private leaving = false;
  private ended = false;
  /** The close code the session ended with (see `end`). */
  private endedWith = 0;
  /** Aborts the rejoining in progress, if any (leave()). */
  private rejoining: AbortController | null = null;
  private readonly maxHeld: number;
  private readonly listeners: { [K in keyof SessionEvents]: Set<Listener<K>> } = {
    turn: new Set(),
    recent: new Set(),
    rejected: new Set(),
    durable: new Set(),
    state: new Set(),
    recap: new Set(),
    narration: new Set(),
    members: new Set(),
    reconnecting: new Set(),
    reconnected: new Set(),
    leave: new Set(),
  };
  /**
   * The timeline as this session knows it, in position order: the newest turns as of joining
   * (the `recent` message), then every turn broadcast since, up to `keepTurns` of the newest.
   * An undo turn marks its target `undone` here. Older history: `LoomClient.history`.
   */
  readonly turns: Turn[] = [];
  durableThrough = 0;
  persistedThrough = 0;
  /** Turns received while commands were in flight, by position, for their acks (see onAck). */
  private readonly arrivals = new Map<number, Turn>();
  /** Acks whose turn has not been received yet: position → seq. */
  private readonly ackedAhead = new Map<number, number>();
  /** Prose received per turn position, newest turns only (see narrationOf). */
  private readonly told = new Map<number, Telling>();
  /** The "Last time on…" recap this session started with (players only). */
  lastRecap: Recap | null = null;
  private unheardRecap: Recap | null = null;
  /**
   * Resolves once the first full state has arrived (joinUniverse waits for it); rejects with
   * `closedBeforeState` when the room closes first, and the session ends then, without rejoining.
   */
  readonly ready: Promise<void>;
  /**
   * Resolves once the room has said whether this seat has a recap (a player's join: the server
   * sends it, or null, after the state); joinUniverse waits for it, so `lastRecap` is set by then.
   */
  readonly recapHeard: Promise<void>;
  private heardRecap: () => void = () => undefined;

  private readonly keepTurns: number;

  constructor(
    room: Room,
    keepTurns = 1_000,
    private readonly failover: Failover | null = null,
  ) {
    this.keepTurns = checkKeepTurns(keepTurns);
    this.maxHeld = failover?.maxHeld ?? 100;
    this.current = room;
    this.recapHeard = new Promise((resolve) => (this.heardRecap = resolve));
    this.ready = this.attach(room, true);
    // a caller that never waits for the state (a room that sends none) must not meet an
    // unhandled rejection when the room closes
    this.ready.catch(() => undefined);
  }

  /** The room this session is seated in (a new one after a failover). */
  get room(): Room {
    return this.current;
  }

  /**
   * Listens to a room; resolves once its first full state has arrived, rejects (closedBeforeState)
   * if the room closes before. Until then the room is no seat: its close starts no failover (the
   * join fails, or the rejoin in progress tries again), and getting the same seat back is not
   * being seated (the state that follows is).
   */
  private attach(room: Room, first: boolean): Promise<void> {
    let stated = false;
    let settle!: { resolve: () => void; reject: (error: LoomError) => void };
    const ready = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
    // a rejoined room's turns: those after what the session knew, each told once (positions
    // only grow, so the newest told is all there is to remember)
    let toldThrough = this.lastPosition;
    let caughtUp = first;
    // whether the next `recent` message tells what was missed: after a rejoin, and after the
    // same seat came back (the server sends one then: broadcasts while the seat was empty are lost)
    let missed = !first;
    const held: Turn[] = [];
    // a lost connection to a live process comes back on the same seat within a second or so;
    // after that the session rejoins through the matchmaker (the process may be gone)
    Object.assign(room.reconnection, {
      maxRetries: 3,
      minDelay: 100,
      maxDelay: 400,
      delay: 100,
      minUptime: 0,
    });
    room.onMessage(ServerMessage.Ack, (ack: AckMessage) => this.onAck(ack));
    room.onMessage(ServerMessage.Rejected, (message: RejectedMessage) => {
      const rejection = { rejected: true, code: message.code, message: message.message } as Rejection;
      if (message.seq !== null && message.code === "rate_limited" && this.sendHeldLater(message.seq)) return;
      if (message.seq !== null) this.settle(message.seq, { ok: false, rejection });
      this.emit("rejected", message);
    });
    room.onMessage(ServerMessage.Turn, (bytes: Uint8Array) => {
      // a room is named after its universe (the server creates it with the universe id)
      const turn = decodeTurnMessage(bytes, room.roomId);
      if (this.pending.size > 0) this.arrived(turn);
      // after a rejoin or a reconnection: held until the `recent` message (it tells what was
      // missed, in order), and a turn told before or by that message is not told again
      if (!caughtUp) {
        held.push(turn);
        return;
      }
      if (turn.position <= toldThrough) return;
      toldThrough = turn.position;
      this.announce(turn);
    });
    let waiting: ReturnType<typeof setTimeout> | undefined;
    /** The newest turns as the server sent them: kept, and announced as `recent`. */
    const keepRecent = (recent: Turn[]) => {
      // A turn broadcast while this member was being admitted may have arrived first.
      const known = new Set(this.turns.map((turn) => turn.position));
      const earlier = recent.filter((turn) => !known.has(turn.position));
      for (const turn of earlier) this.seedTelling(turn);
      // a known turn's telling may have ended while this session had no seat: its record ends it
      for (const turn of recent) if (known.has(turn.position)) this.endTelling(turn);
      this.turns.unshift(...earlier);
      this.turns.sort((a, b) => a.position - b.position);
      this.trim();
      this.emit("recent", recent);
    };
    /**
     * Turns missed while this session had no seat, with what was held meanwhile, as news. `recent`:
     * the server's message, null when none came.
     */
    const tell = (missedTurns: Turn[], recent: Turn[] | null) => {
      const news = [...missedTurns, ...(recent ?? []), ...held.splice(0)].sort(
        (a, b) => a.position - b.position,
      );
      caughtUp = true;
      for (const turn of news) {
        if (turn.position <= toldThrough) continue;
        toldThrough = turn.position;
        this.announce(turn);
      }
      if (recent) keepRecent(recent);
    };
    const tellMissed = (recent: Turn[]) => {
      clearTimeout(waiting);
      missed = false;
      const oldest = recent.reduce((min, turn) => Math.min(min, turn.position), Infinity);
      // more was missed than the server sends again: the rest is read over HTTP, while
      // broadcasts go on being held
      if (toldThrough > 0 && oldest !== Infinity && oldest > toldThrough + 1 && this.failover?.missed) {
        this.failover.missed(toldThrough, oldest).then(
          (older) => tell(older, recent),
          () => tell([], recent),
        );
        return;
      }
      tell([], recent);
    };
    room.onMessage(ServerMessage.Recent, (recent: RecentMessage) => {
      if (this.pending.size > 0) for (const turn of recent.turns) this.arrived(turn);
      // after a rejoin or a reconnection, the turns decided while this session had no seat are
      // news: told as turns
      if (missed) {
        tellMissed(recent.turns);
        return;
      }
      // history, not news; what a later reconnection's `recent` repeats of it is not told
      for (const turn of recent.turns) {
        this.lastPosition = Math.max(this.lastPosition, turn.position);
        toldThrough = Math.max(toldThrough, turn.position);
      }
      keepRecent(recent.turns);
    });
    room.onMessage(ServerMessage.Durable, (marks: DurableMessage) => this.onMarks(marks));
    room.onMessage(ServerMessage.Recap, (recap: Recap | null) => {
      this.heardRecap();
      if (recap === null) return;
      this.lastRecap = recap;
      // a rejoin is not a return to the table: its recap is kept, not told again
      if (!first) return;
      // it may arrive before anyone listens (joinUniverse resolves first): kept for the first listener
      if (this.listeners.recap.size === 0) this.unheardRecap = recap;
      else this.emit("recap", recap);
    });
    room.onMessage(ServerMessage.Narration, (message: NarrationMessage) => this.onNarration(message));
    room.onMessage(ServerMessage.Members, () => this.emit("members"));
    // one listener for the first state too: the SDK's `once` drops the listener after it from
    // the same state change
    room.onStateChange((state: unknown) => {
      if (!stated) {
        stated = true;
        settle.resolve();
      }
      // the marks in the synced state reach every member; the `durable` message only those waiting
      const { durableThrough, persistedThrough } = state as Partial<RoomState>;
      if (typeof durableThrough === "number" && typeof persistedThrough === "number")
        this.onMarks({ durableThrough, persistedThrough });
      this.emit("state", state);
    });
    room.onDrop((code: number) => {
      // each failed attempt to get the same seat back drops again: one event for the outage
      if (!stated || room !== this.current || !this.connected) return;
      this.connected = false;
      this.emit("reconnecting", { code });
    });
    room.onReconnect(() => {
      if (!stated || room !== this.current) return;
      if (this.leaving) {
        void room.leave(true).catch(() => undefined);
        return;
      }
      // broadcasts are held until the server's `recent`, which tells what was missed; a server
      // that sends none (an older one) has what was held told after a while
      missed = true;
      caughtUp = false;
      clearTimeout(waiting);
      waiting = setTimeout(() => {
        if (room !== this.current || !missed) return;
        missed = false;
        tell([], null);
      }, RECENT_WAIT_MS);
      this.seated();
    });
    room.onLeave((code: number) => {
      if (stated) {
        void this.onLeft(room, code);
        return;
      }
      settle.reject(closedBeforeState(code));
      // a join that never had a seat ends here; a rejoin's attempt is the failover's to judge
      if (first) this.end(code);
    });
    return ready;
  }

  /** A room closed: the end of the session, or the start of a failover. */
  private async onLeft(room: Room, code: number): Promise<void> {
    if (room !== this.current) return;
    if (this.leaving || !this.failover || FINAL_CLOSES.has(code)) {
      this.end(code);
      return;
    }
    if (this.connected) {
      this.connected = false;
      this.emit("reconnecting", { code });
      // a listener left: leave() ended the session, and there is nothing to rejoin
      if (this.leaving) return;
    }
    const rejoining = new AbortController();
    this.rejoining = rejoining;
    try {
      await this.failover.rejoin(rejoining.signal, (next) => this.seat(next, rejoining.signal));
    } catch (error) {
      // the seat could not be had back (a lost connection's reconnection closes 4003 whatever the
      // reason): a refusal of the rejoin says why, as the close a seated member would have had
      this.end(closeOfRefusal(error) ?? code);
      return;
    } finally {
      if (this.rejoining === rejoining) this.rejoining = null;
    }
    // left as the seat's state arrived (leave() ended the session already)
    if (this.leaving) {
      void this.current.leave(true).catch(() => undefined);
      this.end(4000);
      return;
    }
    this.seated();
  }

  /**
   * One attempt of a failover: `next` becomes the session's room once its first state arrives.
   * Rejects when it closes before, and when the session is left meanwhile (`signal`), leaving it.
   */
  private async seat(next: Room, signal: AbortSignal): Promise<void> {
    const left = () => new LoomError("unavailable", "left while rejoining");
    if (signal.aborted) {
      void next.leave(true).catch(() => undefined);
      throw left();
    }
    this.current = next;
    let onAbort: () => void = () => undefined;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(left());
      signal.addEventListener("abort", onAbort, { once: true });
    });
    try {
      await Promise.race([this.attach(next, false), aborted]);
    } catch (error) {
      // a room already closed never answers a leave: not waited for
      if (signal.aborted) void next.leave(true).catch(() => undefined);
      throw error;
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
  }

  /** Seated again: what was waiting is sent (again, with its seq: applied at most once). */
  private seated(): void {
    this.connected = true;
    for (const [seq, pending] of [...this.pending].sort(([a], [b]) => a - b)) {
      pending.sent = true;
      pending.held = true;
      this.current.send(pending.type, { seq, ...pending.message });
    }
    this.emit("reconnected");
  }

  /**
   * A held command the server refused for the burst of held commands sent at once: sent again
   * later, once its seat has the room to take it (the command's own timeout still settles it).
   */
  private sendHeldLater(seq: number): boolean {
    const pending = this.pending.get(seq);
    if (!pending?.held) return false;
    setTimeout(() => {
      if (this.pending.get(seq) === pending && this.connected && !this.ended)
        this.current.send(pending.type, { seq, ...pending.message });
    }, HELD_RATE_RETRY_MS);
    return true;
  }

  private end(code: number): void {
    if (this.ended) return;
    this.ended = true;
    this.endedWith = code;
    for (const pending of this.pending.values())
      pending.settle(unanswered(pending, `left the room (${code})`));
    this.pending.clear();
    this.arrivals.clear();
    this.ackedAhead.clear();
    this.connected = false;
    // whoever waits for a telling hears that none will come now
    for (const told of this.told.values()) this.wakeTelling(told);
    this.emit("leave", code);
  }

  private settle(seq: number, result: ActResult): void {
    const pending = this.pending.get(seq);
    if (!pending) return;
    this.pending.delete(seq);
    if (this.pending.size === 0) {
      this.arrivals.clear();
      this.ackedAhead.clear();
    }
    pending.settle(result);
  }

  /**
   * An ack names its turn by position: the turn came in the `turn` message just before it (kept
   * in `arrivals`), or it is still held while this session catches up after a reconnection (the
   * ack waits for it). A duplicate's ack, and any ack from an older server, carries the turn.
   */
  private onAck(ack: AckMessage): void {
    const turn = ack.turn ?? this.arrivals.get(ack.position);
    if (turn) {
      this.arrivals.delete(ack.position);
      this.settle(ack.seq, { ok: true, turn, duplicate: ack.duplicate });
    } else if (this.pending.has(ack.seq)) this.ackedAhead.set(ack.position, ack.seq);
  }

  /** A turn received while commands are in flight: one of them may be acknowledged as it. */
  private arrived(turn: Turn): void {
    const seq = this.ackedAhead.get(turn.position);
    if (seq !== undefined) {
      this.ackedAhead.delete(turn.position);
      this.settle(seq, { ok: true, turn, duplicate: false });
      return;
    }
    this.arrivals.set(turn.position, turn);
    if (this.arrivals.size > ARRIVALS_KEPT) this.arrivals.delete(this.arrivals.keys().next().value!);
  }

  private onNarration(message: NarrationMessage): void {
    const told = this.telling(message.position);
    if (!agreesWithRecord(told, message)) {
      if (told.text !== null || (message.at === 0 && told.length > 0)) {
        // a new telling of the position: a GM's retelling, or the next process's after a crash
        Object.assign(told, {
          chunks: [],
          length: 0,
          gap: false,
          text: null,
          fromRecord: false,
          generation: told.generation + 1,
        });
      }
      if (message.at !== undefined && message.at !== told.length) told.gap = true;
      if (message.chunk) {
        told.chunks.push(message.chunk);
        told.length += message.chunk.length;
      }
      if (message.done) {
        if (message.text !== undefined || !told.gap) told.text = message.text ?? told.chunks.join("");
        else this.readRecorded(message.position, told, told.generation);
      }
      this.wakeTelling(told);
    }
    this.emit("narration", message);
  }

  private telling(position: number): Telling {
    let told = this.told.get(position);
    if (!told) {
      told = {
        chunks: [],
        length: 0,
        gap: false,
        text: null,
        fromRecord: false,
        generation: 0,
        dropped: false,
        wake: [],
      };
      this.told.set(position, told);
      // prose of the newest turns only: older narration is read with the turns over HTTP
      if (this.told.size > Math.max(200, this.keepTurns)) {
        const [oldest, forgotten] = this.told.entries().next().value!;
        this.told.delete(oldest);
        forgotten.dropped = true;
        this.wakeTelling(forgotten);
      }
    }
    return told;
  }

  /**
   * A turn that arrives with its narration recorded (told as the turn was made, as the template
   * tells; told while this session had no seat; or before it joined): its latest telling is known
   * without a message. Returns that telling when it is new to this session.
   *
   * A telling heard only in part, its end lost with a connection, is ended by the record too: when
   * the pieces heard begin it, or when the model failed and the template's prose stands for it. A
   * record that neither begins with them nor says so is an earlier telling of the turn, and the one
   * in progress goes on streaming.
   */
  private seedTelling(turn: Turn): RecordedTelling | null {
    if (!turn.narration) {
      // a hidden roll reaches everyone but game masters withheld: none of its prose comes here
      if (isWithheldTurn(turn)) {
        const told = this.telling(turn.position);
        if (told.text === null) {
          told.text = "";
          this.wakeTelling(told);
        }
      }
      return null;
    }
    const told = this.telling(turn.position);
    if (told.text !== null) return null;
    const latest = turn.narration.retellings?.at(-1) ?? turn.narration;
    if (told.length > 0 && !latest.fallback && !latest.text.startsWith(told.chunks.join(""))) return null;
    told.text = latest.text;
    told.fromRecord = true;
    this.wakeTelling(told);
    return latest;
  }

  /**
   * A new turn for the listeners. One that carries prose this session had not heard is followed
   * by the `narration` message that telling would have ended with, so `on("narration")` hears
   * every telling, whether it streamed or came inside its turn.
   */
  private announce(turn: Turn): void {
    const latest = this.addTurn(turn);
    this.emit("turn", turn);
    if (latest) this.emitDone(turn.position, latest);
  }

  /** A telling's end, as a `narration` message would have told it, for one this session heard in part. */
  private endTelling(turn: Turn): void {
    const heardInPart = (this.told.get(turn.position)?.length ?? 0) > 0;
    const latest = this.seedTelling(turn);
    if (latest && heardInPart) this.emitDone(turn.position, latest);
  }

  private emitDone(position: number, latest: RecordedTelling): void {
    this.emit("narration", {
      position,
      at: 0,
      chunk: "",
      done: true,
      text: latest.text,
      narrator: latest.narrator,
      fallback: latest.fallback ?? null,
    });
  }

  private wakeTelling(told: Telling): void {
    for (const wake of told.wake.splice(0)) wake();
  }

  /**
   * The record of a telling whose pieces were not all received, read over HTTP: it is stored once
   * its turn is, so it is asked for a few times. Given up after that, the pieces stand for it.
   */
  private readRecorded(position: number, told: Telling, generation: number): void {
    const read = this.failover?.recorded;
    const settle = (text: string) => {
      if (told.generation !== generation || told.text !== null) return;
      told.text = text;
      this.wakeTelling(told);
    };
    if (!read) {
      settle(told.chunks.join(""));
      return;
    }
    void (async () => {
      for (let attempt = 0; attempt < RECORD_READS; attempt++) {
        if (told.generation !== generation || this.ended) return;
        const text = await read(position).catch(() => null);
        if (text !== null) return settle(text);
        await new Promise((resolve) => setTimeout(resolve, RECORD_READ_EVERY_MS));
      }
      settle(told.chunks.join(""));
    })();
  }

  /**
   * A turn's prose as it arrives: each chunk streamed, then nothing more once it is done. A turn
   * told by the template arrives whole, as one piece. If a model failed halfway and the template
   * replaced it, the pieces yielded are not the record: `narrationText` resolves with that, as it
   * does when pieces were lost with a connection. A telling that starts again (after a crash of
   * the process that told it) is streamed again from its start.
   */
  async *narrationOf(position: number): AsyncGenerator<string> {
    let next = 0;
    let generation = 0;
    const told = this.telling(position);
    for (;;) {
      if (told.generation !== generation) {
        generation = told.generation;
        next = 0;
      }
      while (next < told.chunks.length) yield told.chunks[next++]!;
      if (told.text !== null) {
        if (next === 0 && told.text) yield told.text;
        return;
      }
      // nothing more will arrive: the session ended, or forgot so old a turn
      if (this.ended || told.dropped) return;
      await new Promise<void>((resolve) => told.wake.push(resolve));
    }
  }

  /**
   * A turn's prose received so far: the record once told (`done`), else its pieces joined; null
   * when none arrived. A telling whose pieces were lost with a connection is `done` once its
   * record has been read (see narrationText).
   */
  narrationSoFar(position: number): { text: string; done: boolean } | null {
    const told = this.told.get(position);
    // a hidden roll's, to anyone but a game master, is known to be "" and none of it arrives
    if (!told || (told.length === 0 && !told.text)) return null;
    return told.text !== null ? { text: told.text, done: true } : { text: told.chunks.join(""), done: false };
  }

  /**
   * Resolves with a turn's narration as recorded, once its `done` message arrives (at once with ""
   * for a hidden roll's, to anyone but a game master: its prose is theirs alone); rejects
   * (`unavailable`) when the session ends first, or forgets so old a turn: `LoomClient.turn`
   * reads the record then.
   */
  async narrationText(position: number): Promise<string> {
    const told = this.telling(position);
    for (;;) {
      if (told.text !== null) return told.text;
      if (this.ended || told.dropped)
        throw new LoomError(
          "unavailable",
          `the narration of turn ${position} did not reach this session; read the turn instead`,
        );
      await new Promise<void>((resolve) => told.wake.push(resolve));
    }
  }

  /** Marks only move forward; a `durable` event for each advance, whichever way it came. */
  private onMarks(marks: DurableMessage): void {
    if (marks.durableThrough <= this.durableThrough && marks.persistedThrough <= this.persistedThrough)
      return;
    this.durableThrough = Math.max(this.durableThrough, marks.durableThrough);
    this.persistedThrough = Math.max(this.persistedThrough, marks.persistedThrough);
    this.emit("durable", { durableThrough: this.durableThrough, persistedThrough: this.persistedThrough });
  }

  /** The newest position this session was told of (a turn or the `recent` history). */
  private lastPosition = 0;

  /** Keeps a new turn; returns the telling it carries when that is new to this session. */
  private addTurn(turn: Turn): RecordedTelling | null {
    this.lastPosition = Math.max(this.lastPosition, turn.position);
    const seeded = this.seedTelling(turn);
    if (turn.kind === "undo") {
      const target = (turn.input as { targetPosition?: unknown }).targetPosition;
      const undone = this.turns.find((known) => known.position === target);
      if (undone) undone.status = "undone";
    }
    if (this.keepTurns !== 0) {
      const last = this.turns.at(-1);
      if (!last || last.position < turn.position) this.turns.push(turn);
      this.trim();
    }
    return seeded;
  }

  private trim(): void {
    if (this.turns.length > this.keepTurns) this.turns.splice(0, this.turns.length - this.keepTurns);
  }

  /**
   * The decoded synced state (header, scene, characters, durability marks), as the server's
   * UniverseRoomState syncs it; its type is inferred from roomStateSchema in shared/.
   */
  get state(): RoomState {
    return this.room.state as RoomState;
  }

  /**
   * Sends a command and resolves with the turn it became, or the coded rejection. Pass the same
   * `seq` to retry a command whose answer was lost: it is applied at most once.
   */
  act(command: CommandInput, options: { seq?: number; timeoutMs?: number } = {}): Promise<ActResult> {
    return this.request(ClientMessage.Act, { command }, options);
  }

  private request(
    type: string,
    body: Record<string, unknown>,
    options: { seq?: number; timeoutMs?: number },
  ): Promise<ActResult> {
    const seq = options.seq ?? ++this.seq;
    // a session that ended has no seat to wait for: the command is refused with why it ended
    if (this.ended)
      return Promise.resolve({
        ok: false,
        rejection: {
          rejected: true,
          code: CLOSED_BEFORE_STATE.get(this.endedWith) ?? "unavailable",
          message: `the session ended (${this.endedWith}); not sent`,
        },
      });
    if (!this.connected && this.pending.size >= this.maxHeld)
      return Promise.resolve({
        ok: false,
        rejection: {
          rejected: true,
          code: "unavailable",
          message: `reconnecting, with ${this.pending.size} commands already waiting; not sent`,
        },
      });
    const bytes = frameBytes(this.current, type, { seq, ...body });
    if (bytes > LIMITS.frameBytesMax)
      return Promise.resolve({
        ok: false,
        rejection: {
          rejected: true,
          code: "payload_too_large",
          message: `the message takes ${bytes} bytes; the server takes at most ${LIMITS.messageBytesMax}; not sent`,
        },
      });
    const waiting = this.pending.get(seq);
    if (waiting)
      // a retry while the first send of that seq still waits: the one answer settles both (the
      // server would answer the retry with the first's turn, or refuse it as that seq reused)
      return new Promise<ActResult>((resolve) => {
        const settle = waiting.settle;
        waiting.settle = (result) => {
          settle(result);
          resolve(result);
        };
      });
    const timeoutMs = options.timeoutMs ?? 10_000;
    return new Promise<ActResult>((resolve) => {
      let timer: ReturnType<typeof setTimeout>;
      const expire = () => {
        const pending = this.pending.get(seq);
        if (!pending) return;
        // time spent reconnecting does not count: the command waits for a seat
        if (!this.connected) {
          timer = setTimeout(expire, timeoutMs);
          return;
        }
        this.pending.delete(seq);
        pending.settle(unanswered(pending, "no answer in time; retry with the same seq"));
      };
      timer = setTimeout(expire, timeoutMs);
      const pending: Pending = {
        type,
        message: body,
        sent: this.connected,
        settle: (result) => {
          clearTimeout(timer);
          resolve(result);
        },
      };
      this.pending.set(seq, pending);
      if (this.connected) this.current.send(type, { seq, ...body });
    });
  }

  /**
   * Undoes a turn: a player their own latest (or `position`) if it rolled no dice, a GM the latest
   * applied turn.
   */
  undo(position?: number, options: { seq?: number; timeoutMs?: number } = {}): Promise<ActResult> {
    return this.request(ClientMessage.Undo, position === undefined ? {} : { position }, options);
  }

  /** GM: a retcon turn with a note and the deltas that correct canon. */
  retcon(
    note: string,
    deltas: Delta[] = [],
    options: { seq?: number; timeoutMs?: number } = {},
  ): Promise<ActResult> {
    return this.request(ClientMessage.Retcon, { note, deltas }, options);
  }

  /** The next sequence number `act` would use (for callers that manage retries themselves). */
  nextSeq(): number {
    return ++this.seq;
  }

  /**
   * Listens for an event. The `recap` cannot be missed: one that arrived before any `recap`
   * listener is delivered to the first one (asynchronously, as if it had just arrived).
   */
  on<K extends keyof SessionEvents>(event: K, listener: SessionEvents[K]): () => void {
    this.listeners[event].add(listener);
    const unheard = event === "recap" ? this.unheardRecap : null;
    if (unheard) {
      this.unheardRecap = null;
      queueMicrotask(() => (listener as SessionEvents["recap"])(unheard));
    }
    return () => this.listeners[event].delete(listener);
  }

  /** Leaves the universe; while rejoining, stops rejoining (what waits is answered, `leave` fires). */
  async leave(): Promise<number> {
    this.leaving = true;
    if (this.connected) return this.current.leave(true);
    this.rejoining?.abort();
    this.end(4000);
    return 4000;
  }

  private emit<K extends keyof SessionEvents>(event: K, ...args: Parameters<SessionEvents[K]>): void {
    for (const listener of this.listeners[event])
      (listener as (...a: Parameters<SessionEvents[K]>) => void)(...args);
  }
}
