import type { Narration, Turn } from "@loom/shared";
import type { LiveStore } from "../live/live-store.ts";
import { AppendConflictError, type SnapshotWrite, type TurnStore } from "../persist/turn-store.ts";
import { log } from "../log.ts";
import { faults } from "../fault-log.ts";
import type { PendingBudget } from "./pending-budget.ts";

export interface PersisterOptions {
  universeId: string;
  /** The TurnStore, or a GroupCommit in front of it. */
  writer: Pick<TurnStore, "appendTurns">;
  liveStore: LiveStore;
  persistedThrough: number;
  sinceSnapshot: { turns: number; deltas: number };
  onPersisted(through: number): void;
  /** The TurnStore's head moved under us: another process wrote this universe. */
  onFenced(error: Error): void;
  /** A write failed and will be retried (`attempts` in a row so far). */
  onWriteFailed?(attempts: number, error: unknown): void;
  /** The process's count of waiting turns, which this persister's turns are part of. */
  budget?: PendingBudget;
}

/**
 * The longest wait between two writes of a failing universe: once the database is back, its
 * backlog starts going out within this (times a jitter of 0.5–1). A retry against a database that
 * is down fails at once, and a process's universes retry together in one group (group-commit.ts).
 */
const MAX_BACKOFF_MS = 2_000;
/**
 * Most turns one write carries. After an outage the backlog goes out in writes of this size, one
 * after another, rather than all of it in one transaction resent whole at every retry.
 */
export const MAX_WRITE_TURNS = 1_000;

/**
 * Writes a universe's pending turns (and due snapshots, and undo marks) to the TurnStore in one
 * transaction per flush, then trims the live store's write-ahead stream. A failed write keeps
 * everything pending and retries with exponential backoff; play goes on meanwhile.
 */
export class Persister {
  private pending: Turn[] = [];
  private snapshots: SnapshotWrite[] = [];
  private undone: number[] = [];
  private through: number;
  private inFlight: Promise<void> | null = null;
  /** How many of the first pending turns the write in flight carries. */
  private writing = 0;
  /** A flush was asked for while a write was in flight. */
  private flushAgain = false;
  private failures = 0;
  private retryAt = 0;
  private since: { turns: number; deltas: number };
  /** Given up (`release`): its turns no longer count toward the process's budget. */
  private released = false;

  constructor(private readonly options: PersisterOptions) {
    this.through = options.persistedThrough;
    this.since = { ...options.sinceSnapshot };
  }

  get persistedThrough(): number {
    return this.through;
  }
  get pendingCount(): number {
    return this.pending.length;
  }

  /** The turns still waiting to be written (the write in flight included), oldest first. */
  pendingTurns(): readonly Turn[] {
    return this.pending.slice();
  }

  /** A turn still waiting to be written, by position. */
  pendingTurn(position: number): Turn | undefined {
    const first = this.pending[0];
    const turn = first ? this.pending[position - first.position] : undefined;
    return turn?.position === position ? turn : undefined;
  }

  /**
   * Gives a pending turn its narration before it is written, so the insert carries it and no
   * update follows. False when the turn is in the write in flight or no longer pending.
   */
  attachNarration(position: number, narration: Narration): boolean {
    const first = this.pending[0];
    if (!first) return false;
    const index = position - first.position;
    const turn = this.pending[index];
    if (index < this.writing || turn?.position !== position || turn.narration !== null) return false;
    // a copy: the turn object itself went out in the ack and the broadcast
    this.pending[index] = { ...turn, narration };
    return true;
  }

  enqueue(turns: Turn[], snapshots: SnapshotWrite[]): void {
    this.pending.push(...turns);
    this.snapshots.push(...snapshots);
    if (!this.released) this.options.budget?.add(turns.length);
  }

