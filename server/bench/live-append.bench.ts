// Appends to the live store's write-ahead stream: one turn per call (what the room does per
// command) and batches (catch-up after a burst). Redis when REDIS_URL is set, else the embedded
// write-ahead log file in a temporary folder (each single append waits for its own sync).
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLiveStore } from "../src/live/index.ts";
import { sampleTurn, sampleTurns } from "../src/live/fixtures.ts";
import { percentile } from "./fixture.ts";

const SINGLE_TURNS = 5_000;
const BATCH_SIZE = 100;
const BATCHES = 100;

export default async function liveAppend(): Promise<Record<string, unknown>> {
  const walDir = process.env.REDIS_URL ? undefined : mkdtempSync(join(tmpdir(), "loom-bench-wal-"));
  const store = await createLiveStore({ redisUrl: process.env.REDIS_URL, walDir });
  const universeId = `bench-${randomUUID()}`;
  try {
    const lease = await store.acquire(universeId, "bench", 60_000);
    if (!lease) throw new Error(`could not take the lock of ${universeId}`);

    console.error(`live-append (${store.kind}): ${SINGLE_TURNS} single-turn appends`);
    const latencies: number[] = [];
    const singleStart = performance.now();
    for (let position = 1; position <= SINGLE_TURNS; position += 1) {
      const start = performance.now();
      await store.appendTurns(lease, [sampleTurn(universeId, position)]);
      latencies.push(performance.now() - start);
    }
    const singleSeconds = (performance.now() - singleStart) / 1000;

    console.error(`live-append (${store.kind}): ${BATCHES} batches of ${BATCH_SIZE}`);
    const batches = Array.from({ length: BATCHES }, (_, i) =>
      sampleTurns(universeId, SINGLE_TURNS + 1 + i * BATCH_SIZE, BATCH_SIZE),
    );
    const batchStart = performance.now();
    for (const batch of batches) await store.appendTurns(lease, batch);
    const batchSeconds = (performance.now() - batchStart) / 1000;

    const tail = await store.readTail(universeId, 0);
    if (tail.length !== SINGLE_TURNS + BATCHES * BATCH_SIZE)
      throw new Error(`read back ${tail.length} turns`);

    latencies.sort((a, b) => a - b);
    return {
      store: store.kind,
      turnBytes: JSON.stringify(sampleTurn(universeId, 1)).length,
      singleAppends: SINGLE_TURNS,
      singleAppendsPerSec: Math.round(SINGLE_TURNS / singleSeconds),
      singleP50Ms: round(percentile(latencies, 50)),
      singleP99Ms: round(percentile(latencies, 99)),
      batchSize: BATCH_SIZE,
      batchedTurns: BATCHES * BATCH_SIZE,
      batchedTurnsPerSec: Math.round((BATCHES * BATCH_SIZE) / batchSeconds),
    };
  } finally {
    await store.drop(universeId);
    await store.close();
    if (walDir) rmSync(walDir, { recursive: true, force: true });
  }
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
