// Import: the JSONL export of a 100 000-turn universe (LOOM_BENCH_TURNS to change it) read into a
// new universe with every check `loom import` makes (each line, each snapshot's checksum, the
// timeline replayed against every snapshot), in turns/s, with peak memory above the start; and
// until its search documents are written too, which `loom import` waits for before it ends. The
// same for a universe a tenth that size. Target: ≥ 20 000 turns/s. What the import holds in memory
// is `import_live_heap_mb` (see export.bench.ts), from a second, untimed import. On a shared
// machine the rate is the scheduler's; the CPU a turn is the import's own: of this process (both
// threads) and of the Postgres backends during the timed import (`import_*_cpu_us_per_turn`),
// and of the checks alone, the file read and checked on this thread and nothing written
// (`check_cpu_us_per_turn`, what the checking thread does in an import).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkedItems } from "../src/export/checked-items.ts";
import { importJsonl } from "../src/export/index.ts";
import { installNativeSha256 } from "../src/native-sha256.ts";
import { cpuMeter } from "./cpu.ts";
import { BENCH_TURNS, openBenchDatabase } from "./fixture.ts";
import { builtUniverse, liveHeapMb, peakAbove, timedExport } from "./export.bench.ts";

async function measure(turns: number): Promise<Record<string, unknown>> {
  const database = await openBenchDatabase();
  const dir = mkdtempSync(join(tmpdir(), "loom-import-bench-"));
  try {
    const id = await builtUniverse(database, turns);
    const file = join(dir, "universe.jsonl");
    await timedExport(database, id, "jsonl", file);
    global.gc?.();
    // the new universe's game master, a player of the database
    await database.accountStore.createAccount({
      id: "bench",
      name: "Bench",
      login: null,
      passwordHash: null,
      createdAt: new Date(),
    });
    const stores = { turnStore: database.store, accountStore: database.accountStore };
    let checkedAndWritten = 0;
    let cpu = { processUs: 0, postgresUs: null as number | null };
    const run = await peakAbove(async () => {
      const meter = await cpuMeter(database);
      const started = performance.now();
      await importJsonl(stores, file, { gm: "bench" });
      checkedAndWritten = (performance.now() - started) / 1000;
      cpu = await meter.read();
      await database.store.settleSearchIndex();
    });
    process.stderr.write(
      `  ${turns} turns, import: ${checkedAndWritten.toFixed(1)} s, indexed after ${run.seconds.toFixed(1)} s\n`,
    );
    const live = await liveHeapMb((onProgress) => importJsonl(stores, file, { gm: "bench", onProgress }));
    await database.store.settleSearchIndex();
    const checkStarted = process.cpuUsage();
    for await (const item of checkedItems(file, null, "universe-check-bench")) void item;
    const checkUsed = process.cpuUsage(checkStarted);
    const perTurn = (us: number | null) => (us === null ? null : Math.round((us / turns) * 10) / 10);
    return {
      turns,
      import_turns_per_s: Math.round(turns / checkedAndWritten),
      import_indexed_turns_per_s: Math.round(turns / run.seconds),
      import_process_cpu_us_per_turn: perTurn(cpu.processUs),
      import_postgres_cpu_us_per_turn: perTurn(cpu.postgresUs),
      check_cpu_us_per_turn: perTurn(checkUsed.user + checkUsed.system),
      import_peak_rss_mb: run.peakMb,
      import_peak_heap_mb: run.heapMb,
      import_live_heap_mb: live?.most ?? null,
      import_live_heap_median_mb: live?.median ?? null,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await database.dispose();
  }
}

/** A tenth of LOOM_BENCH_TURNS, then LOOM_BENCH_TURNS. */
export default async function importBench(): Promise<Record<string, unknown>> {
  // as `loom import` does: the checks on this thread (PGlite's import, the untimed check) hash natively
  installNativeSha256();
  const turns = Number(process.env.LOOM_BENCH_TURNS || BENCH_TURNS);
  const small = await measure(Math.max(100, Math.round(turns / 10)));
  const large = await measure(turns);
  return { driver: process.env.DATABASE_URL ? "postgres" : "pglite", ...large, small };
}
