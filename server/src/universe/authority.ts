import {
  CanonicalTexts,
  canonicalJson,
  freezeShared,
  decide,
  DeltaError,
  diceFor,
  evolve,
  isRejection,
  reject,
  RejectionCode,
  snapshotDue,
  lifecycleEffect,
  opposedDifficultyRefusal,
  fullSceneRefusal,
  hiddenRollRefusal,
  choiceFlagRefusal,
  undoRefusal,
  freeInvokeRefusal,
  runActivityRefusal,
  unrecordableRefusal,
  undoTargetOf,
  upgradeTurn,
  type Actor,
  type Command,
  type Decision,
  type Rejection,
  type SnapshotReason,
  type SystemCommand,
  type Narration,
  type Telling,
  type Turn,
  type Random,
  type RunState,
  type UniverseState,
} from "@loom/shared";
import type { Lease, LiveStore } from "../live/live-store.ts";
import { ChecksumMismatchError, DamagedSnapshotError } from "../persist/turn-store.ts";
import type { LeaseLedger } from "../persist/lease-ledger.ts";
import { missingFromLiveStore, restoreToLiveStore } from "./live-custody.ts";
import type { PartedSnapshot, TurnStore, UniverseRecord } from "../persist/turn-store.ts";
import { partedState } from "../persist/snapshot-parts.ts";
import { Persister } from "./persister.ts";
import type { PersistHealth } from "./persist-health.ts";
import type { PendingBudget } from "./pending-budget.ts";
import { SeqLedger } from "./seq-ledger.ts";
import { TurnHolds, type TurnHold } from "./turn-holds.ts";
import { log } from "../log.ts";
import { faults } from "../fault-log.ts";

/** A decided turn waiting for its live-store append. */
interface Proposal {
  turn: Turn;
  /** The state after the turn. */
  state: UniverseState;
  undoes: number | undefined;
  resolve: (result: SubmitResult) => void;
}

/** Why a fenced authority refuses: the universe is (being) opened elsewhere, or again. */
const NOT_SERVED_HERE = "this universe is no longer served by this connection; reconnect";

function clientKey(key: string, seq: number): string {
  return `${seq}:${key}`;
}

function refusal(code: RejectionCode, message: string): Promise<SubmitResult> {
  return Promise.resolve({ ok: false, rejection: reject(code, message) });
}

export interface SubmitRequest {
  actor: Actor;
  command: Command | SystemCommand;
  runId?: string | null;
  characterId?: string | null;
  /** A client's own sequence number: a retried message with the same key and seq applies once. */
  client?: { key: string; seq: number };
  /**
   * An undo's turns since its target that the recent ones may not reach back to when it is
   * decided: those before the hold's, read from the TurnStore, and the hold taken before the read
   * (turnsToUndoFrom). The undo is decided against them and the recent turns as they are then.
   */
  earlier?: { stored: readonly Turn[]; held: TurnHold };
}

export type SubmitResult = { ok: true; turn: Turn; duplicate: boolean } | { ok: false; rejection: Rejection };

export interface AuthorityListener {
  onTurn?(turn: Turn, state: UniverseState): void;
  onDurable?(through: number): void;
  onPersisted?(through: number): void;
  /** Another process owns the universe now: stop serving it. */
  onFenced?(error: Error): void;
}

export interface AuthorityOptions {
  universe: UniverseRecord;
  turnStore: TurnStore;
  /** Where the persister appends (a process's GroupCommit); the TurnStore itself if unset. */
  writer?: Pick<TurnStore, "appendTurns">;
  liveStore: LiveStore;
  lease: Lease;
  /** Memory live store: a turn is durable only once persisted. */
  durableOnLiveAppend: boolean;
  clock?: () => Date;
  newId: () => string;
  /** Where failed writes and snapshots are reported (GET /metrics, /healthz). */
  health?: PersistHealth;
  /** The fencing tokens' high-water mark in the database; tokens taken again are registered there. */
  leases?: LeaseLedger | null;
  /** The lease's time to live, when it is taken again after lapsing. */
  leaseTtlMs?: number;
  /**
   * Most turns that may wait for the database; past it, new turns (clients' commands and the
   * server's own) are refused `unavailable` until it takes some (a database outage costs memory
   * per turn, not forever).
   */
  maxPendingTurns?: number;
  /**
   * The turns of every universe of the process that wait for the database, with their bound;
   * past it, new turns are refused `unavailable` in every universe of the process.
   */
  pendingBudget?: PendingBudget;
}

/**
 * Prose told while a turn is made (a narrator that needs no I/O): the turn carries it from its
 * first write on. Null leaves the turn to be told after its acknowledgement.
 */
export type TellAtOnce = (turn: Turn, state: UniverseState) => Narration | null;

/** How keeping the lease went: still held, taken again after it lapsed, or held by another owner. */
export type LeaseOutcome = "kept" | "taken" | "elsewhere";

/**
 * The single writer of one universe's timeline. Commands are decided one at a time, in the order
 * they arrive: decide → evolve → next position (→ its prose, told at once) → live-store append (the acknowledgement point,
 * pipelined: see `submit`) → listeners.
 * The persister writes pending turns to the TurnStore on ticks. Nothing here knows Colyseus.
 */
/**
 * The live store holds turns of the universe that do not follow its database's head (a database
 * put back older than its log): opening it would lose or reorder them, so it stays closed.
 */
export class LiveTailGapError extends Error {
  constructor(
    readonly universeId: string,
    readonly head: number,
    readonly first: number,
  ) {
    super(
      `universe ${universeId} is unavailable: its live log holds turns from ${first}, which do not follow its database's head ${head}; an operator must restore the database the log belongs to (see the server's log)`,
    );
    this.name = "LiveTailGapError";
  }
}

