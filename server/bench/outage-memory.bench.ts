// Memory of the owning process during a long Postgres outage. A Loom server (a child process, on
// its own Postgres and Redis started here on spare ports) is played by the load generator while
// its Postgres is stopped: acknowledged turns wait in memory (and in the Redis stream) until each
// universe holds LOOM_MAX_PENDING_TURNS, after which players are refused `unavailable`. Sampled
// every few seconds: the server's RSS and V8 heap (GET /metrics) and Redis' used memory, so the
// figures show the growth per waiting turn and the plateau at the bound; then Postgres comes back
// and the catch-up is timed.
//
//   npm run bench -- outage-memory
//   OUTAGE_BOUND=1000 OUTAGE_UNIVERSES=4 OUTAGE_CHARACTERS=20 OUTAGE_RATE=4 OUTAGE_SECONDS=90
import { Redis } from "ioredis";
import { spawnServer } from "../../test/support/server.ts";
import { startPostgres, startRedis } from "../../test/support/instances.ts";
import { populateLoom } from "../../loadtest/src/loom-fleet.ts";
import { drive, observedHeads, waitUntil } from "../../loadtest/src/load.ts";
import { Recorder } from "../../loadtest/src/recorder.ts";

const BOUND = Number(process.env.OUTAGE_BOUND ?? 1_000);
const UNIVERSES = Number(process.env.OUTAGE_UNIVERSES ?? 4);
const CHARACTERS = Number(process.env.OUTAGE_CHARACTERS ?? 20);
const RATE = Number(process.env.OUTAGE_RATE ?? 4);
const OUTAGE_SECONDS = Number(process.env.OUTAGE_SECONDS ?? 90);
const SAMPLE_MS = 5_000;
const MB = 1024 * 1024;

interface Sample {
  s: number;
  rssMb: number;
  heapMb: number;
  redisMb: number;
  acked: number;
  refused: number;
}

async function serverMemory(url: string): Promise<{ rss: number; heap: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const read = (name: string) => Number(new RegExp(`^${name} (\\S+)`, "m").exec(text)?.[1] ?? NaN);
  return { rss: read("process_resident_memory_bytes"), heap: read("nodejs_heap_size_used_bytes") };
}

async function redisMemory(redis: Redis): Promise<number> {
  const info = await redis.info("memory");
  return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? NaN);
}

const round = (bytes: number) => Math.round((bytes / MB) * 10) / 10;

export default async function outageMemory(): Promise<Record<string, unknown>> {
  const [pg, redisInstance] = await Promise.all([
    startPostgres(2791 + offset()),
    startRedis(2792 + offset()),
  ]);
  const redis = new Redis(redisInstance.url);
  const server = await spawnServer(
    {
      DATABASE_URL: pg.url,
      REDIS_URL: redisInstance.url,
      LOOM_MAX_PENDING_TURNS: String(BOUND),
      LOOM_LOG_LEVEL: "error",
    },
    2793,
  );
  try {
    console.error(
      `outage-memory: ${UNIVERSES} universes, ${CHARACTERS} characters at ${RATE}/s, bound ${BOUND}`,
    );
    const fleet = await populateLoom(server.url, {
      universes: UNIVERSES,
      characters: CHARACTERS,
      spectatorsPerUniverse: 0,
    });
    const recorder = new Recorder(RATE);
    const stop = new AbortController();
    const driving = drive(fleet, recorder, {
      ratePerCharacter: RATE,
      gmRate: 0,
      durationMs: 60 * 60_000,
      jitter: 0.3,
      random: Math.random,
      signal: stop.signal,
    });
    // a few seconds of normal play first: the baseline
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    (globalThis as { gc?: () => void }).gc?.();
    const samples: Sample[] = [];
    const sample = async (s: number) => {
      const memory = await serverMemory(server.url);
      const entry = {
        s,
        rssMb: round(memory.rss),
        heapMb: round(memory.heap),
        redisMb: round(await redisMemory(redis)),
        acked: recorder.acked,
        refused: recorder.rejectedTotal,
      };
      samples.push(entry);
      console.error(`outage-memory: ${JSON.stringify(entry)}`);
    };
    await sample(0);
    await pg.stop();
    const downAt = Date.now();
    const ackedAtDown = recorder.acked;
    while (Date.now() - downAt < OUTAGE_SECONDS * 1000) {
      await new Promise((resolve) => setTimeout(resolve, SAMPLE_MS));
      await sample(Math.round((Date.now() - downAt) / 1000));
    }
    const waiting = recorder.acked - ackedAtDown;
    await pg.start();
    const upAt = Date.now();
    // the backlog: every turn acknowledged before the database came back (play goes on meanwhile)
    const backlog = observedHeads(fleet);
    const caughtUp = await waitUntil(
      () =>
        fleet.universes.every((universe) => universe.gm.session.persistedThrough >= backlog[universe.index]!),
      120_000,
    );
    const catchUpMs = Date.now() - upAt;
    stop.abort();
    await driving;
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    await sample(Math.round((Date.now() - downAt) / 1000));
    await fleet.leave();

    const base = samples[0]!;
    const peak = {
      rssMb: Math.max(...samples.map((entry) => entry.rssMb)),
      heapMb: Math.max(...samples.map((entry) => entry.heapMb)),
      redisMb: Math.max(...samples.map((entry) => entry.redisMb)),
    };
    const atBound = samples.filter((entry) => entry.refused > base.refused);
    return {
      bound: BOUND,
      universes: UNIVERSES,
      outageSeconds: OUTAGE_SECONDS,
      offeredPerSecond: CHARACTERS * RATE,
      turnsWaiting: waiting,
      baseline: { rssMb: base.rssMb, heapMb: base.heapMb, redisMb: base.redisMb },
      peak,
      /** Growth over the outage per turn that waited. */
      heapKbPerWaitingTurn:
        Math.round((((peak.heapMb - base.heapMb) * MB) / Math.max(1, waiting) / 1024) * 10) / 10,
      rssKbPerWaitingTurn:
        Math.round((((peak.rssMb - base.rssMb) * MB) / Math.max(1, waiting) / 1024) * 10) / 10,
      /** Samples once every universe was at the bound: refusals, and memory flat. */
      plateau: atBound.map((entry) => ({ s: entry.s, rssMb: entry.rssMb, heapMb: entry.heapMb })),
      refused: recorder.rejectedTotal,
      caughtUp,
      catchUpMs,
      after: samples.at(-1),
    };
  } finally {
    await server.stop("SIGKILL");
    redis.disconnect();
    await Promise.all([pg.close(), redisInstance.close()]);
  }
}

function offset(): number {
  return Number(process.env.LOOM_TEST_PORT_OFFSET ?? 0);
}
