import { afterAll, afterEach, beforeAll } from "vitest";
import { performance } from "node:perf_hooks";
import { Redis } from "ioredis";
import type { UniverseSession } from "../../client-sdk/src/index.ts";
import { spawnServer, testPort, type ChildServer } from "../support/server.ts";
import { overcome } from "../support/players.ts";
import {
  startPostgres,
  startRedis,
  type PostgresInstance,
  type RedisInstance,
} from "../support/instances.ts";
import type { Acked, Integrity } from "./integrity.ts";
import { populateLoom } from "../../loadtest/src/loom-fleet.ts";
import { drive, waitUntil } from "../../loadtest/src/load.ts";
import { Recorder } from "../../loadtest/src/recorder.ts";
import { checkIntegrity as checkFleet, type IntegrityReport } from "../../loadtest/src/integrity.ts";
import type { Fleet, Layout } from "../../loadtest/src/fleet.ts";

/**
 * What every fault scenario shares: its own Postgres and Redis on spare ports (never the shared
 * ones), Loom servers as child processes wired to them, players that act and count what they are
 * told, and steady load from the project's load generator with the integrity check at the end.
 */
export interface FaultSuite {
  readonly pg: PostgresInstance;
  readonly redis: RedisInstance;
  /** A server on `port` (shifted by LOOM_TEST_PORT_OFFSET) on this suite's instances; killed after each scenario. */
  server(port: number, env?: Record<string, string>): Promise<ChildServer>;
}

/**
 * Registers the suite's hooks: instances started once per file, and after each scenario its
 * servers killed and the instances running again (a scenario may leave them stopped or paused).
 */
export function faultSuite(ports: { postgres: number; redis: number }): FaultSuite {
  let pg: PostgresInstance | undefined;
  let redis: RedisInstance | undefined;
  const children: ChildServer[] = [];
  beforeAll(async () => {
    [pg, redis] = await Promise.all([
      startPostgres(testPort(ports.postgres)),
      startRedis(testPort(ports.redis)),
    ]);
  });
  afterEach(async (context) => {
    redis?.resume();
    // A failed scenario's cause is often only in a server's log (a 500's error, a lease given up)
    if (context.task.result?.state === "fail") for (const child of children) printTrouble(child);
    await Promise.all(children.splice(0).map((child) => child.stop("SIGKILL")));
    await Promise.all([redis?.start(), pg?.start()]);
    // The scenario's servers are gone, killed: Colyseus would find them still listed as processes
    // and make each server of the next scenario wait 2 s at start for a dead one to answer its
    // health check. Nothing of a finished scenario is read again; Postgres keeps its rows.
    if (redis) {
      const client = new Redis(redis.url, { maxRetriesPerRequest: 1 });
      try {
        await client.flushall();
      } finally {
        client.disconnect();
      }
    }
  });
  afterAll(async () => {
    await Promise.all([pg?.close(), redis?.close()]);
  });
  return {
    get pg() {
      return pg!;
    },
    get redis() {
      return redis!;
    },
    async server(port, env = {}) {
      const child = await spawnServer({ DATABASE_URL: pg!.url, REDIS_URL: redis!.url, ...env }, port);
      children.push(child);
      return child;
    },
  };
}

/** A server's warnings and errors, on stderr, named by its address. */
function printTrouble(child: ChildServer): void {
  let lines: string[];
  try {
    lines = child
      .logs()
      .filter((entry) => entry.level === "warn" || entry.level === "error")
      .map((entry) => `${entry.time} ${entry.level} ${entry.msg}${entry.err ? ` — ${entry.err}` : ""}`);
  } catch {
    lines = child.output().split("\n"); // not all JSON: print it as it came
  }
  process.stderr.write(`--- ${child.url}: ${lines.length} warnings and errors\n${lines.join("\n")}\n`);
}

/** What a scenario's own players were told: acknowledged turns and refusals by code. */
export interface Tally {
  acked: Array<Acked & { at: number }>;
  errors: Record<string, number>;
  /** How long each refused act took to be answered. */
  refusedAfterMs: number[];
}

export function tally(): Tally {
  return { acked: [], errors: {}, refusedAfterMs: [] };
}

/** One act; true when it was acknowledged. */
export async function act(
  session: UniverseSession,
  characterId: string,
  into: Tally,
  options: { timeoutMs?: number; description?: string } = {},
): Promise<boolean> {
  const started = Date.now();
  const result = await session.act(overcome(characterId, options.description), {
    timeoutMs: options.timeoutMs ?? 5_000,
  });
  if (result.ok) {
    into.acked.push({ position: result.turn.position, id: result.turn.id, at: Date.now() });
    return true;
  }
  into.errors[result.rejection.code] = (into.errors[result.rejection.code] ?? 0) + 1;
  into.refusedAfterMs.push(Date.now() - started);
  return false;
}

/** `count` acts one after another. */
export async function play(
  session: UniverseSession,
  characterId: string,
  count: number,
  into: Tally,
): Promise<void> {
  for (let i = 0; i < count; i++) await act(session, characterId, into);
}

