// Hydrate: latestState of a 100 000-turn universe whose head is 99 turns past its newest snapshot
// (the worst case of the every-100-turns policy). Target ≤ 50 ms.
import { BENCH_TURNS, buildBenchUniverse, openBenchDatabase, percentile } from "./fixture.ts";

const RUNS = 20;

export default async function hydrate(): Promise<Record<string, unknown>> {
  const database = await openBenchDatabase();
  try {
    const { id } = await buildBenchUniverse(database.store, BENCH_TURNS + 99);
    const first = performance.now();
    const cold = await database.store.latestState(id);
    const coldMs = performance.now() - first;
    const timings: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const started = performance.now();
      await database.store.latestState(id);
      timings.push(performance.now() - started);
    }
    timings.sort((a, b) => a - b);
    return {
      driver: database.driver,
      turns: cold.position,
      replayed: cold.replayed,
      first_ms: Math.round(coldMs * 1000) / 1000,
      p50_ms: percentile(timings, 50),
      max_ms: percentile(timings, 100),
    };
  } finally {
    await database.dispose();
  }
}
