// The turn-store benchmarks' universe: by default a campaign played by the rules (shared's
// simulator: actions, choices, world events, scenes, compels, retcons, undos), whose state grows to
// about 1.8 MB at 100,000 turns, as a real campaign's does. Simulating and storing it takes a few
// minutes, so it is kept between runs in a database of its own (openKeptBenchDatabase) and
// reused when its head and its snapshot at turn 1,000 match what the rules play today.
// `--state=synthetic` (or LOOM_BENCH_STATE=synthetic) builds the synthetic campaign instead, whose
// state stays near 37 KB, in a database made for the run.
import { checksum } from "@loom/shared";
import { playCampaign } from "@loom/shared/testing";
import { storePlayedUniverse } from "../src/persist/testing/played.ts";
import {
  buildBenchUniverse,
  openBenchDatabase,
  openKeptBenchDatabase,
  type BenchDatabase,
} from "./fixture.ts";

export type BenchState = "played" | "synthetic";

export interface BenchUniverse {
  database: BenchDatabase;
  id: string;
  state: BenchState;
}

const SEED = 16;
const FINGERPRINT_AT = 1_000;

/** `--state=played|synthetic` on the command line, or LOOM_BENCH_STATE; played by default. */
export function benchState(): BenchState {
  const argument = process.argv.find((arg) => arg.startsWith("--state="))?.slice("--state=".length);
  const state = argument ?? process.env.LOOM_BENCH_STATE ?? "played";
  if (state !== "played" && state !== "synthetic")
    throw new Error(`--state is played or synthetic, not "${state}"`);
  return state;
}

/** A database holding a universe of `turns` turns, with a snapshot every 100. */
export async function openBenchUniverse(turns: number): Promise<BenchUniverse> {
  const state = benchState();
  if (state === "synthetic") {
    const database = await openBenchDatabase();
    const { id } = await buildBenchUniverse(database.store, turns);
    return { database, id, state };
  }
  const id = `played-${SEED}-${turns}`;
  const kept = await openKeptBenchDatabase();
  if (await matches(kept, id, turns)) {
    process.stderr.write(`  the played universe ${id} kept from an earlier run\n`);
    return { database: kept, id, state };
  }
  await kept.dispose();
  const database = await openKeptBenchDatabase(true);
  await buildPlayed(database, id, turns);
  return { database, id, state };
}

/** Whether the kept universe is complete and is what the rules play today. */
async function matches(database: BenchDatabase, id: string, turns: number): Promise<boolean> {
  if (!(await database.store.getUniverse(id))) return false;
  if ((await database.store.headPosition(id)) !== turns) return false;
  const snapshot = await database.store.getSnapshotAtOrBefore(id, FINGERPRINT_AT);
  if (snapshot?.position !== FINGERPRINT_AT) return false;
  const played = playCampaign({ seed: SEED, turns: FINGERPRINT_AT, universeId: id });
  let state = played.genesis;
  for (const step of played.steps) state = step.state;
  return checksum(state) === snapshot.checksum;
}

async function buildPlayed(database: BenchDatabase, id: string, turns: number): Promise<void> {
  const started = performance.now();
  const seconds = () => ((performance.now() - started) / 1000).toFixed(1);
  process.stderr.write(`  playing ${turns} turns by the rules and storing them (kept for later runs)\n`);
  await storePlayedUniverse(database.store, {
    id,
    name: "Played bench campaign",
    createdBy: "builder",
    turns,
    seed: SEED,
    snapshotEvery: 100,
    progress: (head) => {
      if (head % 10_000 === 0 || head === turns)
        process.stderr.write(`  played and stored ${head} turns in ${seconds()} s\n`);
    },
  });
  process.stderr.write(`  played universe of ${turns} turns built in ${seconds()} s\n`);
}
