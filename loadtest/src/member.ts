import type { ActResult, CommandInput, Turn, UniverseSession } from "@loom/client-sdk";
import type { Recorder } from "./recorder.ts";
import { TimelineWatch } from "./timeline-watch.ts";

export type MemberRole = "player" | "gm" | "spectator";

/** An acknowledged command: the turn the server said it became. */
export interface AckedTurn {
  universe: number;
  id: string;
  position: number;
}

interface InFlight {
  sentAt: number;
  recorder: Recorder;
  turnSeen: boolean;
  tracked: boolean;
}

interface AwaitingMark {
  position: number;
  sentAt: number;
  recorder: Recorder;
}

/** Latest mark (durableThrough or persistedThrough) and when it arrived. */
interface Mark {
  through: number;
  at: number;
}

/** No answer within this long counts the command as unanswered. */
export const ACT_TIMEOUT_MS = 15_000;

/**
 * One connected member of a universe: watches the timeline it is sent, and — for players and
 * GMs — sends commands and times them: act → its own turn's broadcast, → ack, → the durable and
 * persisted marks covering the turn's position.
 */
export class SimMember {
  /** A GM's view stands in for the timeline where there is no database (the bare room). */
  readonly watch: TimelineWatch;
  private readonly inFlight = new Map<number, InFlight>();
  private readonly awaitingDurable: AwaitingMark[] = [];
  private readonly awaitingPersisted: AwaitingMark[] = [];
  private durable: Mark = { through: 0, at: 0 };
  private persisted: Mark = { through: 0, at: 0 };
  /** The recorder receiving broadcast counts (the current window). */
  recorder: Recorder | null = null;
  commandsSent = 0;
  /** Set before leaving on purpose; a close without it is the server dropping the member. */
  leaving = false;
  /** The close code when the server closed this member's session unasked. */
  droppedWith: number | null = null;

  constructor(
    readonly session: UniverseSession,
    readonly role: MemberRole,
    readonly universe: number,
    readonly playerId: string,
    readonly characterId: string | null,
    /** `sentAt`: when the command went out (performance.now()). */
    private readonly onAcked: (turn: AckedTurn, sentAt: number) => void,
    /** Whether the server sends durable / persisted marks (the bare room does not). */
    private readonly marks = true,
  ) {
    this.watch = new TimelineWatch(role === "gm");
    session.on("state", (state) => {
      const head = (state as { head?: unknown } | null)?.head;
      if (typeof head === "number") this.watch.observeJoinState(head);
    });
    session.on("turn", (turn) => this.onTurn(turn));
    session.on("durable", (marks) => this.onMarks(marks.durableThrough, marks.persistedThrough));
    session.on("leave", (code) => {
      if (!this.leaving) this.droppedWith = code;
    });
  }

  get pending(): number {
    return this.inFlight.size;
  }

  get awaitingMarks(): number {
    return this.awaitingDurable.length + this.awaitingPersisted.length;
  }

  act(command: CommandInput, recorder: Recorder): void {
    const seq = this.session.nextSeq();
    this.inFlight.set(seq, { sentAt: performance.now(), recorder, turnSeen: false, tracked: false });
    recorder.sent += 1;
    this.commandsSent += 1;
    this.session.act(command, { seq, timeoutMs: ACT_TIMEOUT_MS }).then(
      (result) => this.onResult(seq, result),
      () =>
        this.onResult(seq, {
          ok: false,
          rejection: { rejected: true, code: "unavailable", message: "send failed" },
        }),
    );
  }

  /** Gives up on what is still unanswered or unmarked (end of a run); returns the unanswered count. */
  abandon(): number {
    const unanswered = this.inFlight.size;
    for (const entry of this.inFlight.values()) entry.recorder.unanswered += 1;
    this.inFlight.clear();
    this.awaitingDurable.length = 0;
    this.awaitingPersisted.length = 0;
    return unanswered;
  }

  private onTurn(turn: Turn): void {
    const now = performance.now();
    this.watch.observe(turn.position, turn.id);
    if (this.recorder) this.recorder.broadcasts += 1;
    const seq = (turn.input as { seq?: unknown }).seq;
    if (typeof seq !== "number" || turn.playerId !== this.playerId) return;
    const entry = this.inFlight.get(seq);
    if (!entry || entry.turnSeen) return;
    entry.turnSeen = true;
    entry.recorder.actToTurn.record(now - entry.sentAt);
    this.trackMarks(entry, turn.position);
  }

  private onResult(seq: number, result: ActResult): void {
    const entry = this.inFlight.get(seq);
    if (!entry) return;
    this.inFlight.delete(seq);
    const { recorder } = entry;
    if (!result.ok) {
      if (result.rejection.code === "outcome_unknown") recorder.unanswered += 1;
      else recorder.reject(result.rejection.code);
      return;
    }
    recorder.ack(performance.now() - entry.sentAt);
    if (result.duplicate) recorder.duplicates += 1;
    else
      this.onAcked(
        { universe: this.universe, id: ownCopy(result.turn.id), position: result.turn.position },
        entry.sentAt,
      );
    this.trackMarks(entry, result.turn.position);
  }

  private trackMarks(entry: InFlight, position: number): void {
    if (entry.tracked || !this.marks) return;
    entry.tracked = true;
    // with a Redis live store the durable mark can arrive just before the turn it covers
    if (this.durable.through >= position) entry.recorder.actToDurable.record(this.durable.at - entry.sentAt);
    else enqueue(this.awaitingDurable, { position, sentAt: entry.sentAt, recorder: entry.recorder });
    if (this.persisted.through >= position)
      entry.recorder.actToPersisted.record(this.persisted.at - entry.sentAt);
    else enqueue(this.awaitingPersisted, { position, sentAt: entry.sentAt, recorder: entry.recorder });
  }

  private onMarks(durableThrough: number, persistedThrough: number): void {
    const now = performance.now();
    if (durableThrough > this.durable.through) this.durable = { through: durableThrough, at: now };
    if (persistedThrough > this.persisted.through) this.persisted = { through: persistedThrough, at: now };
    settle(this.awaitingDurable, durableThrough, now, (entry, ms) => entry.recorder.actToDurable.record(ms));
    settle(this.awaitingPersisted, persistedThrough, now, (entry, ms) =>
      entry.recorder.actToPersisted.record(ms),
    );
  }
}

/**
 * A string that holds no other: msgpackr decodes all the strings of a message into one and hands
 * out slices of it, so keeping an ack's turn id kept its whole message alive. Kept for a whole
 * run, the acknowledged ids held ~600 bytes of message each (37 MB a minute at 1,000 actions/s),
 * and the load generator's major garbage collections grew with them.
 */
function ownCopy(text: string): string {
  return Buffer.from(text, "utf8").toString("utf8");
}

/** Keeps the queue ordered by position (turns nearly always arrive in order: an append). */
function enqueue(queue: AwaitingMark[], mark: AwaitingMark): void {
  let index = queue.length;
  while (index > 0 && queue[index - 1]!.position > mark.position) index -= 1;
  queue.splice(index, 0, mark);
}

/** The queue is ordered by position, so the covered ones are at the front. */
function settle(
  queue: AwaitingMark[],
  through: number,
  now: number,
  record: (entry: AwaitingMark, ms: number) => void,
): void {
  let covered = 0;
  while (covered < queue.length && queue[covered]!.position <= through) {
    const entry = queue[covered]!;
    record(entry, now - entry.sentAt);
    covered += 1;
  }
  if (covered > 0) queue.splice(0, covered);
}
