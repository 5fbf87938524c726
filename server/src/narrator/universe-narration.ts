import {
  applyDeltas,
  evolve,
  GAME_MASTER,
  invertDeltas,
  isHiddenTurn,
  narrationSeed,
  storableText,
  SPECTATOR,
  type Narration,
  type NarrationMessage,
  type Telling,
  type Turn,
  type UniverseState,
} from "@loom/shared";
import { log } from "../log.ts";
import {
  NarratorError,
  type Audience,
  type Narrator,
  type NarratorAudit,
  type NarratorOutput,
} from "./narrator.ts";
import { TemplateNarrator } from "./template-narrator.ts";

/** How often a narrator failing turn after turn is said to be failing still. */
const FAILURES_SAID_EVERY_MS = 60_000;
/** How long a closing universe waits for its aborted tellings to settle. */
const ABORTED_SETTLE_MS = 2_000;
/** Waits before each new try of a record the store failed: about 20 s in all, then it is given up. */
const RECORD_RETRY_MS = [250, 1_000, 4_000, 15_000];
/** Untold turns read from the store at a time: a universe may have thousands. */
const UNTOLD_PAGE = 50;
/**
 * How far apart two untold turns may be for the later's state to be walked forward from the
 * earlier's through the turns between, rather than read afresh from a snapshot.
 */
const STATE_WALK = 64;

/**
 * A universe's turns as the store has them, for telling those a previous owner left untold
 * further back than the authority's recent window reaches.
 */
export interface StoredTurns {
  /** The universe's own untold turns in (after, through], oldest first, at most `limit`; `total` counts them all when asked. */
  untold(
    after: number,
    through: number,
    limit: number,
    count: boolean,
  ): Promise<{ turns: Turn[]; total: number | null }>;
  /** The turns in (from, to], ascending. */
  between(from: number, to: number): Promise<Turn[]>;
  /** The state just after the turn at `position`. */
  stateAt(position: number): Promise<UniverseState>;
}

export interface UniverseNarrationOptions {
  universeId: string;
  /** Turns at or before this position belong to the parent universe and are narrated there as they are made. */
  branchPosition: number;
  narrator: Narrator;
  /** Narrations in progress at once for this universe; more wait in line. */
  concurrency: number;
  /**
   * New turns waiting beyond this many are told by the template at once, oldest first, rather than
   * fall further behind (turns left untold by a previous owner are not: see `recover`).
   */
  backlog: number;
  /** Stores a narration write-once on its turn; resolves once it is stored (or was already). */
  record(position: number, narration: Narration): Promise<void>;
  /**
   * Sends a piece of prose; `first` marks a streamed telling's first piece, which the table should
   * see at once (the others may wait to share a write: see rooms/narration-output.ts).
   */
  send(message: NarrationMessage, audience: Audience, first: boolean): void;
  /**
   * A turn was told by `narrator` in `ms`; `failure` says why the configured narrator did not
   * tell it (the template did). For the process's metrics.
   */
  told?(narrator: string, ms: number, failure: { narrator: string; reason: string } | null): void;
  now?: () => string;
  /**
   * Runs the narration of the turns just enqueued once the current loop turn's work is done
   * (default: setImmediate, which in a room comes after its output batch is written: the acks,
   * the turns and the live store's appends leave before any prose or prompt is made).
   */
  defer?: (run: () => void) => void;
  /**
   * The longest a game master's retelling waits for the narrator, retries included, before the
   * template tells it: the retelling is the answer to an HTTP request (default: no bound).
   */
  retellWithinMs?: number;
}

interface Job {
  turn: Turn;
  state: UniverseState;
  previous: readonly Turn[];
  /** A bound on the narrator's whole telling, after which the template tells it. */
  withinMs?: number;
  /** Aborts this telling alone: one nobody has heard a piece of is left for the next owner. */
  controller?: AbortController;
  /** Whether a piece of it, or its end, has been sent: closing waits for such a telling. */
  heard?: boolean;
  /**
   * Ends a telling the table has heard part of with what it heard, and returns that as its record;
   * null for one nobody heard or that has ended (see `close`).
   */
  cutShort?: () => Narration | null;
}

/**
 * The state after each of `turns[from…]`, given the state after the last: walked back by undoing
 * each turn's deltas (they carry what they replaced). Should a turn's deltas not undo cleanly,
 * it and the turns before it are told against the oldest state reached.
 */
