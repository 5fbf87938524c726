import { seededRandom } from "./commands.ts";
import type { Fleet, Layout } from "./fleet.ts";
import { checkIntegrity, type IntegrityReport } from "./integrity.ts";
import { drain, drive } from "./load.ts";
import { Recorder, type WindowReport } from "./recorder.ts";
import { rateLimitFor, remoteLoomTarget, startBareTarget, startLoomTarget, type Target } from "./targets.ts";
import { round } from "./histogram.ts";
import { startHog } from "./hog.ts";
import { pinRun, type PinPlan } from "./pin.ts";
import { readServerMetrics, serverWindow, type ServerWindow } from "./server-metrics.ts";

export interface LoadOptions {
  universes: number;
  characters: number;
  /** Actions per second per character. */
  rate: number;
  durationS: number;
  /** Seconds of load before the measured window (not counted). */
  warmupS: number;
  /** A running Loom server; without it one is started in this process. */
  url?: string;
  baseline: boolean;
  /** Servers in child processes (own core) rather than in the clients' process. */
  isolate: boolean;
  /** With `isolate`: the servers and this process pinned to separate cores (pin.ts). */
  pin?: boolean;
  spectatorsPerUniverse: number;
  /** World events per second per GM. */
  gmRate: number;
  jitter: number;
  seed: number;
  /**
   * Busy processes (one core each) beside a second window of each phase, after the quiet one:
   * how much the latency degrades when the server has to wait for a core (0: no second window).
   */
  hog?: number;
}

export const DEFAULT_OPTIONS: LoadOptions = {
  universes: 5,
  characters: 50,
  rate: 2,
  durationS: 10,
  warmupS: 0,
  baseline: false,
  isolate: false,
  spectatorsPerUniverse: 2,
  gmRate: 0.2,
  jitter: 0.3,
  seed: 1,
};

export interface PhaseReport {
  target: "loom" | "bare";
  mode: string;
  setupS: number;
  /** Who took part; `dropped`: close codes of sessions the server closed during the run. */
  members: { players: number; gms: number; spectators: number; dropped: Record<string, number> };
  window: WindowReport;
  /** The server's own timings over the window (null when it has no GET /metrics.json). */
  server: ServerWindow | null;
  /** The same load again with `hog` busy processes beside it (see LoadOptions.hog). */
  contended?: { hog: number; window: WindowReport; server: ServerWindow | null };
  integrity: IntegrityReport;
}

export interface LoadReport {
  scenario: {
    universes: number;
    characters: number;
    rate: number;
    durationS: number;
    warmupS: number;
    spectatorsPerUniverse: number;
    gmRate: number;
    isolate: boolean;
    /** The cores the servers and the load generator were pinned to, or null. */
    pinned: PinPlan | null;
  };
  loom: PhaseReport;
  bare?: PhaseReport;
  /** Loom ÷ bare, same clients and machine. */
  ratios?: { throughput: number; p99: number };
  /**
   * act→turn p99 with the hog ÷ without it, per target; `ratio` is Loom's ÷ the bare room's
   * (how much more Loom degrades under contention than the bare room does).
   */
  contention?: { loom: number; bare?: number; ratio?: number };
  targets: {
    lossless: boolean;
    p99WithinBudget: boolean | null;
    persistedP99Within1s: boolean;
    /** No session was closed by the server (a closed room stops the timeline for its members). */
    noDroppedSessions: boolean;
    /** Loom's degradation under the hog ≤ 1.5× the bare room's (null: no --hog with --baseline). */
    contentionWithinBudget: boolean | null;
  };
  ok: boolean;
}

export type Log = (line: string) => void;
export const stderrLog: Log = (line) => process.stderr.write(`${line}\n`);

export function layoutOf(
  options: Pick<LoadOptions, "universes" | "characters" | "spectatorsPerUniverse">,
): Layout {
  return {
    universes: options.universes,
    characters: options.characters,
    spectatorsPerUniverse: options.spectatorsPerUniverse,
  };
}

/** Sets the table on a started target, timing it and naming who joined. */
export async function setUp(
  target: Target,
  layout: Layout,
  seed: number,
  log: Log,
): Promise<{ fleet: Fleet; setupS: number }> {
  const started = performance.now();
  log(
    `[${target.name}] ${target.mode}: seating ${layout.characters} characters, ${layout.universes} GMs and ${layout.universes * layout.spectatorsPerUniverse} spectators`,
  );
  const fleet = await target.populate(layout, seed);
  const setupS = round((performance.now() - started) / 1000, 2);
  log(`[${target.name}] ${fleet.members.length} members joined in ${setupS} s`);
  return { fleet, setupS };
}

/** One measured window at a rate: drive, drain, report. Progress goes to `log` once a second. */
export async function measureWindow(
  fleet: Fleet,
  label: string,
  options: Pick<LoadOptions, "rate" | "durationS" | "gmRate" | "jitter">,
  random: () => number,
  log: Log | null,
  /** The server's process id when it is a child of this one: its CPU goes in the report. */
  serverPid: number | null = null,
): Promise<WindowReport> {
  const recorder = new Recorder(options.rate, serverPid);
  await drive(fleet, recorder, {
    ratePerCharacter: options.rate,
    gmRate: options.gmRate,
    durationMs: options.durationS * 1000,
    jitter: options.jitter,
    random,
    onSecond: log
      ? (elapsed) =>
          log(
            `[${label} ${Math.round(elapsed)}s] sent ${recorder.sent} acked ${recorder.acked} rejected ${recorder.rejectedTotal} act→turn p99 ${round(recorder.actToTurn.quantile(0.99))} ms`,
          )
      : undefined,
  });
  await drain(fleet);
  return recorder.report();
}

