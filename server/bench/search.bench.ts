// Search: a timeline search (first page, 50 turns, newest first, as the API asks) on a 100 000-turn
// universe once the indexer has passed it, for a word no turn has, a word of many turns and a
// phrase. p50 / p99 of 30 searches each, in ms.
import { BENCH_TURNS, buildBenchUniverse, openBenchDatabase, percentile } from "./fixture.ts";
import type { TurnStore } from "../src/persist/index.ts";

const RUNS = 30;

async function timed(
  store: TurnStore,
  id: string,
  q: string,
): Promise<{ p50: number; p99: number; found: number }> {
  const times: number[] = [];
  let found = 0;
  for (let i = 0; i < RUNS; i++) {
    const started = performance.now();
    found = (await store.timeline(id, { q, order: "desc", limit: 50 })).turns.length;
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 50), p99: percentile(times, 99), found };
}

export default async function search(): Promise<Record<string, unknown>> {
  const database = await openBenchDatabase();
  try {
    const built = await buildBenchUniverse(database.store);
    const { store } = database;
    await store.settleSearchIndex();
    const sample = (await store.turnsBetween(built.id, 49_999, 50_000))[0]!;
    const text = [sample.input.description, sample.input.text].find((t) => typeof t === "string");
    const common = (text ?? "marsh").split(" ")[0]!;
    const queries = { absent: "zephyrquill", common, phrase: `"${common} the"` };
    const figures: Record<string, unknown> = {
      driver: database.driver,
      turns: BENCH_TURNS,
      common,
    };
    for (const [name, q] of Object.entries(queries))
      figures[`indexed_${name}`] = await timed(store, built.id, q);
    return figures;
  } finally {
    await database.dispose();
  }
}
