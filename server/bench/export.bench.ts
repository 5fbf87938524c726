// Export: a 100 000-turn universe (LOOM_BENCH_TURNS to change it) written as JSONL and as Markdown,
// to a file, in turns/s, with the process's peak resident memory and heap above what they were
// before (flat in the universe's size: a page of turns and a batch of snapshots at a time), and
// the same for a universe a tenth that size. Targets: ≥ 50 000 turns/s. Then `import` reads the
// JSONL back into a new universe with every check (target ≥ 20 000 turns/s).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exportUniverse, fileLines, importJsonl, type ExportFormat } from "../src/export/index.ts";
import { writeFileStreamed } from "../src/cli/output.ts";
import { BENCH_TURNS, buildBenchUniverse, openBenchDatabase } from "./fixture.ts";

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
 * One size: the universe built, then exported in both formats and imported, each timed with its
 * memory. Sizes are measured one after the other in one process, so their memory compares.
 */
async function measure(turns: number): Promise<Record<string, unknown>> {
  const database = await openBenchDatabase();
  const dir = mkdtempSync(join(tmpdir(), "loom-export-bench-"));
  try {
    const { id } = await buildBenchUniverse(database.store, turns);
    const stores = { turnStore: database.store, savePoints: database.savePoints };
    global.gc?.();
    const figures: Record<string, unknown> = { turns };
    for (const format of ["jsonl", "markdown"] as ExportFormat[]) {
      const file = join(dir, `universe.${format}`);
      const run = await peakAbove(() =>
        writeFileStreamed(file, exportUniverse(stores, id, { format, audience: { kind: "gm" } })),
      );
      process.stderr.write(`  ${turns} turns, ${format}: ${run.seconds.toFixed(1)} s\n`);
      figures[`${format}_turns_per_s`] = Math.round(turns / run.seconds);
      figures[`${format}_peak_rss_mb`] = run.peakMb;
      figures[`${format}_peak_heap_mb`] = run.heapMb;
    }
    global.gc?.();
    const run = await peakAbove(() =>
      importJsonl(stores, () => fileLines(join(dir, "universe.jsonl")), { createdBy: "bench" }),
    );
    process.stderr.write(`  ${turns} turns, import: ${run.seconds.toFixed(1)} s\n`);
    figures.import_turns_per_s = Math.round(turns / run.seconds);
    figures.import_peak_rss_mb = run.peakMb;
    figures.import_peak_heap_mb = run.heapMb;
    return figures;
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await database.dispose();
  }
}

/** A tenth of LOOM_BENCH_TURNS, then LOOM_BENCH_TURNS: memory flat in size means equal peaks. */
export default async function exportBench(): Promise<Record<string, unknown>> {
  const turns = Number(process.env.LOOM_BENCH_TURNS || BENCH_TURNS);
  const small = await measure(Math.max(100, Math.round(turns / 10)));
  const large = await measure(turns);
  return {
    driver: process.env.DATABASE_URL ? "postgres" : "pglite",
    ...large,
    small,
  };
}
