// Export: a 100 000-turn universe (LOOM_BENCH_TURNS to change it) written as JSONL and as Markdown,
// to a file, in turns/s, with the process's peak resident memory and heap above what they were
// before, and the same for a universe a tenth that size. Target: ≥ 50 000 turns/s. The peak heap
// counts garbage not yet collected, which grows with the run's length; what the export holds is
// `live_heap_mb` (the most) and `live_heap_median_mb`, measured in a second, untimed run with a
// full collection at every page (run with `node --expose-gc`): flat in the universe's size, a page of turns and a batch of snapshots
// at a time. `import.bench.ts` reads the JSONL back.
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exportUniverse, type ExportFormat, type Progress } from "../src/export/index.ts";
import { writeFileStreamed } from "../src/cli/output.ts";
import { BENCH_TURNS, buildBenchUniverse, openBenchDatabase, type BenchDatabase } from "./fixture.ts";
import { openBenchUniverse } from "./played.ts";
import { cpuMeter } from "./cpu.ts";

/** Peak RSS and heap while `work` runs, sampled every 20 ms, in MB above those at its start. */
export async function peakAbove<T>(
  work: () => Promise<T>,
): Promise<{ result: T; seconds: number; peakMb: number; heapMb: number }> {
  const start = process.memoryUsage();
  let peak = start.rss;
  let heap = start.heapUsed;
  const sample = () => {
    const now = process.memoryUsage();
    peak = Math.max(peak, now.rss);
    heap = Math.max(heap, now.heapUsed);
  };
  const timer = setInterval(sample, 20);
  const started = performance.now();
  try {
    const result = await work();
    sample();
    return {
      result,
      seconds: (performance.now() - started) / 1000,
      peakMb: Math.round((peak - start.rss) / 2 ** 20),
      heapMb: Math.round((heap - start.heapUsed) / 2 ** 20),
    };
  } finally {
    clearInterval(timer);
  }
}

/**
 * What of the heap `work` holds: heap used after a full collection at each of its progress reports
 * (a page of an export, a batch of an import), in MB above the heap after one before it, the most
 * and the median; `external`, the most of the heap and the memory outside it that V8 is told of
 * (buffers, and strings of more than about a megabyte copied from bytes, which Node keeps outside
 * the heap). Null without `--expose-gc`. Collections slow the run: it is not the timed one.
 */
export async function liveHeapMb(
  work: (onProgress: Progress) => Promise<unknown>,
): Promise<{ most: number; median: number; external: number } | null> {
  const gc = global.gc;
  if (!gc) return null;
  gc();
  const before = process.memoryUsage();
  const seen: number[] = [];
  let external = 0;
  await work(() => {
    gc();
    const now = process.memoryUsage();
    seen.push(now.heapUsed - before.heapUsed);
    external = Math.max(external, now.heapUsed + now.external - before.heapUsed - before.external);
  });
  seen.sort((a, b) => a - b);
  const mb = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;
  return {
    most: mb(seen[seen.length - 1] ?? 0),
    median: mb(seen[Math.floor(seen.length / 2)] ?? 0),
    external: mb(external),
  };
}

/**
 * The benchmark universe, with its search documents written: the indexer follows the appends on
 * a connection of its own, and measuring while it catches up with the build would time the
 * indexer, not the export.
 */
export async function builtUniverse(database: BenchDatabase, turns: number): Promise<string> {
  const { id } = await buildBenchUniverse(database.store, turns);
  await database.store.settleSearchIndex();
  global.gc?.();
  return id;
}

/** Writes the universe in `format` to `file`, timed, with its memory. */
export async function timedExport(database: BenchDatabase, id: string, format: ExportFormat, file: string) {
  const stores = { turnStore: database.store, savePoints: database.savePoints };
  return peakAbove(() =>
    writeFileStreamed(file, exportUniverse(stores, id, { format, audience: { kind: "gm" } })),
  );
}

/**
 * One size: the universe built, then exported in both formats, each timed with its memory.
 * `played`: the campaign played by the rules kept for the turn-store benchmarks instead (played.ts).
 */
async function measure(turns: number, played = false): Promise<Record<string, unknown>> {
  const universe = played ? await openBenchUniverse(turns) : null;
  const database = universe?.database ?? (await openBenchDatabase());
  const dir = mkdtempSync(join(tmpdir(), "loom-export-bench-"));
  try {
    const id = universe?.id ?? (await builtUniverse(database, turns));
    const figures: Record<string, unknown> = { state: played ? "played" : "synthetic", turns };
    for (const format of ["jsonl", "markdown"] as ExportFormat[]) {
      const cpu = await cpuMeter(database);
      const run = await timedExport(database, id, format, join(dir, `universe.${format}`));
      const used = await cpu.read();
      // the process's CPU, every thread, and its Postgres backends': on a shared machine less
      // noisy than the rate
      figures[`${format}_cpu_us_per_turn`] = Math.round((used.processUs / turns) * 10) / 10;
      if (used.postgresUs !== null)
        figures[`${format}_postgres_cpu_us_per_turn`] = Math.round((used.postgresUs / turns) * 10) / 10;
      process.stderr.write(`  ${turns} turns, ${format}: ${run.seconds.toFixed(1)} s\n`);
      figures[`${format}_turns_per_s`] = Math.round(turns / run.seconds);
      figures[`${format}_file_mb`] = Math.round(statSync(join(dir, `universe.${format}`)).size / 2 ** 20);
      figures[`${format}_peak_rss_mb`] = run.peakMb;
      figures[`${format}_peak_heap_mb`] = run.heapMb;
      global.gc?.();
      const stores = { turnStore: database.store, savePoints: database.savePoints };
      const live = await liveHeapMb((onProgress) =>
        writeFileStreamed(
          join(dir, `live.${format}`),
          exportUniverse(stores, id, { format, audience: { kind: "gm" }, onProgress }),
        ),
      );
      figures[`${format}_live_heap_mb`] = live?.most ?? null;
      figures[`${format}_live_heap_median_mb`] = live?.median ?? null;
      figures[`${format}_live_with_external_mb`] = live?.external ?? null;
    }
    return figures;
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await database.dispose();
  }
}

/**
 * A tenth of LOOM_BENCH_TURNS, then LOOM_BENCH_TURNS: memory flat in size means equal peaks.
 * `--state=played`: the 100,099-turn campaign played by the rules alone, whose 1,000 snapshots of
 * a world growing to 1.8 MB make most of its file.
 */
export default async function exportBench(): Promise<Record<string, unknown>> {
  if (process.argv.includes("--state=played"))
    return {
      driver: process.env.DATABASE_URL ? "postgres" : "pglite",
      ...(await measure(BENCH_TURNS + 99, true)),
    };
  const turns = Number(process.env.LOOM_BENCH_TURNS || BENCH_TURNS);
  const small = await measure(Math.max(100, Math.round(turns / 10)));
  const large = await measure(turns);
  return {
    driver: process.env.DATABASE_URL ? "postgres" : "pglite",
    ...large,
    small,
  };
}
