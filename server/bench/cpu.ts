// CPU time of this process and of the Postgres backends serving the bench database, for figures
// that hold on a shared machine: a run's wall time there is the scheduler's, its CPU time is ours.
// The backends are read from /proc (Postgres on this machine); elsewhere only the process counts.
import { readFileSync } from "node:fs";
import type { BenchDatabase } from "./fixture.ts";

/** clock ticks a second (`getconf CLK_TCK`), 100 on Linux */
const TICKS_PER_S = 100;

export interface CpuMeter {
  /** Microseconds of CPU since the meter started: this process, and the database's backends (null when unreadable). */
  read(): Promise<{ processUs: number; postgresUs: number | null }>;
}

export async function cpuMeter(database: BenchDatabase): Promise<CpuMeter> {
  const start = process.cpuUsage();
  const backendsAtStart = await backendTicks(database);
  return {
    async read() {
      const used = process.cpuUsage(start);
      const now = await backendTicks(database);
      let ticks: number | null = now === null ? null : 0;
      if (now !== null && ticks !== null)
        for (const [pid, value] of now) ticks += value - (backendsAtStart?.get(pid) ?? 0);
      return {
        processUs: used.user + used.system,
        postgresUs: ticks === null ? null : (ticks * 1_000_000) / TICKS_PER_S,
      };
    },
  };
}

async function backendTicks(database: BenchDatabase): Promise<Map<number, number> | null> {
  if (database.driver !== "postgres") return null;
  const rows = await database.query<{ pid: number }>(
    "select pid from pg_stat_activity where datname = current_database()",
  );
  const ticks = new Map<number, number>();
  try {
    for (const { pid } of rows) {
      // fields after the command's closing parenthesis; utime and stime are the 14th and 15th
      const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
      ticks.set(Number(pid), Number(fields[11]) + Number(fields[12]));
    }
  } catch {
    return null;
  }
  return ticks;
}
