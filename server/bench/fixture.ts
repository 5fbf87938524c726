// The benchmarks' database and universe. With DATABASE_URL: a database `loom_bench` created for
// the run next to the configured one and dropped afterwards; without: PGlite in a temporary
// directory, removed afterwards. Progress goes to stderr. The turn-store benchmarks' universe
// (`openBenchUniverse`) is a campaign played by the rules, kept between runs (played.ts).
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { DrizzleTurnStore } from "../src/persist/drizzle-turn-store.ts";
import { openDatabase } from "../src/persist/index.ts";
import type { OpenDatabase, TurnStore } from "../src/persist/index.ts";
import { buildUniverse } from "../src/persist/testing/build.ts";
import type { BuiltUniverse } from "../src/persist/testing/build.ts";
import type { SearchIndexOptions } from "../src/persist/search-index.ts";
import { SavePoints, type SavePointStore } from "../src/persist/save-points.ts";
import { DrizzleAccountStore } from "../src/persist/accounts.ts";
import type { AccountStore } from "../src/auth/account-store.ts";

export interface BenchDatabase {
  store: TurnStore;
  savePoints: SavePointStore;
  accountStore: AccountStore;
  driver: TurnStore["driver"];
  /** Raw SQL on the store's database, for measurements outside the port. */
  query<T>(text: string): Promise<T[]>;
  /** The Postgres database's URL (null on PGlite), for what opens connections of its own. */
  url: string | null;
  /**
   * Another store on the same connections that has read nothing yet (its snapshot parts and kept
   * states empty), as a process that has served other universes meets one it has not: its code
   * is compiled and its heap grown, the universe's rows are new to it. Closing it leaves the
   * database open.
   */
  freshStore(): TurnStore;
  dispose(): Promise<void>;
}

// LOOM_BENCH_DATABASE: another name, when several checkouts run benchmarks on one Postgres
const BENCH_DATABASE = process.env.LOOM_BENCH_DATABASE || "loom_bench";

/**
 * `name`: the Postgres database to create for the run (a benchmark that must not share one);
 * `searchIndex`: the store's search indexer (by default as in a server, 100 ms behind the appends).
 */
export async function openBenchDatabase(
  name = BENCH_DATABASE,
  searchIndex: SearchIndexOptions = {},
): Promise<BenchDatabase> {
  const url = process.env.DATABASE_URL;
  if (url) {
    const admin = postgres(url, { max: 1, onnotice: () => {} });
    await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.unsafe(`CREATE DATABASE ${name}`);
    const benchUrl = new URL(url);
    benchUrl.pathname = `/${name}`;
    const database = await openDatabase({ databaseUrl: benchUrl.href });
    return bench(database, searchIndex, benchUrl.href, async () => {
      await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    });
  }
  const dataDir = mkdtempSync(join(tmpdir(), "loom-bench-"));
  const database = await openDatabase({ dataDir });
  return bench(database, searchIndex, null, async () => rmSync(dataDir, { recursive: true, force: true }));
}

/**
 * A benchmark database kept between runs: `<LOOM_BENCH_DATABASE>_kept` on Postgres, or PGlite in
 * `<tmpdir>/<that name>-pglite`. `fresh`: emptied first (a fixture that no longer matches).
 */
export async function openKeptBenchDatabase(fresh = false): Promise<BenchDatabase> {
  const name = `${BENCH_DATABASE}_kept`;
  const url = process.env.DATABASE_URL;
  if (url) {
    const admin = postgres(url, { max: 1, onnotice: () => {} });
    if (fresh) await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    const exists = await admin`select 1 from pg_database where datname = ${name}`;
    if (exists.length === 0) await admin.unsafe(`CREATE DATABASE ${name}`);
    await admin.end();
    const benchUrl = new URL(url);
    benchUrl.pathname = `/${name}`;
    return bench(await openDatabase({ databaseUrl: benchUrl.href }), {}, benchUrl.href, async () => {});
  }
  const dataDir = join(tmpdir(), `${name}-pglite`);
  if (fresh) rmSync(dataDir, { recursive: true, force: true });
  if (!existsSync(dataDir)) mkdirSync(dataDir, { recursive: true });
  return bench(await openDatabase({ dataDir }), {}, null, async () => {});
}

function bench(
  database: OpenDatabase,
  searchIndex: SearchIndexOptions,
  url: string | null,
  cleanUp: () => Promise<void>,
): BenchDatabase {
  const store = new DrizzleTurnStore(
    database.driver,
    database.db,
    () => database.close(),
    undefined,
    searchIndex,
  );
  return {
    store,
    savePoints: new SavePoints(database.db, () => new Date()),
    accountStore: new DrizzleAccountStore(database.db),
    driver: database.driver,
    query: (text) => database.query(text),
    url,
    freshStore: () =>
      new DrizzleTurnStore(database.driver, database.db, async () => {}, undefined, searchIndex),
    dispose: async () => {
      await store.close();
      await cleanUp();
    },
  };
}

export const BENCH_TURNS = 100_000;

/** The benchmark universe: a synthetic campaign with narration, a snapshot every 100 turns. */
export async function buildBenchUniverse(store: TurnStore, turns = BENCH_TURNS): Promise<BuiltUniverse> {
  const started = performance.now();
  let reported = 0;
  const built = await buildUniverse(store, {
    turns,
    batch: 1000,
    snapshotEvery: 100,
    narrate: true,
    seed: 20_250_101,
    keepTurns: false,
    progress: (head) => {
      if (head - reported >= 10_000 || head === turns) {
        reported = head;
        const seconds = (performance.now() - started) / 1000;
        process.stderr.write(`  built ${head} turns in ${seconds.toFixed(1)} s\n`);
      }
    },
  });
  const seconds = (performance.now() - started) / 1000;
  process.stderr.write(
    `  universe of ${turns} turns built in ${seconds.toFixed(1)} s (${Math.round(turns / seconds)} turns/s)\n`,
  );
  return built;
}

/**
 * The `p`th percentile (0–100) of sorted milliseconds by nearest rank (the smallest sample with at
 * least p % of them at or below it), rounded to microseconds; 0 when there is none.
 */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return Math.round(sorted[index]! * 1000) / 1000;
}

/** A seeded source for reproducible random positions. */
export function positions(count: number, max: number, seed = 97): number[] {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return Array.from({ length: count }, () => Math.floor(next() * (max + 1)));
}
