/**
 * The metrics of this process: GET /metrics in the Prometheus text format (prometheus.ts), and
 * GET /metrics.json, the load generator's view: how long the turn pipeline takes inside this
 * process and how the group commits go, in log-spaced buckets (each 10 % wider than the one
 * before, 0.05 ms to 60 s), so two readings can be subtracted to get the percentiles of the
 * time between them.
 */
import { matchMaker } from "@colyseus/core";
import { PersistHealth, type PersistHealthReading } from "./universe/persist-health.ts";
import { faults } from "./fault-log.ts";
import { performance } from "node:perf_hooks";
import { PrometheusMetrics } from "./prometheus.ts";
import { TurnTimings } from "./turn-timings.ts";

const FIRST_BOUND_MS = 0.05;
const GROWTH = 1.1;
const LAST_BOUND_MS = 60_000;

/** Upper bounds of the buckets in ms; a last, unbounded bucket follows. */
export const BUCKET_BOUNDS_MS: readonly number[] = (() => {
  const bounds: number[] = [];
  for (let bound = FIRST_BOUND_MS; bound < LAST_BOUND_MS; bound *= GROWTH)
    bounds.push(Math.round(bound * 1000) / 1000);
  bounds.push(LAST_BOUND_MS);
  return bounds;
})();

export interface HistogramReading {
  count: number;
  sumMs: number;
  maxMs: number;
  p50Ms: number;
  p99Ms: number;
  /** Counts per bucket of BUCKET_BOUNDS_MS (and one past the last bound). */
  buckets: number[];
}

export class Histogram {
  private readonly counts = new Array<number>(BUCKET_BOUNDS_MS.length + 1).fill(0);
  private count = 0;
  private sum = 0;
  private max = 0;

  record(ms: number): void {
    const value = Math.max(0, ms);
    let index =
      value <= FIRST_BOUND_MS
        ? 0
        : Math.min(BUCKET_BOUNDS_MS.length, Math.ceil(Math.log(value / FIRST_BOUND_MS) / Math.log(GROWTH)));
    // the rounded bounds can put a value one bucket off; settle it against the table
    while (index > 0 && value <= BUCKET_BOUNDS_MS[index - 1]!) index -= 1;
    while (index < BUCKET_BOUNDS_MS.length && value > BUCKET_BOUNDS_MS[index]!) index += 1;
    this.counts[index]! += 1;
    this.count += 1;
    this.sum += value;
    if (value > this.max) this.max = value;
  }

  read(): HistogramReading {
    return {
      count: this.count,
      sumMs: round(this.sum),
      maxMs: round(this.max),
      p50Ms: quantile(this.counts, 0.5),
      p99Ms: quantile(this.counts, 0.99),
      buckets: [...this.counts],
    };
  }
}

/**
 * The q-quantile of bucket counts, as the upper bound of the bucket it falls in (so at most 10 %
 * high); 0 when there are none. Works on the difference of two readings as well.
 */
export function quantile(buckets: readonly number[], q: number): number {
  const total = buckets.reduce((sum, n) => sum + n, 0);
  if (total === 0) return 0;
  const rank = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  for (let i = 0; i < buckets.length; i++) {
    seen += buckets[i]!;
    if (seen >= rank) return BUCKET_BOUNDS_MS[Math.min(i, BUCKET_BOUNDS_MS.length - 1)]!;
  }
  return LAST_BOUND_MS;
}

/**
 * How late a timer due every `everyMs` fires: the stalls of this thread's event loop (a long
 * task, a garbage collection, or no free core), which every message arriving meanwhile waits out.
 * The timer is unref'd, so it never keeps a process alive.
 */
export class LoopLag {
  readonly histogram = new Histogram();
  private timer: ReturnType<typeof setInterval> | null = null;

  constructor(private readonly everyMs = 10) {}

