import { performance } from "node:perf_hooks";
import { cpuBetween, readCpu, type CpuReading, type CpuWindow } from "./cpu.ts";
import { LoopLag } from "../../server/src/metrics.ts";
import { LatencyHistogram, round, type LatencySummary } from "./histogram.ts";
import { lagBetween } from "./server-metrics.ts";

/** What one measured window of load produced, as the report prints it. */
export interface WindowReport {
  ratePerCharacter: number;
  durationS: number;
  sent: number;
  acked: number;
  duplicates: number;
  rejected: Record<string, number>;
  /** Commands with neither an ack nor a rejection by the end of the drain. */
  unanswered: number;
  /** Scheduled sends dropped because the sending client fell behind its own schedule. */
  skipped: number;
  /** Sent over the sending time; acks and broadcasts until the last ack (a backlog counts). */
  throughput: { sentPerSecond: number; ackedPerSecond: number; broadcastsPerSecond: number };
  latencyMs: {
    actToTurn: LatencySummary;
    actToAck: LatencySummary;
    actToDurable: LatencySummary;
    actToPersisted: LatencySummary;
  };
  /**
   * How busy the simulated clients' event loop was while sending (0–1). Near 1, the clients queue
   * their own messages and every latency above includes that wait.
   */
  clientLoopBusy: number;
  /** How late the clients' loop ran a 10 ms timer while sending: its stalls. */
  clientLoopLag: { p99Ms: number; maxMs: number };
  /** CPU over the sending time: the machine, the load generator, the server (see CpuWindow). */
  cpu: CpuWindow;
}

/** Counters and latency histograms for one window; every simulated member reports into it. */
export class Recorder {
  sent = 0;
  acked = 0;
  duplicates = 0;
  unanswered = 0;
  skipped = 0;
  broadcasts = 0;
  readonly rejected = new Map<string, number>();
  readonly actToTurn = new LatencyHistogram();
  readonly actToAck = new LatencyHistogram();
  readonly actToDurable = new LatencyHistogram();
  readonly actToPersisted = new LatencyHistogram();
  private startedAt = performance.now();
  private stoppedAt: number | null = null;
  private loopAtStart = performance.eventLoopUtilization();
  private clientLoopBusy: number | null = null;
  private lastAckAt = 0;
  private cpuAtStart: CpuReading;
  private cpu: CpuWindow | null = null;
  private readonly lag = new LoopLag();
  private lagAtStart = this.lag.histogram.read();
  private lagWindow: { p99Ms: number; maxMs: number } | null = null;

  /** `serverPid`: the server's process when it is a child of this one, so its CPU is counted. */
  constructor(
    readonly ratePerCharacter: number,
    private readonly serverPid: number | null = null,
  ) {
    this.cpuAtStart = readCpu(serverPid);
  }

  start(): void {
    this.startedAt = performance.now();
    this.loopAtStart = performance.eventLoopUtilization();
    this.cpuAtStart = readCpu(this.serverPid);
    this.lag.start();
    this.lagAtStart = this.lag.histogram.read();
  }

  /** Sending stopped: throughput is counted over the sending time, answers may still arrive. */
  stop(): void {
    this.stoppedAt = performance.now();
    this.clientLoopBusy =
      Math.round(performance.eventLoopUtilization(this.loopAtStart).utilization * 100) / 100;
    this.cpu = cpuBetween(this.cpuAtStart, readCpu(this.serverPid));
    this.lagWindow = lagBetween(this.lagAtStart, this.lag.histogram.read());
    this.lag.stop();
  }

  ack(ms: number): void {
    this.acked += 1;
    this.actToAck.record(ms);
    this.lastAckAt = performance.now();
  }

  reject(code: string): void {
    this.rejected.set(code, (this.rejected.get(code) ?? 0) + 1);
  }

  get rejectedTotal(): number {
    let total = 0;
    for (const count of this.rejected.values()) total += count;
    return total;
  }

  report(): WindowReport {
    const stoppedAt = this.stoppedAt ?? performance.now();
    const seconds = (stoppedAt - this.startedAt) / 1000;
    // acks still arriving after sending stopped (a backlog) stretch the time they are counted over
    const ackSeconds = (Math.max(stoppedAt, this.lastAckAt) - this.startedAt) / 1000;
    const perSecond = (n: number, over = seconds) => round(over > 0 ? n / over : 0);
    return {
      ratePerCharacter: this.ratePerCharacter,
      durationS: round(seconds, 2),
      sent: this.sent,
      acked: this.acked,
      duplicates: this.duplicates,
      rejected: Object.fromEntries([...this.rejected.entries()].sort()),
      unanswered: this.unanswered,
      skipped: this.skipped,
      throughput: {
        sentPerSecond: perSecond(this.sent),
        ackedPerSecond: perSecond(this.acked, ackSeconds),
        broadcastsPerSecond: perSecond(this.broadcasts, ackSeconds),
      },
      latencyMs: {
        actToTurn: this.actToTurn.summary(),
        actToAck: this.actToAck.summary(),
        actToDurable: this.actToDurable.summary(),
        actToPersisted: this.actToPersisted.summary(),
      },
      clientLoopBusy:
        this.clientLoopBusy ??
        Math.round(performance.eventLoopUtilization(this.loopAtStart).utilization * 100) / 100,
      clientLoopLag: this.lagWindow ?? lagBetween(this.lagAtStart, this.lag.histogram.read()),
      cpu: this.cpu ?? cpuBetween(this.cpuAtStart, readCpu(this.serverPid)),
    };
  }
}