function statesAfter(turns: readonly Turn[], from: number, last: UniverseState): UniverseState[] {
  const states: UniverseState[] = new Array<UniverseState>(turns.length - from);
  let state = last;
  let intact = true;
  for (let i = turns.length - 1; i >= from; i--) {
    states[i - from] = state;
    if (!intact) continue;
    try {
      state = applyDeltas(state, invertDeltas(turns[i]!.deltas));
    } catch {
      intact = false;
    }
  }
  return states;
}

/** How long streamed prose after a narration's first chunk may wait to leave with the next. */
const CHUNK_BATCH_MS = 40;

/**
 * Streamed prose for the table, in fewer messages: the first chunk leaves at once (the table sees
 * the story start), the next ones together at most CHUNK_BATCH_MS later, and what is left when
 * the narration ends rides on its `done` message.
 */
class ChunkBatcher {
  private held = "";
  private first = true;
  /** Every piece pushed, sent or held: what the table has of the prose once `done` carries the rest. */
  streamed = "";
  /** How much of the prose has been sent: the `at` of the next message. */
  sent = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(private readonly send: (chunk: string, first: boolean, at: number) => void) {}

  push(chunk: string): void {
    this.streamed += chunk;
    if (this.first) {
      this.first = false;
      this.sendNow(chunk, true);
      return;
    }
    this.held += chunk;
    this.timer ??= setTimeout(() => {
      this.timer = null;
      const held = this.take();
      if (held) this.sendNow(held, false);
    }, CHUNK_BATCH_MS);
  }

  private sendNow(chunk: string, first: boolean): void {
    const at = this.sent;
    this.sent += chunk.length;
    this.send(chunk, first, at);
  }

  /** What is held back, no longer to be sent by the batcher. */
  take(): string {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const held = this.held;
    this.held = "";
    return held;
  }
}

/** How many turns before a narrated one its narrator is shown. */
const PREVIOUS_TURNS = 8;
const template = new TemplateNarrator();

/** The turns before `turn` among `turns` (ascending) that its narrator is shown. */
function previousOf(turns: readonly Turn[], turn: Turn): Turn[] {
  return turns.slice(-(PREVIOUS_TURNS + 1)).filter((t) => t.position < turn.position);
}

/**
 * Narration for one universe. A narrator that needs no I/O (the template) tells each turn as it is
 * made (`tellAtOnce`): the turn carries its prose. Any other is off the critical path: a turn is
 * acknowledged and broadcast first, its prose follows, streamed to the room, then recorded once on
 * the turn. A narrator that fails
 * or times out is replaced by the template, and the record says so. Idempotent by position: a
 * position is narrated at most once by this process, and the store keeps the first record.
 */
export class UniverseNarration {
  private readonly queue: Job[] = [];
  /**
   * Turns a previous owner left untold, ready to be told, oldest first: started when a slot is
   * free and no new turn waits, never sent to the template for being many.
   */
  private readonly recovered: Job[] = [];
  /** Woken when a recovered turn starts: the store is read for the next only then. */
  private roomForRecovered: (() => void) | null = null;
  /** Where the turns older than the recent window are told from, state by state. */
  private walked: { position: number; state: UniverseState; previous: Turn[] } | null = null;
  private active = 0;
  private scheduled = false;
  private closing = false;
  private readonly controller = new AbortController();
  private readonly running = new Map<Promise<void>, Job>();
  /**
   * The narrator's failures since it last told a turn: the first is logged with its error, the
   * rest counted and said once a minute, so that an endpoint that is down does not put a warning
   * with its stack in the log at every turn.
   */
  private failing: { count: number; since: number; saidAt: number } | null = null;
  /**
   * The newest position taken to be told: turns come in timeline order (those left unnarrated,
   * then each new one), so this says which were, without a position kept for every turn of a
   * universe open for months.
   */
  private taken = 0;
  /** Settles when the universe closes here: what waits on a record stops waiting then. */
  private readonly closed: Promise<void>;

  constructor(private readonly options: UniverseNarrationOptions) {
    this.closed = new Promise((resolve) =>
      this.controller.signal.addEventListener("abort", () => resolve(), { once: true }),
    );
  }

  /** A turn just acknowledged; `recent` are the turns up to it (the authority's window). */
  enqueue(turn: Turn, state: UniverseState, recent: readonly Turn[]): void {
    if (turn.position <= this.options.branchPosition) return;
    this.take(turn, state, recent);
  }