/** Acts until one is acknowledged; returns how long that took from `since`. */
export async function actUntilServed(
  session: UniverseSession,
  characterId: string,
  into: Tally,
  since: number,
): Promise<number> {
  for (;;) {
    if (await act(session, characterId, into, { timeoutMs: 10_000 })) return Date.now() - since;
    if (Date.now() - since > 30_000) throw new Error("not served again within 30 s");
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Each of `players` acts every `everyMs` until `stop()`. */
export function playSteadily(
  players: Array<{ name: string; session: UniverseSession; characterId: string }>,
  everyMs: number,
  into: Tally,
): { stop: () => Promise<void> } {
  let running = true;
  const loops = players.map(async (player) => {
    while (running) {
      // the SDK's default act timeout: a command sent again on a new seat may wait for the
      // player's new play session to start on a busy machine
      await act(player.session, player.characterId, into, {
        description: `${player.name} wades on`,
        timeoutMs: 10_000,
      });
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  });
  return {
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}

/** The load every scenario runs under: modest, so a busy two-core machine still keeps up. */
export const STEADY_LAYOUT: Layout = { universes: 2, characters: 6, spectatorsPerUniverse: 1 };
export const STEADY_RATE = 1;

export interface SteadyLoad {
  fleet: Fleet;
  recorder: Recorder;
  /** The fault starts now: served-again times count from here. */
  faultStarts(): void;
  /**
   * From the fault's start until every universe of the load acknowledged a command sent after it
   * (the slowest universe); null while one has not.
   */
  servedAgainMs(): number | null;
  /** Waits until every universe of the load is served again (or `timeoutMs`). */
  servedAgain(timeoutMs?: number): Promise<number | null>;
  /** Stops sending, waits for every answer and checks the timelines (all pages, once persisted). */
  finish(): Promise<LoadOutcome>;
}

export interface LoadOutcome {
  integrity: IntegrityReport;
  sent: number;
  unanswered: number;
  rejected: Record<string, number>;
  /** Close codes of members the server disconnected. */
  dropped: Record<string, number>;
}

/**
 * The project's load generator (loadtest/src) against `url`: universes with a GM, spectators and
 * players, each player acting `rate` times a second (open loop) until `finish()`. `servers` are
 * the deployment's other processes (members fail over to them).
 */
export async function steadyLoad(
  url: string,
  options: { servers?: string[]; layout?: Layout; rate?: number } = {},
): Promise<SteadyLoad> {
  const fleet = await populateLoom(url, options.layout ?? STEADY_LAYOUT, options.servers ?? []);
  const recorder = new Recorder(options.rate ?? STEADY_RATE);
  const stop = new AbortController();
  let faultAt: number | null = null;
  const servedAt = new Map<number, number>();
  fleet.onAck = (turn, sentAt) => {
    if (faultAt !== null && sentAt >= faultAt && !servedAt.has(turn.universe))
      servedAt.set(turn.universe, performance.now());
  };
  const driving = drive(fleet, recorder, {
    ratePerCharacter: options.rate ?? STEADY_RATE,
    gmRate: 0.2,
    durationMs: 30 * 60_000,
    jitter: 0.3,
    random: Math.random,
    signal: stop.signal,
  });
  const servedAgainMs = () => {
    if (faultAt === null || servedAt.size < fleet.universes.length) return null;
    return Math.round(Math.max(...servedAt.values()) - faultAt);
  };
  return {
    fleet,
    recorder,
    faultStarts() {
      faultAt = performance.now();
      servedAt.clear();
    },
    servedAgainMs,
    async servedAgain(timeoutMs = 30_000) {
      await waitUntil(() => servedAgainMs() !== null, timeoutMs);
      return servedAgainMs();
    },
    async finish() {
      stop.abort();
      await driving;
      await waitUntil(() => fleet.members.every((member) => member.pending === 0), 30_000);
      const integrity = await checkFleet(fleet);
      for (const member of fleet.members) member.abandon();
      const report = recorder.report();
      const outcome = {
        integrity,
        sent: report.sent,
        unanswered: report.unanswered,
        rejected: report.rejected,
        dropped: fleet.dropped(),
      };
      await fleet.leave();
      return outcome;
    },
  };
}

/**
 * The scenario's line: acknowledged, lost, duplicated (its own players' and the load's), time
 * until served again, and what clients were told by code (`unanswered` for commands whose outcome
 * they never learnt).
 */
export function reportFaultScenario(
  name: string,
  figures: {
    own?: Integrity;
    ownErrors?: Record<string, number>;
    load?: LoadOutcome;
    /** null: never; undefined: the scenario has no moment it stopped serving. */
    servedAgainMs?: number | null;
  },
): { acknowledged: number; lost: number; duplicated: number; errors: Record<string, number> } {
  const load = figures.load?.integrity;
  const acknowledged = (figures.own?.acknowledged ?? 0) + (load?.ackedTurns ?? 0);
  const lost = (figures.own?.lost ?? 0) + (load ? load.acked.lost + load.acked.moved : 0);
  const duplicated =
    (figures.own?.duplicated ?? 0) +
    (load ? load.acked.duplicated + load.timeline.duplicatePositions + load.timeline.duplicateIds : 0);
  const errors: Record<string, number> = { ...figures.ownErrors };
  for (const [code, count] of Object.entries(figures.load?.rejected ?? {}))
    errors[code] = (errors[code] ?? 0) + count;
  if (figures.load?.unanswered) errors.unanswered = (errors.unanswered ?? 0) + figures.load.unanswered;
  const served =
    figures.servedAgainMs === undefined
      ? "n/a"
      : figures.servedAgainMs === null
        ? "never"
        : `${figures.servedAgainMs} ms`;
  const codes = Object.entries(errors)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([code, count]) => `${code}=${count}`)
    .join(", ");
  console.log(
    `fault scenario "${name}": acknowledged ${acknowledged}` +
      (load ? ` (${load.ackedTurns} of them the load generator's)` : "") +
      `, lost ${lost}, duplicated ${duplicated}, served again after ${served}, client errors {${codes}}`,
  );
  return { acknowledged, lost, duplicated, errors };
}
