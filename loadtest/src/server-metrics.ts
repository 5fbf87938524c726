import {
  between,
  highest,
  loopBusy,
  quantile,
  type HistogramReading,
  type MetricsReading,
} from "../../server/src/metrics.ts";

/** What the server measured itself during a window: from its GET /metrics.json, read before and after. */
export interface ServerWindow {
  /** `act` message received → acknowledged, inside the server. */
  acts: { count: number; p50Ms: number; p99Ms: number };
  /**
   * Group commits in the window: how many, the turns they wrote, how long they took, and the
   * milliseconds spent committing in all (turns ÷ that is the persist path's throughput while busy).
   */
  commits: { count: number; turns: number; p50Ms: number; p99Ms: number; failed: number; busyMs: number };
  /** How busy the server's main event loop was over the window (0–1). */
  loopBusy: number;
  /** How late its main loop ran a 10 ms timer: its stalls (a long task, a collection, no free core). */
  loopLag: { p99Ms: number; maxMs: number };
}

/** The server's metrics, or null for a server without them (the bare room). */
export async function readServerMetrics(url: string): Promise<MetricsReading | null> {
  try {
    const response = await fetch(`${url}/metrics.json`);
    return response.ok ? ((await response.json()) as MetricsReading) : null;
  } catch {
    return null;
  }
}

export function serverWindow(
  before: MetricsReading | null,
  after: MetricsReading | null,
): ServerWindow | null {
  if (!before || !after) return null;
  const acts = between(before.acts, after.acts);
  const commits = between(before.commits, after.commits);
  return {
    acts: {
      count: after.acts.count - before.acts.count,
      p50Ms: quantile(acts, 0.5),
      p99Ms: quantile(acts, 0.99),
    },
    commits: {
      count: after.commits.count - before.commits.count,
      turns: after.commits.turns - before.commits.turns,
      p50Ms: quantile(commits, 0.5),
      p99Ms: quantile(commits, 0.99),
      failed: after.commits.failed - before.commits.failed,
      busyMs: Math.round(after.commits.sumMs - before.commits.sumMs),
    },
    loopBusy: loopBusy(before.eventLoop, after.eventLoop),
    loopLag: lagBetween(before.eventLoop.lag, after.eventLoop.lag),
  };
}

/** p99 and largest (to within a 10 % bucket) of the lag recorded between two readings. */
export function lagBetween(
  before: HistogramReading,
  after: HistogramReading,
): { p99Ms: number; maxMs: number } {
  const window = between(before, after);
  return { p99Ms: quantile(window, 0.99), maxMs: highest(window) };
}
