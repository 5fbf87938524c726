import { pinRun, type PinPlan } from "./pin.ts";
import { seededRandom } from "./commands.ts";
import { layoutOf, measureWindow, setUp, stderrLog, type LoadOptions, type Log } from "./harness.ts";
import { checkIntegrity } from "./integrity.ts";
import type { CpuWindow } from "./cpu.ts";
import { readServerMetrics, serverWindow } from "./server-metrics.ts";
import type { WindowReport } from "./recorder.ts";
import { rateLimitFor, remoteLoomTarget, startBareTarget, startLoomTarget, type Target } from "./targets.ts";

export interface FindMaxOptions extends Omit<LoadOptions, "rate" | "durationS" | "warmupS"> {
  /**
   * Per-character rates to try, ascending. A rate that misses the budget is measured once more
   * (one 10 s window on a shared machine can catch a stall); the search stops when it misses twice.
   */
  rates: number[];
  stepS: number;
  p99BudgetMs: number;
}

export interface StepReport {
  ratePerCharacter: number;
  sentPerSecond: number;
  ackedPerSecond: number;
  p99: number;
  rejected: number;
  unanswered: number;
  /** Sends the client dropped because it fell behind (the offered load was lower). */
  skipped: number;
  withinBudget: boolean;
  /** The second measurement of a rate whose first missed the budget. */
  retry: boolean;
  /** Where the CPU went during the step (see CpuWindow): how near the machine was to full. */
  cpu: CpuWindow;
  /** How late the clients' loop ran a 10 ms timer during the step: their own stalls. */
  clientLoopLag: { p99Ms: number; maxMs: number };
  /** The same for the server's main loop, from its GET /metrics.json (null: it has none). */
  serverLoopLag: { p99Ms: number; maxMs: number } | null;
}

export interface SearchReport {
  target: "loom" | "bare";
  mode: string;
  steps: StepReport[];
  /** The highest acknowledged actions/s of a step within budget (0 if none was). */
  maxActionsPerSecond: number;
  maxRatePerCharacter: number;
  integrityOk: boolean;
}

export interface FindMaxReport {
  search: {
    universes: number;
    characters: number;
    rates: number[];
    stepS: number;
    p99BudgetMs: number;
    isolate: boolean;
    /** The cores the servers and the load generator were pinned to, or null. */
    pinned: PinPlan | null;
  };
  loom: SearchReport;
  bare?: SearchReport;
  ratio?: number;
  ok: boolean;
}

function step(
  window: WindowReport,
  budget: number,
  retry: boolean,
  serverLoopLag: StepReport["serverLoopLag"],
): StepReport {
  const rejected = Object.values(window.rejected).reduce((sum, n) => sum + n, 0);
  const p99 = window.latencyMs.actToTurn.p99;
  return {
    ratePerCharacter: window.ratePerCharacter,
    sentPerSecond: window.throughput.sentPerSecond,
    ackedPerSecond: window.throughput.ackedPerSecond,
    p99,
    rejected,
    unanswered: window.unanswered,
    skipped: window.skipped,
    withinBudget: p99 <= budget && window.unanswered === 0 && window.latencyMs.actToTurn.count > 0,
    retry,
    cpu: window.cpu,
    clientLoopLag: window.clientLoopLag,
    serverLoopLag,
  };
}

/** Steps one seated fleet through rising rates until act→turn p99 leaves the budget. */
async function search(target: Target, options: FindMaxOptions, log: Log): Promise<SearchReport> {
  try {
    const { fleet } = await setUp(target, layoutOf(options), options.seed, log);
    const random = seededRandom(options.seed);
    const steps: StepReport[] = [];
    const measure = async (rate: number, retry: boolean): Promise<StepReport> => {
      const before = await readServerMetrics(target.url);
      const window = await measureWindow(
        fleet,
        `${target.name} ${rate}/s${retry ? " (again)" : ""}`,
        { ...options, rate, durationS: options.stepS },
        random,
        log,
        target.pid,
      );
      const server = serverWindow(before, await readServerMetrics(target.url));
      const result = step(window, options.p99BudgetMs, retry, server?.loopLag ?? null);
      steps.push(result);
      log(
        `[${target.name}] ${rate}/s per character${retry ? " (again)" : ""}: ${result.ackedPerSecond} actions/s acked, act→turn p99 ${result.p99} ms ${result.withinBudget ? "within" : "over"} budget`,
      );
      return result;
    };
    for (const rate of options.rates) {
      if ((await measure(rate, false)).withinBudget) continue;
      if (!(await measure(rate, true)).withinBudget) break;
    }
    const integrity = await checkIntegrity(fleet);
    await fleet.leave();
    const best = steps
      .filter((s) => s.withinBudget)
      .reduce<StepReport | null>((top, s) => (!top || s.ackedPerSecond > top.ackedPerSecond ? s : top), null);
    return {
      target: target.name,
      mode: target.mode,
      steps,
      maxActionsPerSecond: best?.ackedPerSecond ?? 0,
      maxRatePerCharacter: best?.ratePerCharacter ?? 0,
      integrityOk: integrity.ok,
    };
  } finally {
    await target.shutdown();
  }
}

/** The rate search for Loom and, with `baseline`, for the bare room, one after the other. */
export async function findMax(options: FindMaxOptions, log: Log = stderrLog): Promise<FindMaxReport> {
  const top = Math.max(...options.rates);
  const pinned = pinRun(options);
  const serverCpus = pinned?.server;
  const loomTarget = options.url
    ? remoteLoomTarget(options.url)
    : await startLoomTarget({ actionsPerSecond: rateLimitFor(top), isolate: options.isolate, serverCpus });
  const loom = await search(loomTarget, options, log);
  const bare = options.baseline
    ? await search(await startBareTarget({ isolate: options.isolate, serverCpus }), options, log)
    : undefined;
  return {
    search: {
      universes: options.universes,
      characters: options.characters,
      rates: options.rates,
      stepS: options.stepS,
      p99BudgetMs: options.p99BudgetMs,
      isolate: options.isolate,
      pinned,
    },
    loom,
    ...(bare
      ? {
          bare,
          ratio:
            bare.maxActionsPerSecond > 0
              ? Math.round((loom.maxActionsPerSecond / bare.maxActionsPerSecond) * 1000) / 1000
              : undefined,
        }
      : {}),
    ok: loom.integrityOk && (bare?.integrityOk ?? true),
  };
}