async function runPhase(target: Target, options: LoadOptions, log: Log): Promise<PhaseReport> {
  try {
    const { fleet, setupS } = await setUp(target, layoutOf(options), options.seed, log);
    const random = seededRandom(options.seed);
    if (options.warmupS > 0) {
      log(`[${target.name}] warming up for ${options.warmupS} s`);
      await measureWindow(
        fleet,
        `${target.name} warmup`,
        { ...options, durationS: options.warmupS },
        random,
        null,
      );
    }
    const before = await readServerMetrics(target.url);
    const window = await measureWindow(fleet, target.name, options, random, log, target.pid);
    const server = serverWindow(before, await readServerMetrics(target.url));
    const contended = options.hog ? await measureContended(fleet, target, options, random, log) : undefined;
    const integrity = await checkIntegrity(fleet);
    const members = {
      players: fleet.players.length,
      gms: fleet.gms.length,
      spectators: fleet.members.length - fleet.players.length - fleet.gms.length,
      dropped: fleet.dropped(),
    };
    await fleet.leave();
    return {
      target: target.name,
      mode: target.mode,
      setupS,
      members,
      window,
      server,
      ...(contended ? { contended } : {}),
      integrity,
    };
  } finally {
    await target.shutdown();
  }
}

/** The phase's load once more, with `options.hog` cores kept busy by other processes meanwhile. */
async function measureContended(
  fleet: Fleet,
  target: Target,
  options: LoadOptions,
  random: () => number,
  log: Log,
): Promise<NonNullable<PhaseReport["contended"]>> {
  const hog = options.hog!;
  log(`[${target.name}] the same load with ${hog} busy process${hog === 1 ? "" : "es"} beside it`);
  // bounded even if this process dies mid-window: the hog ends itself a minute after the window
  const hogs = await startHog(hog, (options.durationS + 60) * 1000);
  try {
    const before = await readServerMetrics(target.url);
    const window = await measureWindow(fleet, `${target.name} +hog`, options, random, log, target.pid);
    const server = serverWindow(before, await readServerMetrics(target.url));
    return { hog, window, server };
  } finally {
    await hogs.stop();
  }
}

/**
 * The load test: Loom under the scenario, then (with `baseline`) the bare room under the same
 * clients. The phases run one after the other because Colyseus's matchmaker is one per process.
 */
export async function runLoadTest(
  input: Partial<LoadOptions> = {},
  log: Log = stderrLog,
): Promise<LoadReport> {
  const options = { ...DEFAULT_OPTIONS, ...input };
  const pinned = pinRun(options);
  const serverCpus = pinned?.server;
  const loomTarget = options.url
    ? remoteLoomTarget(options.url)
    : await startLoomTarget({
        actionsPerSecond: rateLimitFor(options.rate),
        isolate: options.isolate,
        serverCpus,
      });
  const loom = await runPhase(loomTarget, options, log);
  const bare = options.baseline
    ? await runPhase(await startBareTarget({ isolate: options.isolate, serverCpus }), options, log)
    : undefined;
  const ratios = bare
    ? {
        throughput: round(
          ratio(loom.window.throughput.ackedPerSecond, bare.window.throughput.ackedPerSecond),
          3,
        ),
        p99: round(ratio(loom.window.latencyMs.actToTurn.p99, bare.window.latencyMs.actToTurn.p99), 3),
      }
    : undefined;
  const contention = contentionOf(loom, bare);
  const lossless = loom.integrity.ok && (bare?.integrity.ok ?? true);
  return {
    scenario: {
      universes: options.universes,
      characters: options.characters,
      rate: options.rate,
      durationS: options.durationS,
      warmupS: options.warmupS,
      spectatorsPerUniverse: options.spectatorsPerUniverse,
      gmRate: options.gmRate,
      isolate: options.isolate,
      pinned,
    },
    loom,
    ...(bare ? { bare } : {}),
    ...(ratios ? { ratios } : {}),
    ...(contention ? { contention } : {}),
    targets: {
      lossless,
      p99WithinBudget: ratios ? ratios.p99 <= 1.5 : null,
      persistedP99Within1s:
        loom.window.latencyMs.actToPersisted.count > 0 && loom.window.latencyMs.actToPersisted.p99 <= 1000,
      noDroppedSessions:
        Object.keys(loom.members.dropped).length === 0 &&
        Object.keys(bare?.members.dropped ?? {}).length === 0,
      contentionWithinBudget: contention?.ratio === undefined ? null : contention.ratio <= 1.5,
    },
    ok: lossless,
  };
}

/** How much each target's act→turn p99 grew with the hog beside it, and Loom's growth ÷ the bare room's. */
function contentionOf(loom: PhaseReport, bare: PhaseReport | undefined): LoadReport["contention"] {
  const growth = (phase: PhaseReport | undefined) =>
    phase?.contended
      ? round(ratio(phase.contended.window.latencyMs.actToTurn.p99, phase.window.latencyMs.actToTurn.p99), 3)
      : undefined;
  const loomGrowth = growth(loom);
  if (loomGrowth === undefined) return undefined;
  const bareGrowth = growth(bare);
  return {
    loom: loomGrowth,
    ...(bareGrowth === undefined ? {} : { bare: bareGrowth, ratio: round(ratio(loomGrowth, bareGrowth), 3) }),
  };
}

function ratio(a: number, b: number): number {
  return b > 0 ? a / b : Number.NaN;
}
