// Jump: the state at 1,000 random positions of a 100,099-turn universe with a snapshot every 100
// turns (nearest snapshot + at most 99 turns' deltas, checksum included), played by the rules
// unless `--state=synthetic` (played.ts). Target p99 ≤ 5 ms on Postgres.
import { loadavg } from "node:os";
import { BENCH_TURNS, percentile, positions } from "./fixture.ts";
import { openBenchUniverse } from "./played.ts";

function heapUsedMb(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return Math.round(process.memoryUsage().heapUsed / 2 ** 20);
}

export default async function jump(): Promise<Record<string, unknown>> {
  const { database, id, state } = await openBenchUniverse(BENCH_TURNS + 99);
  try {
    const head = await database.store.headPosition(id);
    // a universe built for this run is indexed for search behind its log: done before the jumps,
    // as a server's is long before anyone jumps through a campaign this long
    await database.store.settleSearchIndex();
    for (const position of positions(50, head, 1)) await database.store.stateAt(id, position); // warm up
    const load = loadavg()[0]!;
    const timings: number[] = [];
    let replayed = 0;
    for (const position of positions(1_000, head)) {
      const started = performance.now();
      const at = await database.store.stateAt(id, position);
      timings.push(performance.now() - started);
      replayed += at.replayed;
    }
    timings.sort((a, b) => a - b);
    const last = await database.store.getSnapshotAtOrBefore(id, head);
    return {
      driver: database.driver,
      state,
      turns: head,
      state_kb_at_head: Math.round(JSON.stringify(last?.state).length / 1024),
      jumps: timings.length,
      p50_ms: percentile(timings, 50),
      p99_ms: percentile(timings, 99),
      max_ms: percentile(timings, 100),
      mean_replayed: Math.round(replayed / timings.length),
      // the states kept for later jumps included (LOOM_KEPT_STATES_MB); after a full collection with --expose-gc
      heap_used_mb: heapUsedMb(),
      load_average_1m: Number(load.toFixed(2)),
    };
  } finally {
    await database.dispose();
  }
}
