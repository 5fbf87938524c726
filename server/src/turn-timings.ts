import { performance } from "node:perf_hooks";

/** Where a universe's timings go (PrometheusMetrics' histograms and counter, in seconds). */
export interface TimingSink {
  turn(kind: string): void;
  ack(seconds: number): void;
  durable(seconds: number): void;
  persisted(seconds: number): void;
}

interface Pending {
  position: number;
  ackedAt: number;
  /** When the `act` that made the turn arrived; null for turns no act made (joins, undo…). */
  receivedAt: number | null;
  durableSeen: boolean;
}

/** Past this many turns waiting for the database, the oldest are no longer timed. */
const MAX_PENDING = 100_000;

/**
 * One universe's turns between acknowledgement and the database: times each `act` to its ack, to
 * durable and to persisted, and tells how far persistence lags. Turns arrive in position order,
 * so the pending ones form a queue that the persisted mark empties from the front.
 */
export class TurnTimings {
  private pending: Pending[] = [];
  private head = 0;
  private durableThrough = 0;

  constructor(
    private readonly sink: TimingSink,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** A turn was acknowledged (any kind). */
  turn(position: number, kind: string): void {
    this.sink.turn(kind);
    if (this.pending.length - this.head >= MAX_PENDING) this.head += 1;
    this.pending.push({ position, ackedAt: this.now(), receivedAt: null, durableSeen: false });
  }

  /** The `act` received at `receivedAt` made the turn at `position`, acknowledged just now. */
  acted(position: number, receivedAt: number): void {
    const at = this.now();
    this.sink.ack((at - receivedAt) / 1000);
    for (let i = this.pending.length - 1; i >= this.head; i--) {
      const entry = this.pending[i]!;
      if (entry.position < position) return;
      if (entry.position !== position) continue;
      entry.receivedAt = receivedAt;
      if (position <= this.durableThrough) {
        entry.durableSeen = true;
        this.sink.durable((at - receivedAt) / 1000);
      }
      return;
    }
  }

  durable(through: number): void {
    if (through <= this.durableThrough) return;
    this.durableThrough = through;
    const at = this.now();
    for (let i = this.head; i < this.pending.length; i++) {
      const entry = this.pending[i]!;
      if (entry.position > through) break;
      if (entry.durableSeen || entry.receivedAt === null) continue;
      entry.durableSeen = true;
      this.sink.durable((at - entry.receivedAt) / 1000);
    }
  }

  persisted(through: number): void {
    const at = this.now();
    while (this.head < this.pending.length && this.pending[this.head]!.position <= through) {
      const entry = this.pending[this.head]!;
      this.head += 1;
      if (entry.receivedAt !== null) this.sink.persisted((at - entry.receivedAt) / 1000);
    }
    if (this.head > 1024 && this.head * 2 > this.pending.length) {
      this.pending = this.pending.slice(this.head);
      this.head = 0;
    }
  }

  /** Acknowledged turns not yet written to the database. */
  get waiting(): number {
    return this.pending.length - this.head;
  }

  /** Milliseconds since the oldest waiting turn was acknowledged; 0 when none waits. */
  oldestWaitingMs(): number {
    const oldest = this.pending[this.head];
    return oldest ? this.now() - oldest.ackedAt : 0;
  }
}