export class UniverseAuthority {
  readonly universe: UniverseRecord;
  private stateDoc: UniverseState;
  private headPosition: number;
  private durable: number;
  /** The state and head after every decided turn, acknowledged or not: the next command's. */
  private tentativeState: UniverseState;
  private tentativeHead: number;
  /** Decided turns waiting for the next live-store append, and those in the append in flight. */
  private proposed: Proposal[] = [];
  private appending: Proposal[] = [];
  /** Results of decided turns by client key and sequence, until acknowledged or refused. */
  private readonly awaiting = new Map<string, { turn: Turn; result: Promise<SubmitResult> }>();
  private idleWaiters: Array<() => void> = [];
  private readonly ledger = new SeqLedger();
  /** The canonical text of containers already written into a snapshot (see snapshotOf). */
  private readonly snapshotTexts = new CanonicalTexts();
  private readonly persister: Persister;
  private fenced: Error | null = null;
  private recent: Turn[] = [];
  private readonly holds = new TurnHolds();
  private listener: AuthorityListener | null = null;
  private teller: TellAtOnce | null = null;
  private lease_: Lease;
  /**
   * The lifecycle state of every run a turn acknowledged here (or in the live tail it opened with)
   * moved: ahead of the run records, which follow only persisted turns. A run not in it is as its
   * record says.
   */
  private readonly runStates = new Map<string, RunState>();
  /** Each position's dice, from the universe's secret (fair-dice.ts). */
  private dice: (position: number) => Random = () => {
    throw new Error("dice used before the universe was hydrated");
  };
  /** Once the secret is public anyone could predict a roll, so the universe rolls no more. */
  private diceRevealed = false;
  /** Callers waiting for a position to be persisted (see `whenPersisted`). */
  private persistWaiters: Array<{ position: number; resolve: () => void; reject: (error: Error) => void }> =
    [];
  /** The tail of the run-lifecycle queue (see `lifecycle`). */
  private lifecycleTail: Promise<unknown> = Promise.resolve();
  /** A token taken again that the lease ledger does not have yet (the database was down). */
  private unregistered: number | null = null;
  private recovering: Promise<LeaseOutcome> | null = null;
  private registering: Promise<boolean> | null = null;
  /** Given up (`retire`): the lease is never kept or taken again. */
  private retired = false;
  /** The ledger holds a newer token than this owner's: another owner took the universe. */
  private supplanted = false;
  /**
   * An append whose outcome is unknown (it timed out): until the stream is read back, nothing is
   * decided, since its turns may have landed at the positions a new command would take.
   */
  private uncertain: Proposal[] | null = null;

  private constructor(
    private readonly options: AuthorityOptions,
    state: UniverseState,
    head: number,
    persisted: number,
    sinceSnapshot: { turns: number; deltas: number },
  ) {
    this.universe = options.universe;
    this.lease_ = options.lease;
    this.stateDoc = state;
    this.headPosition = head;
    this.tentativeState = state;
    this.tentativeHead = head;
    this.durable = options.durableOnLiveAppend ? head : persisted;
    this.persister = new Persister({
      universeId: options.universe.id,
      writer: options.writer ?? options.turnStore,
      liveStore: options.liveStore,
      persistedThrough: persisted,
      sinceSnapshot,
      onPersisted: (through) => {
        options.health?.cleared(options.universe.id);
        this.wakePersistWaiters(through);
        if (!options.durableOnLiveAppend) this.markDurable(through);
        this.listener?.onPersisted?.(through);
      },
      onFenced: (error) => this.fence(error),
      onWriteFailed: (attempts, error) => options.health?.writeFailed(options.universe.id, attempts, error),
      budget: options.pendingBudget,
    });
  }

  /**
   * Loads the newest persisted state, replays the live store's tail that the TurnStore does not
   * have yet (turns a dead owner acknowledged), and queues that tail for persistence as it was
   * written. A tail written before a state version change replays in the current layout.
   */
  static async hydrate(options: AuthorityOptions): Promise<UniverseAuthority> {
    const { universe, turnStore, liveStore } = options;
    // the state's checksum left out: nothing here reads it, and on a large world it is a third of the open
    const latest = await turnStore
      .latestState(universe.id, { recheck: true, checksummed: false })
      .catch((error: unknown) => {
        // not one snapshot of the timeline is intact up to the head
        if (!(error instanceof ChecksumMismatchError)) throw error;
        options.health?.snapshotDamaged(universe.id, error.position);
        throw new DamagedSnapshotError(universe.id, error.position);
      });
    const damaged = latest.damagedSnapshots?.[0];
    if (damaged !== undefined) {
      options.health?.snapshotDamaged(universe.id, damaged);
      throw new DamagedSnapshotError(universe.id, damaged);
    }
    // the reads after the newest state do not depend on one another: at once, since a universe
    // opened after its owner died keeps its players waiting for every round trip of its open
    const [tailRead, [dice], recent] = await Promise.all([
      liveStore.readTail(universe.id, latest.position),
      turnStore.diceChain(universe.id),
      turnStore.turnsBetween(universe.id, Math.max(0, latest.position - 50), latest.position),
    ]);
    const written = tailRead.filter((turn) => turn.position > latest.position);
    const tail = written.map(upgradeTurn);
    let state = latest.state;
    let head = latest.position;
    for (const turn of tail) {
      if (turn.position !== head + 1) throw new LiveTailGapError(universe.id, head, turn.position);
      state = evolve(state, turn.deltas);
      head = turn.position;
    }
    // the snapshot the state was rebuilt from is the newest at or before its position
    const sinceSnapshot = { turns: latest.position - latest.fromSnapshot, deltas: 0 };
    const authority = new UniverseAuthority(options, state, head, latest.position, sinceSnapshot);
    if (!dice) throw new Error(`universe ${universe.id} has no dice`);
    authority.dice = diceFor(dice);
    authority.diceRevealed = dice.revealedAt !== null;
    authority.recent = [...recent, ...tail].slice(-200);
    if (written.length > 0) authority.persister.enqueue(written, []);
    // an undo its owner acknowledged but never wrote marks its target here, as it did there: the
    // target reads undone, may not be undone again, and is written so along with the undo
    for (const turn of tail) {
      const target = undoTargetOf(turn);
      if (target !== null) authority.markUndoneLocally(target);
    }
    for (const turn of authority.recent) authority.ledger.recordTurn(turn);
    for (const turn of tail) authority.noteLifecycle(turn);
    return authority;
  }