  private take(turn: Turn, state: UniverseState, recent: readonly Turn[]): void {
    if (this.closing || turn.narration !== null || turn.position <= this.taken) return;
    this.taken = turn.position;
    this.queue.push({ turn, state, previous: previousOf(recent, turn) });
    this.schedule();
  }

  /**
   * A turn's prose told as the turn is made, for a narrator that needs no I/O (the template): the
   * turn carries it from its first write, so it is recorded with the turn and reaches each member
   * inside the turn's own message, not as a message of its own. Null for a narrator that streams
   * (its prose follows the turn: `enqueue`), and once the universe is closing here.
   */
  tellAtOnce(turn: Turn, state: UniverseState): Narration | null {
    const { narrator } = this.options;
    if (!narrator.tellNow || this.closing || turn.position <= this.options.branchPosition) return null;
    const audience: Audience = isHiddenTurn(turn) ? "gm" : "table";
    const seed = narrationSeed(turn);
    const started = performance.now();
    const output = narrator.tellNow({
      turn,
      state,
      // a narrator that tells at once draws on the turn and the state alone
      previous: [],
      viewer: audience === "gm" ? GAME_MASTER : SPECTATOR,
      seed,
      signal: this.controller.signal,
      onChunk: () => undefined,
    });
    return this.recorded(output, narrator.name, seed, started, null, audience);
  }

  /** A telling's record: the narrator's output with who told it, when, how long it took, and why. */
  private recorded(
    output: NarratorOutput,
    narrator: string,
    seed: number,
    started: number,
    failure: { narrator: string; reason: string } | null,
    audience: Audience,
    counted = true,
  ): Narration {
    const latencyMs = performance.now() - started;
    if (counted) this.options.told?.(narrator, latencyMs, failure);
    return {
      ...output,
      narrator,
      seed,
      latencyMs: Math.round(latencyMs),
      fallback: failure && `${failure.narrator}: ${failure.reason}`,
      audience,
      createdAt: (this.options.now ?? (() => new Date().toISOString()))(),
    };
  }

  /**
   * Narrates the turns a previous owner acknowledged but never narrated (it died mid-narration, or
   * before, or while its database was down, or left them for this one as it closed), oldest first:
   * with `stored`, the universe's own untold turns before the window, read from the store a page
   * at a time, then every untold turn of the window. Each is told against the state just after
   * it, as it would have been: in the window, the current state with the later turns' deltas
   * undone; before it, the stored state at its position. They take the narrator's free slots one
   * by one, after the new turns, so that hundreds of them neither flood the room nor are handed to
   * the template as a backlog. Returns how many of the window's are told.
   */
  recover(recent: readonly Turn[], state: UniverseState, stored?: StoredTurns): number {
    const window: Job[] = [];
    // every untold turn of the window, those before a told one too: tellings run side by side
    // and end in any order, so a later turn may be recorded while an earlier one was cut off
    const from = recent.findIndex((turn) => turn.narration === null);
    if (from !== -1) {
      const after = statesAfter(recent, from, state);
      for (let i = from; i < recent.length; i++) {
        const turn = recent[i]!;
        // a branch's inherited turn too: one cut off in its parent is told by whichever of them
        // opens first (the record is write-once by the row that stores it), not left to a parent
        // that may never be opened again
        if (turn.narration !== null || turn.position <= this.taken) continue;
        this.taken = turn.position;
        window.push({ turn, state: after[i - from]!, previous: previousOf(recent.slice(0, i + 1), turn) });
      }
    }
    const first = recent[0]?.position;
    if (stored && first !== undefined && first - 1 > this.options.branchPosition)
      void this.recoverStored(stored, first - 1).finally(() => this.recoverLater(window));
    else this.recoverLater(window);
    return window.length;
  }

  private recoverLater(jobs: Job[]): void {
    if (this.closing || jobs.length === 0) return;
    this.recovered.push(...jobs);
    this.schedule();
  }