  /**
   * The universe is handed to its next owner, which writes what is still pending here: it no
   * longer counts toward this process's waiting turns.
   */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.options.budget?.remove(this.pending.length);
  }

  markUndone(position: number): void {
    this.undone.push(position);
  }

  /** Counts a turn toward the snapshot policy and returns the counts since the last snapshot. */
  noteTurn(turn: Turn): { turns: number; deltas: number } {
    this.since.turns += 1;
    this.since.deltas += turn.deltas.length;
    return this.since;
  }

  resetSinceSnapshot(): void {
    this.since = { turns: 0, deltas: 0 };
  }

  /**
   * Writes what is pending. A flush asked for while a write is in flight is not dropped: the next
   * write starts as soon as that one ends, with everything that arrived meanwhile, instead of
   * waiting for the tick after. Under load the writes run back to back and grow with the load.
   */
  flush(): Promise<void> {
    if (this.inFlight) {
      this.flushAgain = true;
      return this.inFlight;
    }
    if (this.pending.length === 0 && this.snapshots.length === 0 && this.undone.length === 0)
      return Promise.resolve();
    if (Date.now() < this.retryAt) return Promise.resolve();
    this.inFlight = this.write().finally(() => {
      this.inFlight = null;
      if (this.flushAgain) {
        this.flushAgain = false;
        void this.flush();
      }
    });
    return this.inFlight;
  }

  async drain(deadlineMs: number): Promise<boolean> {
    const deadline = Date.now() + deadlineMs;
    while (this.pending.length > 0 || this.snapshots.length > 0 || this.undone.length > 0) {
      if (Date.now() > deadline) return false;
      this.retryAt = Math.min(this.retryAt, Date.now());
      await this.flush();
      if (this.failures > 0) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return true;
  }

  private async write(): Promise<void> {
    const turns = this.pending.slice(0, MAX_WRITE_TURNS);
    const last = turns.length > 0 ? turns[turns.length - 1]!.position : this.through;
    // a snapshot past this write waits for the write that carries its position; undo marks go
    // with the write that carries every pending turn (the undo turns among them)
    const snapshots = this.snapshots.filter((snapshot) => snapshot.position <= last);
    const undone = turns.length === this.pending.length ? this.undone.slice() : [];
    this.writing = turns.length;
    try {
      await this.options.writer.appendTurns(this.options.universeId, {
        expectedHead: this.through,
        turns,
        snapshots,
        undone,
      });
    } catch (error) {
      this.writing = 0;
      if (error instanceof AppendConflictError) {
        this.options.onFenced(error);
        return;
      }
      this.failures += 1;
      // with jitter: the universes of a process (and of every process) that failed together
      // do not all retry in the same instant when the database comes back
      const backoff = Math.min(MAX_BACKOFF_MS, 100 * 2 ** (this.failures - 1));
      this.retryAt = Date.now() + backoff * (0.5 + Math.random() / 2);
      // logged once per outage, not per universe and retry (fault-log.ts); the turns stay in the live store
      faults.failed("database", error, { universeId: this.options.universeId, turns: this.pending.length });
      this.options.onWriteFailed?.(this.failures, error);
      return;
    }
    faults.recovered("database", this.options.universeId);
    this.failures = 0;
    this.retryAt = 0;
    this.writing = 0;
    this.pending.splice(0, turns.length);
    if (!this.released) this.options.budget?.remove(turns.length);
    this.snapshots = this.snapshots.filter((snapshot) => !snapshots.includes(snapshot));
    this.undone.splice(0, undone.length);
    this.through = last;
    // a backlog longer than one write: the next one goes at once
    if (this.pending.length > 0) this.flushAgain = true;
    // flush() is called without waiting for it (ticks, batches): it must never reject
    try {
      this.options.onPersisted(last);
    } catch (error) {
      log.error(`a listener failed after ${this.options.universeId} persisted through ${last}`, {
        err: error,
        universeId: this.options.universeId,
      });
    }
    try {
      await this.options.liveStore.trim(this.options.universeId, last);
    } catch (error) {
      // Harmless: hydration skips stream entries the TurnStore already has.
      log.warn(`trimming the live stream of ${this.options.universeId} failed`, {
        err: error,
        universeId: this.options.universeId,
      });
    }
  }
}