  start(): this {
    if (this.timer) return this;
    let due = performance.now() + this.everyMs;
    this.timer = setInterval(() => {
      const now = performance.now();
      this.histogram.record(now - due);
      due = now + this.everyMs;
    }, this.everyMs);
    this.timer.unref();
    return this;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}

/** The upper bound of the highest non-empty bucket: the largest value, to within a bucket. */
export function highest(buckets: readonly number[]): number {
  for (let i = buckets.length - 1; i >= 0; i--)
    if (buckets[i]! > 0) return BUCKET_BOUNDS_MS[Math.min(i, BUCKET_BOUNDS_MS.length - 1)]!;
  return 0;
}

/** How busy an event loop was between two readings (0–1, two decimals). */
export function loopBusy(before: MetricsReading["eventLoop"], after: MetricsReading["eventLoop"]): number {
  const active = after.activeMs - before.activeMs;
  const total = active + after.idleMs - before.idleMs;
  return total > 0 ? Math.round((active / total) * 100) / 100 : 0;
}

/** The buckets recorded between two readings of the same histogram. */
export function between(before: HistogramReading, after: HistogramReading): number[] {
  return after.buckets.map((n, i) => n - (before.buckets[i] ?? 0));
}

export interface MetricsReading {
  startedAt: string;
  /** Turns made by `act` messages, and the time from receiving the message to acknowledging it. */
  acts: HistogramReading;
  /** Group commits: how long each took and how many turns each wrote. */
  commits: HistogramReading & { turns: number; failed: number };
  /**
   * Milliseconds the main thread's event loop spent running and waiting since the process started.
   * Between two readings, active ÷ (active + idle) is how busy it was: near 1, every message
   * waits its turn. `lag`: how late a 10 ms timer fired (LoopLag), the loop's stalls.
   */
  eventLoop: { activeMs: number; idleMs: number; lag: HistogramReading };
  /** Universes whose pending turns cannot be written now, and failure counts (PersistHealth). */
  persist: PersistHealthReading;
  /** Failed calls to the database and the live store since start, by `dependency:class` (fault-log.ts). */
  errors: Record<string, number>;
}

/** A universe open in this process, as its room reports it (see trackUniverse). */
export interface TrackedUniverse {
  readonly timings: TurnTimings;
  close(): void;
}

export class Metrics {
  private readonly acts = new Histogram();
  private readonly commits = new Histogram();
  private committedTurns = 0;
  private failedCommits = 0;
  private readonly startedAt = new Date().toISOString();
  private readonly lag = new LoopLag().start();
  /** Universes that cannot persist, failed writes and snapshots. */
  readonly persist = new PersistHealth();
  private readonly universes = new Set<{ timings: TurnTimings; lagTurns: () => number }>();
  readonly prometheus = new PrometheusMetrics(
    {
      rooms: () => matchMaker.stats.local.roomCount,
      clients: () => matchMaker.stats.local.ccu,
      universes: () => this.universes.size,
      persistLagTurns: () => [...this.universes].reduce((sum, u) => sum + Math.max(0, u.lagTurns()), 0),
      persistLagSeconds: () =>
        Math.max(0, ...[...this.universes].map((u) => u.timings.oldestWaitingMs())) / 1000,
    },
    this.persist,
  );

  /** A group commit that took `ms` and wrote `turns` turns; not `ok` when a universe's batch failed. */
  commit(turns: number, ms: number, ok: boolean): void {
    this.commits.record(ms);
    this.prometheus.commitSeconds.observe(ms / 1000);
    this.committedTurns += turns;
    this.prometheus.committedTurns.inc(turns);
    if (!ok) {
      this.failedCommits += 1;
      this.prometheus.failedCommits.inc();
    }
  }

  /**
   * A universe opened here: its room reports turns, acks and marks to the returned timings until
   * it closes. `lagTurns` reads how many acknowledged turns still wait for the database.
   */
  trackUniverse(lagTurns: () => number): TrackedUniverse {
    const { prometheus, acts } = this;
    const timings = new TurnTimings({
      turn: (kind) => prometheus.turns.inc({ kind }),
      ack: (seconds) => {
        acts.record(seconds * 1000);
        prometheus.actAck.observe(seconds);
      },
      durable: (seconds) => prometheus.actDurable.observe(seconds),
      persisted: (seconds) => prometheus.actPersisted.observe(seconds),
    });
    const entry = { timings, lagTurns };
    this.universes.add(entry);
    return { timings, close: () => this.universes.delete(entry) };
  }

  /** A turn told by `narrator` in `ms`; `failure`: why the configured narrator did not tell it. */
  narrated(narrator: string, ms: number, failure: { narrator: string; reason: string } | null): void {
    this.prometheus.narrationSeconds.observe({ narrator }, ms / 1000);
    if (failure) this.prometheus.narrationFailures.inc(failure);
  }

  read(): MetricsReading {
    const loop = performance.eventLoopUtilization();
    return {
      startedAt: this.startedAt,
      acts: this.acts.read(),
      commits: { ...this.commits.read(), turns: this.committedTurns, failed: this.failedCommits },
      eventLoop: { activeMs: round(loop.active), idleMs: round(loop.idle), lag: this.lag.histogram.read() },
      persist: this.persist.read(),
      errors: faults.read(),
    };
  }

  /** Stops the loop-lag timer (a stopped server's metrics stay readable). */
  close(): void {
    this.lag.stop();
  }
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