  /** Tells the universe's own untold turns through `through`, a page read at a time. */
  private async recoverStored(stored: StoredTurns, through: number): Promise<void> {
    const { universeId } = this.options;
    let after = this.options.branchPosition;
    let told = 0;
    try {
      for (;;) {
        const page = await this.unlessClosed(stored.untold(after, through, UNTOLD_PAGE, told === 0));
        if (!page || page.turns.length === 0) break;
        if (told === 0)
          log.info(
            `universe ${universeId}: narrating ${page.total ?? page.turns.length} turns left unnarrated before the recent ones, oldest first`,
            { universeId },
          );
        for (const turn of page.turns) {
          // the next is read once this one has started: as many held ready as can start at once
          while (!this.closing && this.recovered.length >= this.options.concurrency)
            await this.unlessClosed(new Promise<void>((resolve) => (this.roomForRecovered = resolve)));
          const job = await this.unlessClosed(this.storedJob(stored, turn));
          if (!job || this.closing) return;
          this.recovered.push(job);
          this.schedule();
          told += 1;
        }
        after = page.turns[page.turns.length - 1]!.position;
      }
    } catch (error) {
      // left untold in the store: the universe's next owner tells them
      log.warn(`universe ${universeId}: the turns left unnarrated could not be read; ${told} were`, {
        err: error,
        universeId,
      });
    }
  }

  /** What a promise resolves with, or null once the universe closes here. */
  private unlessClosed<T>(promise: Promise<T>): Promise<T | null> {
    return Promise.race([promise, this.closed.then(() => null)]);
  }

  /**
   * A stored turn with the state just after it: walked forward from the last one's through the
   * turns between when they are near, read from the store's nearest snapshot otherwise.
   */
  private async storedJob(stored: StoredTurns, turn: Turn): Promise<Job> {
    const near = this.walked && turn.position - this.walked.position <= STATE_WALK ? this.walked : null;
    const walked = near && turn.position > near.position ? await this.walkedTo(stored, near, turn) : null;
    const [state, read] =
      walked ??
      (await Promise.all([
        stored.stateAt(turn.position),
        stored.between(Math.max(0, turn.position - PREVIOUS_TURNS - 1), turn.position),
      ]));
    const previous = previousOf(read, turn);
    this.walked = { position: turn.position, state, previous: [...previous, turn] };
    return { turn, state, previous };
  }

  /** The state just after `turn`, and the turns up to it, walked forward from `from`; null if a turn's deltas do not apply. */
  private async walkedTo(
    stored: StoredTurns,
    from: { state: UniverseState; position: number; previous: Turn[] },
    turn: Turn,
  ): Promise<[UniverseState, Turn[]] | null> {
    const between = await stored.between(from.position, turn.position);
    try {
      const state = between.reduce((at, next) => evolve(at, next.deltas), from.state);
      return [state, [...from.previous, ...between]];
    } catch {
      // read from the store's snapshot instead, as a turn further away would be
      return null;
    }
  }

  /** Narrations in progress or waiting. */
  get pending(): number {
    return this.queue.length + this.recovered.length + this.running.size;
  }

  /**
   * Someone waits to open the universe again while it closes here: the tellings nobody has heard
   * a piece of, and those still waiting, are left for the next owner at once (it tells them against
   * the same states) rather than waited for. A model that is slow or down would otherwise keep a
   * player who left and came straight back waiting for as long as closing waits.
   */
  hurry(): void {
    this.hurried = true;
    if (this.closing) this.abandonUnheard();
  }

  private hurried = false;

  private abandonUnheard(): void {
    this.queue.length = 0;
    this.recovered.length = 0;
    for (const job of this.running.values()) if (!job.heard) job.controller?.abort();
  }

