// Export: a 100 000-turn universe (LOOM_BENCH_TURNS to change it) written as JSONL and as Markdown,
// to a file, in turns/s, with the process's peak resident memory above what it was before the
// export (flat in the universe's size: a page of turns and one snapshot at a time). Targets:
// ≥ 50 000 turns/s. Then `import` reads the JSONL back into a new universe with every check.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exportUniverse, fileLines, importJsonl, type ExportFormat } from "../src/export/index.ts";
import { writeFileStreamed } from "../src/cli/output.ts";
import { BENCH_TURNS, buildBenchUniverse, openBenchDatabase } from "./fixture.ts";

/** Peak RSS while `work` runs, sampled every 20 ms, in MB above the RSS at its start. */
export async function peakAbove<T>(
  work: () => Promise<T>,
): Promise<{ result: T; seconds: number; peakMb: number }> {
  const base = process.memoryUsage().rss;
  let peak = base;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  const started = performance.now();
  try {
    const result = await work();
    peak = Math.max(peak, process.memoryUsage().rss);
    return {
      result,
      seconds: (performance.now() - started) / 1000,
      peakMb: Math.round((peak - base) / 2 ** 20),
    };
  } finally {
    clearInterval(timer);
  }
}

export default async function exportBench(): Promise<Record<string, unknown>> {
  const turns = Number(process.env.LOOM_BENCH_TURNS || BENCH_TURNS);
  const database = await openBenchDatabase();
  const dir = mkdtempSync(join(tmpdir(), "loom-export-bench-"));
  try {
    const { id } = await buildBenchUniverse(database.store, turns);
    const figures: Record<string, unknown> = { driver: database.driver, turns };
    for (const format of ["jsonl", "markdown"] as ExportFormat[]) {
      const file = join(dir, `universe.${format}`);
      const run = await peakAbove(() =>
        writeFileStreamed(file, exportUniverse(database.store, id, { format, audience: { kind: "gm" } })),
      );
      process.stderr.write(`  ${format}: ${run.seconds.toFixed(1)} s\n`);
      figures[`${format}_turns_per_s`] = Math.round(turns / run.seconds);
      figures[`${format}_peak_mb`] = run.peakMb;
    }
    const run = await peakAbove(() =>
      importJsonl(database.store, () => fileLines(join(dir, "universe.jsonl")), { createdBy: "bench" }),
    );
    process.stderr.write(`  import: ${run.seconds.toFixed(1)} s\n`);
    figures.import_turns_per_s = Math.round(turns / run.seconds);
    figures.import_peak_mb = run.peakMb;
    return figures;
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await database.dispose();
  }
}
