/**
 * GET /metrics in the Prometheus text exposition format, through prom-client. Each server has a
 * registry of its own (a test process may run several servers one after another); the Node.js
 * process metrics (CPU, memory, event-loop lag, garbage collection) are registered once per
 * process and merged in at every scrape.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import { streamReadTotals } from "./live/stream-copies.ts";
import { faults } from "./fault-log.ts";
import type { PersistHealth } from "./universe/persist-health.ts";

/**
 * Bucket upper bounds in seconds for the turn pipeline: an ack is expected in about a millisecond,
 * a group commit in tens, and a turn reaches the database within a persist tick or two; the upper
 * buckets catch a stalled dependency (timeouts are seconds).
 */
export const PIPELINE_BUCKETS_S = [
  0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
];
/** A model takes seconds to tell a turn, the template microseconds. */
export const NARRATION_BUCKETS_S = [0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60];

let processRegistry: Registry | null = null;

/** The process-wide metrics of Node.js itself, collected from the first server on. */
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

/** What the gauges read at scrape time: the process's rooms, clients and open universes. */
export interface OpenReadings {
  rooms(): number;
  clients(): number;
  universes(): number;
  /** Acknowledged turns not yet in the database, over every universe open here. */
  persistLagTurns(): number;
  /** Seconds since the oldest of them was acknowledged (0 when none waits). */
  persistLagSeconds(): number;
}

export class PrometheusMetrics {
  readonly registry = new Registry();
  readonly actAck: Histogram;
  readonly actDurable: Histogram;
  readonly actPersisted: Histogram;
  readonly turns: Counter<"kind">;
  readonly commitSeconds: Histogram;
  readonly committedTurns: Counter;
  readonly failedCommits: Counter;
  readonly narrationSeconds: Histogram<"narrator">;
  readonly narrationFailures: Counter<"narrator" | "reason">;

  constructor(open: OpenReadings, persist: PersistHealth) {
    processMetrics(); // the process's CPU counters count from the first server's start
    const registers = [this.registry];
    const histogram = (name: string, help: string, buckets = PIPELINE_BUCKETS_S) =>
      new Histogram({ name, help, buckets, registers });
    this.actAck = histogram(
      "loom_act_ack_seconds",
      "act message received to its sender acknowledged (the turn is in the live store)",
    );
    this.actDurable = histogram(
      "loom_act_durable_seconds",
      "act message received to its turn surviving a crash of this process (live store or database)",
    );
    this.actPersisted = histogram(
      "loom_act_persisted_seconds",
      "act message received to its turn written to the database",
    );
    this.turns = new Counter({
      name: "loom_turns_total",
      help: "Turns acknowledged by universes open in this process, by kind",
      labelNames: ["kind"],
      registers,
    });
    this.commitSeconds = histogram(
      "loom_group_commit_seconds",
      "Duration of each group commit to the database",
    );
    this.committedTurns = new Counter({
      name: "loom_persisted_turns_total",
      help: "Turns written to the database by group commits",
      registers,
    });
    this.failedCommits = new Counter({
      name: "loom_group_commit_failures_total",
      help: "Group commits that failed (their turns stay in the live store and are retried)",
      registers,
    });
    this.narrationSeconds = new Histogram({
      name: "loom_narration_seconds",
      help: "Time to tell a turn, by the narrator that told it (template after a fallback)",
      labelNames: ["narrator"],
      buckets: NARRATION_BUCKETS_S,
      registers,
    });
    this.narrationFailures = new Counter({
      name: "loom_narration_failures_total",
      help: "Turns the configured narrator did not tell (the template told them), by reason",
      labelNames: ["narrator", "reason"],
      registers,
    });
    const gauge = (name: string, help: string, read: () => number) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(read());
        },
      });
    gauge("loom_rooms_open", "Colyseus rooms open in this process", () => open.rooms());
    gauge("loom_clients_connected", "Clients connected to rooms of this process", () => open.clients());
    gauge("loom_universes_open", "Universes this process owns and serves", () => open.universes());
    gauge("loom_persist_lag_turns", "Acknowledged turns not yet written to the database", () =>
      open.persistLagTurns(),
    );
    gauge("loom_persist_lag_seconds", "Age of the oldest acknowledged turn not yet in the database", () =>
      open.persistLagSeconds(),
    );
    gauge(
      "loom_universes_persist_failing",
      "Universes whose pending turns cannot be written now",
      () => persist.read().failing.length,
    );
    // Totals kept elsewhere (the fault log, PersistHealth): read at scrape time.
    const total = (name: string, help: string, read: () => number) =>
      new Counter({
        name,
        help,
        registers,
        collect() {
          this.reset();
          this.inc(read());
        },
      });
    total(
      "loom_persist_write_failures_total",
      "Failed writes of pending turns",
      () => persist.read().failedWrites,
    );
    total(
      "loom_snapshot_failures_total",
      "Snapshots that could not be encoded",
      () => persist.read().failedSnapshots,
    );
    total(
      "loom_damaged_snapshots_total",
      "Universes refused at opening because a snapshot did not match its checksum",
      () => persist.read().damagedSnapshots,
    );
    new Counter({
      name: "loom_scrub_stream_reads_total",
      help: "Reads of live streams by the timeline scrubber, by where they were answered: a copy Redis had not invalidated, or Redis",
      labelNames: ["from"],
      registers,
      collect() {
        this.reset();
        this.inc({ from: "copy" }, streamReadTotals.copies);
        this.inc({ from: "redis" }, streamReadTotals.reads);
      },
    });
    new Counter({
      name: "loom_dependency_errors_total",
      help: "Failed calls to the database and the live store, by dependency and error class (SQLSTATE, errno code or name)",
      labelNames: ["dependency", "class"],
      registers,
      collect() {
        this.reset();
        for (const [key, count] of Object.entries(faults.read())) {
          const split = key.indexOf(":");
          this.inc({ dependency: key.slice(0, split), class: key.slice(split + 1) }, count);
        }
      },
    });
  }

  /** The exposition text of this server's metrics and the process's. */
  async text(): Promise<string> {
    return Registry.merge([processMetrics(), this.registry]).metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
