// Jump: the state at 1 000 random positions of a 100 000-turn universe with a snapshot every 100
// turns (nearest snapshot + at most 99 turns' deltas, checksum included). Target p99 ≤ 5 ms on Postgres.
import { buildBenchUniverse, openBenchDatabase, percentile, positions } from "./fixture.ts";

export default async function jump(): Promise<Record<string, unknown>> {
  const database = await openBenchDatabase();
  try {
    const { id } = await buildBenchUniverse(database.store);
    const head = await database.store.headPosition(id);
    for (const position of positions(50, head, 1)) await database.store.stateAt(id, position); // warm up
    const timings: number[] = [];
    let replayed = 0;
    for (const position of positions(1_000, head)) {
      const started = performance.now();
      const at = await database.store.stateAt(id, position);
      timings.push(performance.now() - started);
      replayed += at.replayed;
    }
    timings.sort((a, b) => a - b);
    return {
      driver: database.driver,
      turns: head,
      jumps: timings.length,
      p50_ms: percentile(timings, 50),
      p99_ms: percentile(timings, 99),
      max_ms: percentile(timings, 100),
      mean_replayed: Math.round(replayed / timings.length),
    };
  } finally {
    await database.dispose();
  }
}