  get state(): UniverseState {
    return this.stateDoc;
  }
  get head(): number {
    return this.headPosition;
  }
  get durableThrough(): number {
    return this.durable;
  }
  get persistedThrough(): number {
    return this.persister.persistedThrough;
  }
  get pendingCount(): number {
    return this.persister.pendingCount;
  }
  get lease(): Lease {
    return this.lease_;
  }

  /**
   * Renews the lease, or takes it again when it lapsed and nobody else holds it (see
   * `recoverLease`). Called on the room's lease timer, every third of the TTL.
   */
  async keepLease(ttlMs: number): Promise<LeaseOutcome> {
    if (this.fenced || this.retired || this.supplanted) return "elsewhere";
    // a token taken again is registered beside the renewal: a database that hangs must not hold
    // the renewal back until the lock lapses (and is taken again, and again)
    const registered = this.registeredWithin(Math.min(1_000, ttlMs / 4));
    const renewed = await this.options.liveStore.renew(this.lease_, ttlMs);
    if (!(await registered)) return "elsewhere";
    if (renewed) return "kept";
    return this.recoverLease(ttlMs);
  }

  /**
   * Whether the ledger has not refused this owner's token: its answer if it comes within `ms`,
   * true otherwise (the registration goes on, and a later renewal reads its answer).
   */
  private async registeredWithin(ms: number): Promise<boolean> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const answer = await Promise.race([
      this.registerLease(),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), ms))),
    ]);
    clearTimeout(timer);
    return answer && !this.supplanted;
  }

  /**
   * Takes the lease again after it lapsed (an event loop or a Redis stalled past the TTL, a Redis
   * that restarted and forgot the lock) when nobody else holds it. Before any new append, the
   * acknowledged turns not yet persisted are read back from the stream and written again if the
   * stream lost them, so the live store holds them whatever happened to it. The database's
   * expected head and the stream's positions still fence a stale writer. "elsewhere": another
   * owner holds the universe, or wrote its stream.
   */
  recoverLease(ttlMs = this.options.leaseTtlMs ?? 10_000): Promise<LeaseOutcome> {
    this.recovering ??= this.takeLeaseAgain(ttlMs).finally(() => (this.recovering = null));
    return this.recovering;
  }

  private async takeLeaseAgain(ttlMs: number): Promise<LeaseOutcome> {
    const { liveStore } = this.options;
    const current = this.lease_;
    if (this.retired) return "elsewhere";
    const again = await liveStore.acquire(this.universe.id, current.owner, ttlMs, current.token);
    if (!again) return "elsewhere";
    if (this.retired) {
      await liveStore.release(again).catch(() => undefined);
      return "elsewhere";
    }
    if (again.token === current.token) return "kept";
    let restored: number;
    try {
      restored = await restoreToLiveStore(
        liveStore,
        again,
        this.persistedThrough,
        this.persister.pendingTurns(),
      );
    } catch (error) {
      if (!(error instanceof Error) || error.name !== "TurnOrderError") throw error;
      log.error(`universe ${this.universe.id}: its live stream holds turns this owner does not know`, {
        universeId: this.universe.id,
      });
      await liveStore.release(again).catch(() => undefined);
      return "elsewhere";
    }
    if (this.retired) {
      await liveStore.release(again).catch(() => undefined);
      return "elsewhere";
    }
    this.lease_ = again;
    this.unregistered = again.token;
    log.warn(
      `the lease on universe ${this.universe.id} lapsed; taken again (token ${again.token})` +
        (restored > 0
          ? `; ${restored} unpersisted turns were missing from the live stream and written again`
          : ""),
      { universeId: this.universe.id },
    );
    // retired meanwhile: the room released `lease_` or is about to; this one lets go too
    if ((await this.registeredWithin(Math.min(1_000, ttlMs / 4))) && !this.retired) return "taken";
    // or the newer owner's lock lapsed or was lost: it takes the lease again once this one lets go
    await liveStore.release(again).catch(() => undefined);
    return "elsewhere";
  }

  /**
   * Registers a token taken again in the lease ledger; false when a newer owner registered one.
   * One registration at a time: the renewals that pile up while the database hangs would otherwise
   * all send the same token once it answers, and every one after the first would find it
   * registered already (by this owner) and give the universe up.
   */
  private registerLease(): Promise<boolean> {
    this.registering ??= this.registerOnce().finally(() => (this.registering = null));
    return this.registering;
  }

  private async registerOnce(): Promise<boolean> {
    const token = this.unregistered;
    if (token === null || !this.options.leases) return true;
    try {
      if (!(await this.options.leases.register(this.universe.id, token))) {
        log.warn(`universe ${this.universe.id}: a newer lease than ${token} is registered; giving it up`, {
          universeId: this.universe.id,
        });
        this.supplanted = true;
        return false;
      }
      // a token taken again meanwhile is newer and still to be registered
      if (this.unregistered === token) this.unregistered = null;
    } catch {
      // the database is down: the ledger learns of the token on a later renewal
    }
    return true;
  }

  /**
   * The universe is being given up (its room closes, then releases the lease or leaves it to
   * lapse): a renewal still in flight must not take the lease again for an authority nothing
   * serves, which would keep the next owner waiting for it to lapse.
   */
  retire(): void {
    this.retired = true;
    this.persister.release();
    // its turns are its next owner's to write now: this process no longer counts it as failing
    this.options.health?.cleared(this.universe.id);
  }

  /** Another owner holds the universe now: this authority refuses everything. */
  get isFenced(): boolean {
    return this.fenced !== null;
  }

  /** Writes the turns not yet persisted back into the live stream where it lost them. */
  async restoreLiveStore(): Promise<number> {
    return restoreToLiveStore(
      this.options.liveStore,
      this.lease_,
      this.persistedThrough,
      this.persister.pendingTurns(),
    );
  }

  /** Whether every turn not yet persisted is in the live store, read back now. */
  async unpersistedInLiveStore(): Promise<boolean> {
    const missing = await missingFromLiveStore(
      this.options.liveStore,
      this.universe.id,
      this.persister.pendingTurns(),
    );
    return missing.length === 0;
  }

  /**
   * Nothing is left to persist and the universe is given up: the ledger records that this owner's
   * turns are all in the database, so a new owner may open it even over a live store that lost
   * its data.
   */
  async settle(): Promise<void> {
    if (!this.options.leases || this.pendingCount > 0 || this.unregistered !== null) return;
    await this.options.leases.settle(this.universe.id, this.lease_.token);
  }
  /** The most recent turns (up to 200), oldest first, including ones not yet persisted. */
  get recentTurns(): readonly Turn[] {
    return this.recent;
  }

  /**
   * Keeps, until released, the acknowledged turns not in the TurnStore or in the recent window
   * now, and every turn acknowledged from now on. An undo reading the turns before them from the
   * TurnStore takes a hold first: the recent window moves on while it reads, and the turns that
   * leave it meanwhile would otherwise be in neither what it read nor what is kept.
   */
  holdTurns(): TurnHold {
    const first = this.recent[0]?.position ?? this.headPosition + 1;
    // the database may lag further behind than the window reaches (it is down, or slow)
    const unwritten = this.persister.pendingTurns().filter((turn) => turn.position < first);
    return this.holds.take(unwritten[0]?.position ?? first, [...unwritten, ...this.recent]);
  }

  /**
   * The recent turns and, after them, those decided but not yet acknowledged (the turns they undo
   * marked so): the timeline the next command is decided against, as a default undo target must
   * be, or "my latest turn" sent right after an act would name the turn before it.
   */
  get decidedTurns(): readonly Turn[] {
    return this.timelineAhead();
  }

  /**
   * A telling the table has heard end. The recent window shows it at once, so that a member
   * seated again before it is written gets its end with `recent`, as the others heard it; a turn
   * still waiting to be persisted is written with it. False when the turn is being written or was
   * written already: the caller records it in the store.
   */
  attachNarration(position: number, narration: Narration): boolean {
    this.noteNarration(position, narration);
    return this.persister.attachNarration(position, narration);
  }

  /** The recent window shows a turn's narration once told (members joining get it with `recent`). */
  noteNarration(position: number, narration: Narration): void {
    const index = this.recent.findIndex((turn) => turn.position === position);
    const turn = this.recent[index];
    if (turn && turn.narration === null) this.recent[index] = { ...turn, narration };
  }

  /** The recent window shows a retelling recorded on a turn, after the tellings it already has. */
  noteRetelling(position: number, telling: Telling): void {
    const index = this.recent.findIndex((turn) => turn.position === position);
    const turn = this.recent[index];
    if (!turn?.narration) return;
    const retellings = [...(turn.narration.retellings ?? []), telling];
    this.recent[index] = { ...turn, narration: { ...turn.narration, retellings } };
  }

  /** Resolves once the turn at `position` is in the TurnStore; rejects if this owner is fenced. */
  whenPersisted(position: number): Promise<void> {
    if (position <= this.persistedThrough) return Promise.resolve();
    if (this.fenced) return Promise.reject(this.fenced);
    return new Promise((resolve, reject) => this.persistWaiters.push({ position, resolve, reject }));
  }

  private wakePersistWaiters(through: number): void {
    if (this.persistWaiters.length === 0) return;
    const waiting: typeof this.persistWaiters = [];
    for (const waiter of this.persistWaiters) {
      if (waiter.position <= through) waiter.resolve();
      else waiting.push(waiter);
    }
    this.persistWaiters = waiting;
  }

  /** From now on no turn of this universe rolls dice: its secret is about to be made public. */
  sealDice(): void {
    this.diceRevealed = true;
  }

  /** A run's lifecycle state as of the latest acknowledged turn. */
  runState(run: { id: string; state: RunState }): RunState {
    return this.runStates.get(run.id) ?? run.state;
  }

  /**
   * A run's lifecycle state after every turn decided so far, acknowledged or not: an act decided
   * after the turn that ends or pauses its run is refused, as it is once that turn is acknowledged
   * (decided before, it would be acknowledged after the end, and counted in the ended run).
   */
  private decidedRunState(runId: string): RunState | undefined {
    // at a quiet table nothing waits: the acknowledged state is the decided one
    if (this.appending.length === 0 && this.proposed.length === 0) return this.runStates.get(runId);
    const ahead = [...this.appending, ...this.proposed];
    const targetOf = (position: number) =>
      ahead.find((proposal) => proposal.turn.position === position)?.turn ??
      this.recent.findLast((turn) => turn.position === position);
    for (let i = ahead.length - 1; i >= 0; i--) {
      const effect = lifecycleEffect(ahead[i]!.turn, targetOf);
      if (effect?.runId === runId) return effect.state;
    }
    return this.runStates.get(runId);
  }

  private noteLifecycle(turn: Turn): void {
    const effect = lifecycleEffect(turn, (position) => this.recent.findLast((t) => t.position === position));
    if (effect) this.runStates.set(effect.runId, effect.state);
  }

  /**
   * Runs lifecycle changes (join, pause, resume, complete, abandon) one at a time: each reads the
   * run's state (`runState`), decides and submits its turn before the next one reads it, so two
   * concurrent completions cannot both pass the check.
   */
  lifecycle<T>(change: () => Promise<T>): Promise<T> {
    const result = this.lifecycleTail.then(change);
    this.lifecycleTail = result.catch(() => undefined);
    return result;
  }

  /** The room that serves this universe listens for turns and durability marks. */
  setListener(listener: AuthorityListener | null): void {
    this.listener = listener;
  }

  /**
   * Who tells a turn's prose as it is made (see TellAtOnce); null: every turn is made without.
   */
  setTeller(teller: TellAtOnce | null): void {
    this.teller = teller;
  }

  /**
   * Decides a command at once, against the state after every turn decided before it, and
   * resolves when its turn is acknowledged (appended to the live store) or refused. At most one
   * live-store append is in flight per universe; the turns decided meanwhile go out together in
   * the next one, and are acknowledged in timeline order. When an append fails, its turns and
   * every turn decided after them (on a state that included them) are refused, and the universe
   * goes back to its last acknowledged state.
   */
  submit(asked: SubmitRequest): Promise<SubmitResult> {
    try {
      const request = concealedIfHidden(asked);
      const refused = this.screen(request);
      if (refused) return refused;
      return this.propose(request);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  /** Whether a client message is one this universe has taken already (waiting or applied): its retry. */
  isRetry(client: { key: string; seq: number }): boolean {
    return (
      this.awaiting.has(clientKey(client.key, client.seq)) ||
      this.ledger.lookup(client.key, client.seq) !== undefined
    );
  }

  /** Answers without deciding: a moved universe, a retried message, a closed run. */
  private screen(request: SubmitRequest): Promise<SubmitResult> | null {
    if (this.fenced) return refusal(RejectionCode.Unavailable, NOT_SERVED_HERE);
    if (this.uncertain && !request.client)
      return refusal(RejectionCode.Unavailable, "the write-ahead log does not answer; try again");
    if (request.client) {
      const { key, seq } = request.client;
      const awaited = this.awaiting.get(clientKey(key, seq));
      // the same seq with another command while the first is in flight is no retry of it
      if (awaited && !retriedAsMade(awaited.turn, request.command)) return seqReused(seq, awaited.turn);
      if (awaited)
        return awaited.result.then((result) => (result.ok ? { ...result, duplicate: true } : result));
      const previous = this.ledger.lookup(key, seq);
      if (previous === "stale")
        return refusal(RejectionCode.StalePosition, `sequence ${seq} is older than one already applied`);
      if (previous !== undefined) return this.duplicateOf(previous, request);
      if (this.uncertain)
        return refusal(RejectionCode.Unavailable, "the write-ahead log does not answer; try again");
    }
    // The server's own turns count too (a session's markers, a character added or a run resumed at
    // a join, a run paused or ended over HTTP): each follows from something a client did, and a
    // player joining and leaving in a loop would otherwise grow memory without bound while the
    // database is down. Such a turn is refused before it is decided, never dropped after: what is
    // acknowledged is persisted. A session whose start is refused is played without its marker
    // (PlaySessions logs it); one whose end is refused stays open in the records until the run's
    // next session ends or the universe's next owner closes it as interrupted.
    const full = this.pendingRefusal();
    if (full) return full;
    const opposed =
      opposedDifficultyRefusal(request.actor, request.command) ??
      hiddenRollRefusal(request.command) ??
      choiceFlagRefusal(this.tentativeState, request.command) ??
      fullSceneRefusal(this.tentativeState, request.command) ??
      freeInvokeRefusal(this.tentativeState, request.actor, request.command);
    if (opposed) return Promise.resolve({ ok: false, rejection: opposed });
    if (request.runId) {
      const state = this.decidedRunState(request.runId) ?? "active";
      const refused = runActivityRefusal(request.actor, state, request.command);
      if (refused) return Promise.resolve({ ok: false, rejection: refused });
    }
    return null;
  }

  /** A refusal while this universe's or the process's turns waiting for the database are at their bound. */
  private pendingRefusal(): Promise<SubmitResult> | null {
    const most = this.options.maxPendingTurns ?? Number.POSITIVE_INFINITY;
    if (this.pendingCount >= most)
      return refusal(
        RejectionCode.Unavailable,
        `${this.pendingCount} turns are waiting for the database; try again once it takes them`,
      );
    const budget = this.options.pendingBudget;
    if (budget?.full)
      return refusal(
        RejectionCode.Unavailable,
        `${budget.count} turns of this server's universes are waiting for the database; ` +
          "try again once it takes them",
      );
    return null;
  }

  /**
   * The answer to a retried message whose turn is acknowledged: that turn, from the recent turns,
   * the ones waiting to be persisted, or the TurnStore.
   */
  private async duplicateOf(position: number, request: SubmitRequest): Promise<SubmitResult> {
    const kept =
      this.recent.findLast((turn) => turn.position === position) ?? this.persister.pendingTurn(position);
    const turn = kept ?? (await this.options.turnStore.getTurn(this.universe.id, position));
    if (!turn)
      return refusal(RejectionCode.Unavailable, `turn ${position} cannot be read back now; try again`);
    if (!retriedAsMade(turn, request.command)) return seqReused(request.client!.seq, turn);
    return { ok: true, turn, duplicate: true };
  }

  private propose(request: SubmitRequest): Promise<SubmitResult> {
    const position = this.tentativeHead + 1;
    const now = (this.options.clock ?? (() => new Date()))().toISOString();
    const { earlier } = request;
    const timeline = earlier
      ? behindRecent([...earlier.stored, ...earlier.held.turns], this.timelineAhead())
      : this.timelineAhead();
    if (!timeline)
      return refusal(
        RejectionCode.Unavailable,
        "the turns since the one to undo could not all be read; try again",
      );
    const ctx = { position, now, random: this.dice(position), actor: request.actor, timeline };
    const decision = decide(this.tentativeState, request.command, ctx);
    if (isRejection(decision)) return Promise.resolve({ ok: false, rejection: decision });
    // after the rules, so that a turn not the player's, or already undone, is refused as it was
    const target = decision.undoes;
    const undone = target === undefined ? undefined : ctx.timeline.find((turn) => turn.position === target);
    const refused = undone && undoRefusal(request.actor, undone);
    if (refused) return Promise.resolve({ ok: false, rejection: refused });
    if (decision.resolution && this.diceRevealed) {
      return refusal(
        RejectionCode.DiceRevealed,
        "this universe's dice secret has been revealed, so it rolls no more dice; branch it to play on",
      );
    }

    const turn = this.buildTurn(request, decision, position, now);
    let state: UniverseState;
    try {
      state = evolve(this.tentativeState, decision.deltas);
    } catch (error) {
      // decide promised deltas that apply; one that does not is refused here, never acknowledged
      if (!(error instanceof DeltaError)) throw error;
      log.error(`a ${request.command.kind} decision for ${this.universe.id} does not apply`, {
        universeId: this.universe.id,
        err: error,
      });
      const code = error.code === "invalid_value" ? RejectionCode.InvalidValue : RejectionCode.InvalidAction;
      return refusal(code, `the turn does not apply: ${error.message}`);
    }
    const unrecordable = unrecordableRefusal(request.command, decision, state);
    if (unrecordable) return Promise.resolve({ ok: false, rejection: unrecordable });
    turn.narration = this.tellAtOnce(turn, state);
    this.tentativeState = state;
    this.tentativeHead = position;
    const result = new Promise<SubmitResult>((resolve) => {
      this.proposed.push({ turn, state, undoes: decision.undoes, resolve });
    });
    if (request.client) {
      const key = clientKey(request.client.key, request.client.seq);
      this.awaiting.set(key, { turn, result });
      void result.then(() => this.awaiting.delete(key));
    }
    this.appendNext();
    return result;
  }

  /**
   * The turn's prose, when its teller tells at once. A teller that fails leaves the turn untold
   * (it is told after its acknowledgement, like a model's): a turn is never refused for its prose.
   */
  private tellAtOnce(turn: Turn, state: UniverseState): Narration | null {
    if (!this.teller) return null;
    try {
      return this.teller(turn, state);
    } catch (error) {
      log.error(`telling turn ${turn.position} of ${this.universe.id} as it was made failed`, {
        universeId: this.universe.id,
        err: error,
      });
      return null;
    }
  }

  /** The recent turns with the decided but unacknowledged ones after them, as undo must see them. */
  private timelineAhead(): Turn[] {
    const ahead = [...this.appending, ...this.proposed];
    if (ahead.length === 0) return this.recent;
    const undone = new Set(
      ahead.flatMap((proposal) => (proposal.undoes === undefined ? [] : [proposal.undoes])),
    );
    const timeline = [...this.recent, ...ahead.map((proposal) => proposal.turn)];
    return undone.size === 0
      ? timeline
      : timeline.map((turn) => (undone.has(turn.position) ? { ...turn, status: "undone" as const } : turn));
  }

  /** Starts the next live-store append unless one is in flight. */
  private appendNext(): void {
    if (this.appending.length > 0 || this.proposed.length === 0 || this.uncertain) return;
    const batch = this.proposed;
    this.proposed = [];
    if (this.fenced) {
      this.refuseAhead(batch, NOT_SERVED_HERE);
      return;
    }
    this.appending = batch;
    this.options.liveStore
      .appendTurns(
        this.lease_,
        batch.map((proposal) => proposal.turn),
      )
      .then(
        () => {
          this.appending = [];
          faults.recovered("live-store");
          // Acknowledgement point: the turns are in the write-ahead log, so now part of the timeline.
          for (const proposal of batch) this.acknowledge(proposal);
          this.appendNext();
          this.notifyIdle();
        },
        (error: unknown) => {
          this.appending = [];
          this.appendFailed(batch, error);
        },
      );
  }

  /**
   * A stale lease, or a stream that already holds these positions, means this authority no longer
   * knows the log: it stops serving, and the universe is opened again from the TurnStore and the
   * stream. The stream runs ahead when an append that reported an error had in fact landed; the
   * universe opened again includes that turn, and a retry with the same client sequence number
   * gets it back instead of applying it twice. Any other error leaves the universe serving: the
   * next append tells which case it was.
   */
  private appendFailed(batch: Proposal[], error: unknown): void {
    const first = batch[0]!.turn.position;
    const name = error instanceof Error ? error.name : "";
    if (name === "FencedError") {
      // the lock is not this lease's: taken by another owner, or lapsed (then taken again here)
      this.refuseAhead(batch, "the universe's lease is being renewed; try again");
      void this.recoverLease().then(
        (outcome) => outcome === "elsewhere" && this.fence(error as Error),
        (failure: unknown) =>
          log.warn(`taking the lease on ${this.universe.id} again failed`, {
            universeId: this.universe.id,
            err: failure,
          }),
      );
      return;
    }
    if (name === "TurnOrderError") {
      log.warn(`the live stream of ${this.universe.id} is ahead of turn ${first}; opening it again`, {
        universeId: this.universe.id,
      });
      this.fence(error as Error);
      this.refuseAhead(batch, NOT_SERVED_HERE);
      return;
    }
    const turns = batch.length === 1 ? `turn ${first}` : `turns ${first}–${first + batch.length - 1}`;
    faults.failed("live-store", error, { universeId: this.universe.id, turns: batch.length });
    log.debug(`appending ${turns} of ${this.universe.id} to the live store failed`, {
      universeId: this.universe.id,
    });
    this.uncertain = batch;
    this.refuseAhead(batch, "the write-ahead log did not confirm the turn; try again");
    void this.reconcile(batch);
  }

  /**
   * After an append whose outcome is unknown, reads the stream back (on the same connection, so
   * after the append itself if it was sent at all) until the store answers. Turns of `batch` that
   * landed are kept as acknowledged: they are in the log, so they are part of the timeline, and a
   * retry with the same client sequence number gets them back instead of applying them again. A
   * stream holding anything else belongs to another writer: the universe opens again from it.
   */
  private async reconcile(batch: Proposal[]): Promise<void> {
    for (let attempt = 0; !this.fenced; attempt++) {
      let landed: Turn[];
      try {
        landed = await this.options.liveStore.readTail(this.universe.id, this.headPosition);
      } catch {
        await new Promise((resolve) => setTimeout(resolve, Math.min(1_000, 100 * 2 ** attempt)));
        continue;
      }
      const ours = new Map(batch.map((proposal) => [proposal.turn.id, proposal]));
      for (const turn of landed) {
        const proposal = ours.get(turn.id);
        if (!proposal || turn.position !== this.headPosition + 1) {
          this.uncertain = null;
          this.notifyIdle();
          log.warn(
            `the live stream of ${this.universe.id} holds turns this owner did not write; opening it again`,
            { universeId: this.universe.id },
          );
          this.fence(
            new Error(`the live stream of ${this.universe.id} is ahead of turn ${this.headPosition}`),
          );
          return;
        }
        this.acknowledge(proposal); // its sender was told `unavailable`; a retry gets the turn
      }
      if (landed.length > 0)
        log.info(
          `universe ${this.universe.id}: ${landed.length} turns whose append timed out had landed; kept`,
          { universeId: this.universe.id },
        );
      this.uncertain = null;
      this.tentativeState = this.stateDoc;
      this.tentativeHead = this.headPosition;
      this.appendNext();
      this.notifyIdle();
      return;
    }
  }

  /**
   * Refuses `batch` and every turn decided after it, and goes back to the last acknowledged
   * state: those turns were decided on a state that included the refused ones.
   */
  private refuseAhead(batch: Proposal[], message: string): void {
    const refused = [...batch, ...this.proposed];
    this.proposed = [];
    this.tentativeState = this.stateDoc;
    this.tentativeHead = this.headPosition;
    for (const proposal of refused)
      proposal.resolve({ ok: false, rejection: reject(RejectionCode.Unavailable, message) });
    this.notifyIdle();
  }

  private acknowledge({ turn, state, undoes, resolve }: Proposal): void {
    this.stateDoc = state;
    this.headPosition = turn.position;
    this.recent.push(turn);
    if (this.recent.length > 200) this.recent.splice(0, this.recent.length - 200);
    this.holds.acknowledged(turn);
    this.ledger.recordTurn(turn);
    this.persister.enqueue([turn], this.snapshotsFor(turn, state, turn.createdAt));
    if (undoes !== undefined) this.markUndoneLocally(undoes);
    this.noteLifecycle(turn);
    if (this.options.durableOnLiveAppend) this.markDurable(turn.position);
    try {
      this.listener?.onTurn?.(turn, state);
    } catch (error) {
      log.error(`a listener failed on turn ${turn.position} of ${this.universe.id}`, {
        universeId: this.universe.id,
        err: error,
      });
    }
    resolve({ ok: true, turn, duplicate: false });
  }

  /**
   * Resolves once every command decided so far is acknowledged or refused: `state` then includes
   * whatever they did. A command refused because of one still waiting (adding a character a
   * concurrent join is adding) reads the outcome here.
   */
  settled(): Promise<void> {
    if (this.appending.length === 0 && this.proposed.length === 0 && !this.uncertain)
      return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private notifyIdle(): void {
    if (this.appending.length > 0 || this.proposed.length > 0 || this.uncertain) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const wake of waiters) wake();
  }

  private buildTurn(request: SubmitRequest, decision: Decision, position: number, now: string): Turn {
    const input: Record<string, unknown> = { ...request.command };
    if (request.client) {
      input.clientKey = request.client.key;
      input.seq = request.client.seq;
    }
    const characterId =
      request.characterId ?? ("characterId" in request.command ? request.command.characterId : null);
    return {
      universeId: this.universe.id,
      position,
      id: this.options.newId(),
      runId: request.runId ?? null,
      characterId,
      playerId: request.actor.playerId,
      actor: request.actor.kind,
      kind: decision.kind,
      input,
      resolution: decision.resolution,
      events: decision.events,
      deltas: decision.deltas,
      status: "applied",
      narration: null,
      createdAt: now,
    };
  }

  /**
   * The snapshot due after an acknowledged turn, if any. Never throws: the turn is in the
   * write-ahead log already, and a snapshot that cannot be encoded (decide refuses the turns that
   * would make one) is reported and left for the next one rather than wedging the acknowledgements.
   */
  private snapshotsFor(turn: Turn, state: UniverseState, now: string): PartedSnapshot[] {
    const since = this.persister.noteTurn(turn);
    const reason = snapshotDue({
      position: turn.position,
      kind: turn.kind,
      events: turn.events,
      turnsSinceSnapshot: since.turns,
      deltasSinceSnapshot: since.deltas,
    });
    if (!reason) return [];
    try {
      const snapshot = this.snapshotOf(turn.position, state, reason, now);
      this.persister.resetSinceSnapshot();
      return [snapshot];
    } catch (error) {
      log.error(`the state of ${this.universe.id} at turn ${turn.position} cannot be snapshotted`, {
        universeId: this.universe.id,
        err: error,
      });
      this.options.health?.snapshotFailed(this.universe.id);
      return [];
    }
  }

  /**
   * The snapshot as the store writes it: the canonical JSON its checksum is taken of, cut around
   * its parts (snapshot-parts.ts). States follow one another by copy on write (evolve), so two
   * snapshots a hundred turns apart share most of their containers: their text is kept
   * (`CanonicalTexts`) and only what changed is written again, and the store keeps each part once.
   * The state is frozen first, so a container whose text is kept can never change under it; an
   * attempt to change one in place throws instead of writing a stale snapshot.
   */
  private snapshotOf(
    position: number,
    state: UniverseState,
    reason: SnapshotReason,
    createdAt: string,
  ): PartedSnapshot {
    const { parts, checksum } = partedState(freezeShared(state), this.snapshotTexts);
    return { universeId: this.universe.id, position, stateParts: parts, checksum, reason, createdAt };
  }

  private markUndoneLocally(position: number): void {
    const index = this.recent.findIndex((turn) => turn.position === position);
    const target = this.recent[index];
    // a copy: the turn may still be waiting to be written, and is written (and its run's records
    // projected) as it was acknowledged; the undo turn and the mark take it back
    if (target) this.recent[index] = { ...target, status: "undone" };
    this.persister.markUndone(position);
  }

  /**
   * Writes pending turns and due snapshots to the TurnStore (called on room ticks). Resolves once
   * the turns acknowledged before the call are written, or a write failed: a write already under
   * way carries none of those since it began, and the one after it does.
   */
  async flush(): Promise<void> {
    const head = this.headPosition;
    await this.persister.flush();
    if (this.persister.persistedThrough < head) await this.persister.flush();
  }

  /**
   * Flushes until the turns through `position` are persisted, or the deadline passes (the
   * database is down): whether they are. Records that follow the timeline are then up to date.
   */
  async persistedTo(position: number, deadlineMs = 5_000): Promise<boolean> {
    const deadline = Date.now() + deadlineMs;
    while (this.persister.persistedThrough < position) {
      if (this.fenced || Date.now() > deadline) return false;
      await this.persister.flush();
      if (this.persister.persistedThrough < position) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return true;
  }

  /** Flushes until nothing is pending or the deadline passes; used at shutdown. */
  async drain(deadlineMs = 10_000): Promise<boolean> {
    const started = Date.now();
    // a live-store append that never answers must not hold a shutdown past its deadline
    let timer: ReturnType<typeof setTimeout> | undefined;
    const settled = await Promise.race([
      this.settled().then(() => true),
      new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), deadlineMs))),
    ]);
    clearTimeout(timer);
    if (!settled) return false;
    return this.persister.drain(Math.max(0, deadlineMs - (Date.now() - started)));
  }

  /** A manual snapshot of the current state, written with the next flush. */
  requestSnapshot(): number {
    this.persister.enqueue(
      [],
      [this.snapshotOf(this.headPosition, this.stateDoc, "manual", new Date().toISOString())],
    );
    this.persister.resetSinceSnapshot();
    return this.headPosition;
  }

  private markDurable(through: number): void {
    if (through <= this.durable) return;
    this.durable = through;
    this.listener?.onDurable?.(through);
  }

  private fence(error: Error): void {
    if (this.fenced) return;
    this.fenced = error;
    for (const waiter of this.persistWaiters) waiter.reject(error);
    this.persistWaiters = [];
    this.listener?.onFenced?.(error);
  }
}

