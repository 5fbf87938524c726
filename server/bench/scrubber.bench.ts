// The GM console's timeline scrubber on a 100,000-turn universe played by the rules
// (LOOM_BENCH_TURNS to change it): the HTTP routes the scrubber calls, timed by the server itself
// (its Server-Timing header: the handler and the serialization of its answer) and at the client.
// A real Loom server runs in this process: Postgres (a database `loom_bench_scrubber` or
// LOOM_BENCH_DATABASE, dropped afterwards) and Redis when DATABASE_URL and REDIS_URL are set,
// otherwise embedded (PGlite in a temporary folder). The universe is written straight into the
// server's turn store, with a snapshot every 100 turns. Target: every position within 5 ms server side. LOOM_BENCH_KEEP=<dir>
// keeps the database (and, embedded, the data folder <dir>) for the next run, which then skips
// building the universe. The first scrub starts the universe's index (scrub-index.ts): far jumps
// are timed while it builds and after; run with --expose-gc for its heap figure.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadavg } from "node:os";
import { Worker } from "node:worker_threads";
import postgres from "postgres";
import { loadConfig } from "../src/config.ts";
import { startLoomServer } from "../src/app.ts";
import { services } from "../src/services.ts";
import { storePlayedUniverse } from "../src/persist/testing/played.ts";
import { BENCH_TURNS, percentile, positions } from "./fixture.ts";

// LOOM_BENCH_DATABASE: another name, when several checkouts run benchmarks on one Postgres
const DATABASE = process.env.LOOM_BENCH_DATABASE || "loom_bench_scrubber";
const SNAPSHOT_EVERY = 100;

interface Timed {
  server: number;
  client: number;
}

