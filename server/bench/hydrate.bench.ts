// Hydrate: the newest state of a 100,099-turn universe, 99 turns past its newest snapshot (the
// worst case of the every-100-turns policy), played by the rules unless `--state=synthetic`
// (played.ts). `first_ms` is the process's first open of it, made as a room opens a universe
// (`UniverseAuthority.hydrate`: the snapshot read hashed against its checksum, the state's own
// checksum left out), after the statements were prepared as a server does at start
// (`TurnStore.warm`) and before anything read its newest snapshot; `recheck_p50_ms` is
// the same open made again; `p50_ms` a read with the state's checksum (`latestState`), answered
// after the first from the states that read kept. `serving_first_*` is the first open by a store
// that has read nothing of the universe, in this process once it has served it
// (`BenchDatabase.freshStore`): what a running server pays to open a universe it has not opened
// before, each of them with parts to read and parse.
// Target ≤ 50 ms.
import { loadavg } from "node:os";
import { BENCH_TURNS, percentile } from "./fixture.ts";
import { openBenchUniverse } from "./played.ts";

const RUNS = 20;

export default async function hydrate(): Promise<Record<string, unknown>> {
  const { database, id, state } = await openBenchUniverse(BENCH_TURNS + 99);
  try {
    const load = loadavg()[0]!;
    // as a server does at start, before any room opens
    await database.store.warm(1);
    const first = performance.now();
    const cold = await database.store.latestState(id, { recheck: true, checksummed: false });
    const coldMs = performance.now() - first;
    const timings: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const started = performance.now();
      await database.store.latestState(id);
      timings.push(performance.now() - started);
    }
    timings.sort((a, b) => a - b);
    // as a room opens it: every snapshot read hashed again, the state's own checksum left out
    const rechecked: number[] = [];
    for (let i = 0; i < 5; i++) {
      const started = performance.now();
      await database.store.latestState(id, { recheck: true, checksummed: false });
      rechecked.push(performance.now() - started);
    }
    rechecked.sort((a, b) => a - b);
    const serving: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const store = database.freshStore();
      try {
        const started = performance.now();
        await store.latestState(id, { recheck: true, checksummed: false });
        serving.push(performance.now() - started);
      } finally {
        await store.close();
      }
    }
    serving.sort((a, b) => a - b);
    return {
      driver: database.driver,
      state,
      turns: cold.position,
      state_kb: Math.round(JSON.stringify(cold.state).length / 1024),
      replayed: cold.replayed,
      first_ms: Math.round(coldMs * 1000) / 1000,
      p50_ms: percentile(timings, 50),
      max_ms: percentile(timings, 100),
      recheck_p50_ms: percentile(rechecked, 50),
      serving_first_p50_ms: percentile(serving, 50),
      serving_first_max_ms: percentile(serving, 100),
      load_average_1m: Number(load.toFixed(2)),
    };
  } finally {
    await database.dispose();
  }
}