  /**
   * Stops taking turns and lets what is in progress finish for up to `deadlineMs`. Then a telling
   * the table has heard part of is ended with what it heard, recorded so (`fallback` says it was
   * cut short): told again by the next owner, it would read differently, and a turn is told once.
   * The rest is abandoned unrecorded, for the next owner of the universe to narrate.
   */
  async close(deadlineMs: number): Promise<void> {
    this.closing = true;
    // turns left untold before are the next owner's to tell, as they were this one's
    this.recovered.length = 0;
    if (this.hurried) this.abandonUnheard();
    const deadline = Date.now() + deadlineMs;
    while (this.pending > 0 && Date.now() < deadline) {
      this.pump();
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        Promise.allSettled([...this.running.keys()]),
        new Promise((resolve) => (timer = setTimeout(resolve, Math.max(0, deadline - Date.now())))),
      ]);
      clearTimeout(timer);
    }
    this.queue.length = 0;
    const cut: Promise<void>[] = [];
    for (const job of this.running.values()) {
      const narration = job.cutShort?.();
      if (narration) cut.push(this.recordCut(job.turn.position, narration));
    }
    this.controller.abort();
    for (const job of this.running.values()) job.controller?.abort();
    // an aborted telling settles at once; one that does not (a request its thread lost) is left;
    // the records of those cut short are written before the store closes, or are left with them
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.allSettled([...this.running.keys(), ...cut]),
      new Promise((resolve) => (timer = setTimeout(resolve, ABORTED_SETTLE_MS))),
    ]);
    clearTimeout(timer);
  }

  private async recordCut(position: number, narration: Narration): Promise<void> {
    const { universeId } = this.options;
    try {
      await this.options.record(position, narration);
      log.info(`universe ${universeId} closing: turn ${position}'s telling, cut short, recorded as heard`, {
        universeId,
      });
    } catch (error) {
      log.warn(
        `universe ${universeId} closing: turn ${position}'s telling, cut short, could not be recorded`,
        {
          err: error,
          universeId,
        },
      );
    }
  }

  /** Narration starts after the current loop turn's work, so the ack and the turn go first. */
  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    (this.options.defer ?? setImmediate)(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    while (this.queue.length > this.options.backlog) this.start(this.queue.shift()!, "backlog");
    while (this.queue.length > 0 && this.active < this.options.concurrency)
      this.start(this.queue.shift()!, null);
    // the new turns first: the table waits for those, not for the ones a previous owner left
    while (this.recovered.length > 0 && this.active < this.options.concurrency) {
      this.start(this.recovered.shift()!, null);
      this.roomForRecovered?.();
      this.roomForRecovered = null;
    }
  }

  private start(job: Job, forced: string | null): void {
    job.controller = new AbortController();
    let held = forced === null;
    if (held) this.active += 1;
    // the slot is the narrator's (its requests in flight), not the record's: it is free once the
    // telling is done, while the record waits for its turn to persist and for its group's commit
    const release = () => {
      if (!held) return;
      held = false;
      this.active -= 1;
      if (this.queue.length > 0 || this.recovered.length > 0) this.pump();
    };
    const run = this.run(job, forced, release)
      .catch((error: unknown) =>
        log.error(`narrating turn ${job.turn.position} of ${this.options.universeId} failed`, {
          err: error,
          universeId: this.options.universeId,
        }),
      )
      .finally(() => {
        release();
        this.running.delete(run);
      });
    this.running.set(run, job);
  }

  private failed(name: string, position: number, reason: string, error: unknown): void {
    const now = Date.now();
    const universeId = this.options.universeId;
    if (this.failing === null) {
      this.failing = { count: 1, since: now, saidAt: now };
      log.warn(
        `narrator ${name} failed on turn ${position} of ${universeId}; the template tells it, and the turns after it until the narrator tells again (counted, not logged each)`,
        { err: error, universeId, code: reason },
      );
      return;
    }
    this.failing.count += 1;
    if (now - this.failing.saidAt < FAILURES_SAID_EVERY_MS) return;
    this.failing.saidAt = now;
    log.warn(
      `narrator ${name} still failing on ${universeId}: ${this.failing.count} turns told by the template since ${new Date(this.failing.since).toISOString()}, the last (turn ${position}) for ${reason}`,
      { universeId, code: reason },
    );
  }

  /**
   * Tells a turn again at a game master's request: streamed like the first telling, with a seed
   * of its own (the template would repeat itself otherwise), and returned for the caller to append.
   * Null when the universe closed meanwhile.
   */
  retell(turn: Turn, state: UniverseState, recent: readonly Turn[]): Promise<Telling | null> {
    const previous = previousOf(recent, turn);
    const seed = (narrationSeed(turn) + (turn.narration?.retellings?.length ?? 0) + 1) & 0x7fffffff;
    return this.tell({ turn, state, previous, withinMs: this.options.retellWithinMs }, null, seed);
  }

  private async run(job: Job, forced: string | null, told: () => void): Promise<void> {
    const narration = await this.tell(job, forced, narrationSeed(job.turn));
    told();
    if (!narration) return;
    // A record waits for its turn to be persisted, which may never come (a universe that cannot
    // write, or that moved): closing does not wait for it.
    await Promise.race([this.recordSurely(job.turn.position, narration), this.closed]);
  }

  /**
   * Records a telling the table heard, trying again when the store fails (a dropped connection, a
   * database restarting): left unrecorded, it would be told afresh, differently, by the next
   * process to serve the universe.
   */
  private async recordSurely(position: number, narration: Narration): Promise<void> {
    const { universeId } = this.options;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.options.record(position, narration);
        return;
      } catch (error) {
        const wait = RECORD_RETRY_MS[attempt];
        if (wait === undefined || this.controller.signal.aborted) throw error;
        log.warn(
          `recording the narration of turn ${position} of ${universeId} failed; trying again in ${wait} ms`,
          {
            err: error,
            universeId,
          },
        );
        let timer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([new Promise((resolve) => (timer = setTimeout(resolve, wait))), this.closed]);
        clearTimeout(timer);
        if (this.controller.signal.aborted) throw error;
      }
    }
  }

  /**
   * Narrates, streams and announces the result; null when the universe closed meanwhile. A
   * narrator that tells at once (and the template fallback) announces before this first returns:
   * nothing is awaited before the `done` message.
   */
  private async tell(job: Job, forced: string | null, seed: number): Promise<Narration | null> {
    const { turn, state, previous } = job;
    const audience: Audience = isHiddenTurn(turn) ? "gm" : "table";
    const started = performance.now();
    const send: UniverseNarrationOptions["send"] = (message, to, first) => {
      job.heard = true;
      this.options.send(message, to, first);
    };
    const pieces = new ChunkBatcher((chunk, first, at) =>
      send({ position: turn.position, chunk, done: false, at }, audience, first),
    );
    const deadline = job.withinMs === undefined ? null : AbortSignal.timeout(job.withinMs);
    // a queued telling's own signal, which closing aborts with the universe's (no AbortSignal.any
    // at every turn); a retelling's is the universe's
    const stop = job.controller?.signal ?? this.controller.signal;
    let asked: NarratorAudit | null = null;
    const request = {
      turn,
      state,
      previous,
      viewer: audience === "gm" ? GAME_MASTER : SPECTATOR,
      seed,
      signal: deadline ? AbortSignal.any([stop, deadline]) : stop,
      onChunk: (chunk: string) => pieces.push(chunk),
      onAsk: (audit: NarratorAudit) => (asked = audit),
    };
    let narrator = this.options.narrator;
    let ended = false;
    // a first telling the table hears in part (a retelling is the answer to its request alone)
    if (job.controller)
      job.cutShort = () => {
        if (ended || !job.heard) return null;
        ended = true;
        // what is held back never reached the table: the record is what it heard
        pieces.take();
        const heard = pieces.streamed.slice(0, pieces.sent);
        const output: NarratorOutput = {
          model: null,
          promptHash: null,
          endpoint: null,
          parameters: {},
          ...asked,
          text: storableText(heard),
          tokens: null,
        };
        const cut = { narrator: narrator.name, reason: "aborted" };
        // not counted: the model neither told the turn nor failed to
        const narration = this.recorded(output, narrator.name, seed, started, cut, audience, false);
        const end: NarrationMessage = { position: turn.position, at: pieces.sent, chunk: "", done: true };
        if (heard !== narration.text) end.text = narration.text;
        send({ ...end, narrator: narrator.name, fallback: narration.fallback }, audience, false);
        return narration;
      };
    let failure = forced === null ? null : { narrator: narrator.name, reason: forced };
    let output: NarratorOutput | null = null;
    if (failure === null) {
      try {
        output = narrator.tellNow ? narrator.tellNow(request) : await narrator.narrate(request);
      } catch (error) {
        if (ended || this.controller.signal.aborted || job.controller?.signal.aborted) return null;
        failure = {
          narrator: narrator.name,
          reason: deadline?.aborted ? "timeout" : error instanceof NarratorError ? error.reason : "error",
        };
        this.failed(narrator.name, turn.position, failure.reason, error);
      }
      // cut short as the universe closed: recorded with what the table heard (see close)
      if (ended) return null;
      if (output && this.failing) {
        log.info(
          `narrator ${narrator.name} tells turns of ${this.options.universeId} again, after ${this.failing.count} told by the template`,
          { universeId: this.options.universeId },
        );
        this.failing = null;
      }
    }
    ended = true;
    if (!output) {
      // the prose streamed so far is not the record: what is still held back goes unsent
      pieces.take();
      pieces.streamed = "";
      narrator = template;
      output = template.tellNow({ ...request, onChunk: () => undefined });
    }
    const narration = this.recorded(output, narrator.name, seed, started, failure, audience);
    const { fallback } = narration;
    const done: NarrationMessage = {
      position: turn.position,
      at: pieces.sent,
      chunk: pieces.take(),
      done: true,
    };
    // the recorded text travels again only when the pieces do not already spell it (the template
    // tells whole, a fallback replaces what streamed, a model's text is trimmed)
    if (pieces.streamed !== narration.text) done.text = narration.text;
    send({ ...done, narrator: narrator.name, fallback }, audience, false);
    return narration;
  }
}
