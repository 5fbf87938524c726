// Branching is copy-on-write: a branch stores a pointer (parent, position), never the parent's
// turns, so branching a 100 000-turn universe should cost what branching a 10-turn one does.
// Also times the first read of the new branch's state at its branch point.
import { randomUUID } from "node:crypto";
import { buildUniverse } from "../src/persist/testing/build.ts";
import { BENCH_TURNS, buildBenchUniverse, openBenchDatabase, percentile } from "./fixture.ts";

const RUNS = 50;

async function timeBranches(
  store: Awaited<ReturnType<typeof openBenchDatabase>>["store"],
  parentId: string,
  at: number,
) {
  const timings: number[] = [];
  let lastId = "";
  for (let i = 0; i < RUNS; i++) {
    const started = performance.now();
    const branch = await store.branchUniverse({
      id: randomUUID(),
      parentId,
      position: at,
      name: `branch ${i}`,
      createdBy: "bench",
    });
    timings.push(performance.now() - started);
    lastId = branch.id;
  }
  timings.sort((a, b) => a - b);
  const read = performance.now();
  const state = await store.stateAt(lastId, at);
  return {
    p50: percentile(timings, 50),
    p99: percentile(timings, 99),
    firstReadMs: performance.now() - read,
    position: state.position,
  };
}

export default async function branch(): Promise<Record<string, unknown>> {
  const database = await openBenchDatabase();
  try {
    // a different seed than the large universe's: turn ids derive from it and are unique
    const small = await buildUniverse(database.store, {
      turns: 10,
      batch: 10,
      snapshotEvery: 100,
      narrate: true,
      seed: 7,
      keepTurns: false,
    });
    const large = await buildBenchUniverse(database.store, BENCH_TURNS);
    const smallTimes = await timeBranches(database.store, small.id, 10);
    const largeTimes = await timeBranches(database.store, large.id, BENCH_TURNS);
    const round = (ms: number) => Math.round(ms * 1000) / 1000;
    return {
      driver: database.driver,
      branches_each: RUNS,
      small_turns: 10,
      small_branch_p50_ms: smallTimes.p50,
      small_branch_p99_ms: smallTimes.p99,
      large_turns: BENCH_TURNS,
      large_branch_p50_ms: largeTimes.p50,
      large_branch_p99_ms: largeTimes.p99,
      large_over_small_p50: round(largeTimes.p50 / smallTimes.p50),
      large_branch_first_state_read_ms: round(largeTimes.firstReadMs),
    };
  } finally {
    await database.dispose();
  }
}