/**
 * Whether a retried message carries the command its turn was made from. An undo is left out: one
 * without a position names the latest turn when it is made, which a retry after it is no more.
 */
function seqReused(seq: number, turn: Turn): Promise<SubmitResult> {
  return refusal(
    RejectionCode.IdempotencyKeyReused,
    `sequence ${seq} was already used for another command (turn ${turn.position}); send a new one with a new seq`,
  );
}

function retriedAsMade(turn: Turn, command: SubmitRequest["command"]): boolean {
  if (command.kind === "undo") return true;
  const { clientKey: _key, seq: _seq, ...made } = turn.input;
  return canonicalJson(made) === canonicalJson(command);
}

/**
 * The recent turns preceded by `earlier` (read and kept before, so perhaps overlapping them), with
 * every earlier turn an undo since targets marked undone: the store may not have that undo yet, and
 * a turn kept was kept as it was made. Null when a turn between the first earlier one and the
 * recent ones is missing: an undo decided without it could invert what it overwrote.
 */
function behindRecent(earlier: readonly Turn[], recent: readonly Turn[]): Turn[] | null {
  const first = recent[0]?.position ?? Number.POSITIVE_INFINITY;
  const older = earlier.filter((turn) => turn.position < first);
  const last = older.at(-1);
  if (!last) return [...recent];
  if (older.some((turn, i) => i > 0 && turn.position !== older[i - 1]!.position + 1)) return null;
  if (recent.length > 0 && last.position !== first - 1) return null;
  const undone = new Set<number>();
  for (const turn of [...older, ...recent]) {
    const target = turn.input.targetPosition;
    if (turn.kind === "undo" && typeof target === "number") undone.add(target);
  }
  const marked = older.map((turn) =>
    turn.status !== "undone" && undone.has(turn.position) ? { ...turn, status: "undone" as const } : turn,
  );
  return [...marked, ...recent];
}

/**
 * A hidden roll is decided and recorded concealed: its effects on the world everyone reads are
 * withheld (rules/action-effects.ts). The mark is recorded with the roll's input, so a roll
 * recorded before it re-executes as it was decided. The server alone sets it: a roll in the open
 * sent with it is recorded without.
 */
function concealedIfHidden(request: SubmitRequest): SubmitRequest {
  const { command } = request;
  if (command.kind !== "action" || command.hidden === (command.concealed === true)) return request;
  if (command.hidden) return { ...request, command: { ...command, concealed: true } };
  const { concealed: _sent, ...open } = command;
  return { ...request, command: open };
}