export default async function scrubber(): Promise<Record<string, unknown>> {
  const turns = Number(process.env.LOOM_BENCH_TURNS || BENCH_TURNS);
  const port = Number(process.env.LOOM_BENCH_PORT || 7531);
  const keep = process.env.LOOM_BENCH_KEEP || null;
  const dataDir = keep ?? mkdtempSync(join(tmpdir(), "loom-scrubber-bench-"));
  const admin = process.env.DATABASE_URL
    ? postgres(process.env.DATABASE_URL, { max: 1, onnotice: () => {} })
    : null;
  let databaseUrl: string | null = null;
  if (admin) {
    const exists = await admin`select 1 from pg_database where datname = ${DATABASE}`;
    if (!keep || exists.length === 0) {
      await admin.unsafe(`DROP DATABASE IF EXISTS ${DATABASE} WITH (FORCE)`);
      await admin.unsafe(`CREATE DATABASE ${DATABASE}`);
    }
    const url = new URL(process.env.DATABASE_URL!);
    url.pathname = `/${DATABASE}`;
    databaseUrl = url.href;
  }
  const server = await startLoomServer(
    loadConfig(
      {},
      {
        databaseUrl,
        redisUrl: databaseUrl ? process.env.REDIS_URL || null : null,
        secret: "loom-bench-secret-0123456789abcdef",
        dataDir,
        port,
      },
    ),
  );
  const base = `http://127.0.0.1:${port}`;
  let client: ScrubClient | null = null;
  try {
    const registered = await gameMaster(base);
    const universeId = await buildUniverse(registered.player.id, turns);
    // the bench's client is a thread of its own, as a game master's browser is another machine:
    // its garbage would otherwise be collected on the server's thread, inside the timed handlers
    client = new ScrubClient(`${base}/api/universes/${universeId}`, registered.token);
    const get = (path: string) => client!.get(path);
    const load = loadavg()[0]!.toFixed(2);
    process.stderr.write(`  measuring (load average ${load})\n`);
    const heapBefore = heapUsedMb();
    const buffersBefore = process.memoryUsage().arrayBuffers;
    // the first scrub of the universe starts its index; jumps past what it covers read snapshots
    const indexStarted = performance.now();
    const cold = [];
    for (const position of positions(30, turns, 5))
      cold.push(timing(await get(`/scrub?position=${position}`)));
    let indexed = false;
    for (let attempt = 1; !indexed; attempt++) {
      // near the head, where the index ends
      const probe = await get(`/scrub?position=${turns - 3 - ((attempt * 7) % 1_000)}`);
      indexed = probe.kind === "index";
      if (!indexed) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const indexSeconds = (performance.now() - indexStarted) / 1000;
    const indexHeapMb = heapUsedMb() - heapBefore;
    // embedded, the turns the scrubber keeps deflated (scrub-turns.ts) are buffers outside the heap
    const indexBuffersMb = (process.memoryUsage().arrayBuffers - buffersBefore) / 2 ** 20;
    process.stderr.write(
      `  index built in ${indexSeconds.toFixed(1)} s, heap +${indexHeapMb.toFixed(1)} MB\n`,
    );

    const sources = { snapshot: 0, walk: 0, index: 0 };
    const far = [];
    for (const position of positions(300, turns, 11)) {
      const timed = await get(`/scrub?position=${position}`);
      sources[timed.kind as keyof typeof sources]++;
      far.push(timing(timed));
    }
    // a drag: resting points a few turns apart, then a key press at a time
    const drag = [];
    const step = [];
    for (const start of positions(20, turns, 13)) {
      let position = start;
      for (let i = 0; i < 20; i++) {
        position = Math.max(0, Math.min(turns, position + ((i * 7919) % 41) - 20));
        drag.push(timing(await get(`/scrub?position=${position}`)));
      }
      for (let i = 0; i < 10; i++) {
        position = Math.min(turns, position + 1);
        step.push(timing(await get(`/scrub?position=${position}`)));
      }
    }
    const diff = [];
    const turn = [];
    for (const position of positions(300, turns - 1, 17)) {
      diff.push(timing(await get(`/diff?from=${position}&to=${position + 1}`)));
      turn.push(timing(await get(`/turns/${position + 1}`)));
    }
    const full = [];
    let stateKb = 0;
    for (const position of positions(30, turns, 19)) {
      const timed = await get(`/state?position=${position}`);
      stateKb = Math.round(timed.stateChars / 1024);
      full.push(timing(timed));
    }
    return {
      driver: services().turnStore.driver,
      live: services().liveStore.kind,
      // reads of the live stream answered from copies, and sent to Redis (stream-copies.ts)
      stream_reads: services().liveStore.streamCopies?.().counts ?? null,
      turns,
      state_kb_last_read: stateKb,
      load_average_1m: Number(load),
      scrub_far_while_indexing: figures(cold),
      index_built_s: Number(indexSeconds.toFixed(2)),
      index_heap_mb: Number(indexHeapMb.toFixed(1)),
      index_buffers_mb: Number(indexBuffersMb.toFixed(1)),
      scrub_far: { ...figures(far), ...sources },
      scrub_drag: figures(drag),
      scrub_step: figures(step),
      diff: figures(diff),
      turn: figures(turn),
      full_state_with_checksum: figures(full),
    };
  } finally {
    await client?.close();
    await server.shutdown();
    if (!keep) rmSync(dataDir, { recursive: true, force: true });
    if (admin && keep) await admin.end();
    else if (admin) {
      await admin.unsafe(`DROP DATABASE IF EXISTS ${DATABASE} WITH (FORCE)`);
      await admin.end();
    }
  }
}

const timing = ({ server, client }: Timed): Timed => ({ server, client });

/** The heap in use after a full collection, when the process runs with --expose-gc. */
function heapUsedMb(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().heapUsed / 2 ** 20;
}

function figures(timings: Timed[]) {
  const server = timings.map((t) => t.server).sort((a, b) => a - b);
  const client = timings.map((t) => t.client).sort((a, b) => a - b);
  return {
    reads: timings.length,
    server_p50_ms: percentile(server, 50),
    server_p99_ms: percentile(server, 99),
    server_max_ms: percentile(server, 100),
    client_p50_ms: percentile(client, 50),
    client_p99_ms: percentile(client, 99),
  };
}

/** The benchmark's game master: registered, or logged in again when the data was kept. */
async function gameMaster(base: string): Promise<{ player: { id: string }; token: string }> {
  const body = JSON.stringify({ name: "bench-gm", password: "bench-gm has a long password" });
  const headers = { "content-type": "application/json" };
  let response = await fetch(`${base}/api/players`, { method: "POST", headers, body });
  if (response.status === 409)
    response = await fetch(`${base}/api/auth/login`, { method: "POST", headers, body });
  if (!response.ok) throw new Error(`no game master: ${response.status} ${await response.text()}`);
  return (await response.json()) as { player: { id: string }; token: string };
}

async function buildUniverse(gm: string, turns: number): Promise<string> {
  const id = `scrub-bench-${turns}`;
  if (await services().turnStore.getUniverse(id)) return id;
  const started = performance.now();
  await storePlayedUniverse(services().turnStore, {
    id,
    name: "Scrubber bench",
    createdBy: gm,
    turns,
    snapshotEvery: SNAPSHOT_EVERY,
    progress: (head) => {
      if (head % 10_000 === 0 || head === turns)
        process.stderr.write(
          `  played and stored ${head} turns in ${((performance.now() - started) / 1000).toFixed(1)} s\n`,
        );
    },
  });
  return id;
}

/** What the client thread keeps of an answer: the timings, and the few facts the bench reads. */
interface Answer extends Timed {
  /** A scrub's `source.kind`. */
  kind?: string;
  /** The length of a state read's `state` as JSON. */
  stateChars: number;
}

const CLIENT_THREAD = `
const { parentPort } = require("node:worker_threads");
parentPort.on("message", async ({ id, url, token }) => {
  try {
    const started = performance.now();
    const response = await fetch(url, { headers: { authorization: "Bearer " + token } });
    const body = await response.json();
    const client = performance.now() - started;
    if (!response.ok) throw new Error(url + ": " + response.status + " " + JSON.stringify(body));
    const server = Number(/dur=([\\d.]+)/.exec(response.headers.get("server-timing") ?? "")?.[1]);
    const stateChars = body.state === undefined ? 0 : JSON.stringify(body.state).length;
    parentPort.postMessage({ id, answer: { server, client, kind: body.source?.kind, stateChars } });
  } catch (error) {
    parentPort.postMessage({ id, error: String(error) });
  }
});
`;

/** The bench's HTTP client, on a thread (and a heap) of its own. */
class ScrubClient {
  private readonly worker = new Worker(CLIENT_THREAD, { eval: true });
  private readonly waiting = new Map<number, { resolve: (a: Answer) => void; reject: (e: Error) => void }>();
  private sent = 0;

  constructor(
    private readonly base: string,
    private readonly token: string,
  ) {
    this.worker.on("message", ({ id, answer, error }: { id: number; answer?: Answer; error?: string }) => {
      const waiting = this.waiting.get(id)!;
      this.waiting.delete(id);
      if (answer) waiting.resolve(answer);
      else waiting.reject(new Error(error));
    });
  }

  get(path: string): Promise<Answer> {
    const id = this.sent++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker.postMessage({ id, url: `${this.base}${path}`, token: this.token });
    });
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}
