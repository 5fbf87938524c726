// Storage: bytes per turn, all in (heap, TOAST and every index of turns, their search documents
// and snapshots), of a 100 000-turn universe with narration and a snapshot every 100 turns, alone in a fresh database.
// Target ≤ 1 KB per turn. `--state=played` measures the campaign played by the rules that `jump`
// and `hydrate` read instead (played.ts: its world grows to 1.8 MB, so its snapshots weigh), in
// the database kept for it.
import { BENCH_TURNS, buildBenchUniverse, openBenchDatabase, type BenchDatabase } from "./fixture.ts";
import { openBenchUniverse } from "./played.ts";

/** What a universe's turns take: their rows, their search documents and marks, their snapshots. */
const TABLES = ["turns", "turn_search", "search_progress", "snapshots", "snapshot_parts"];

/** The universe measured: the synthetic one unless `--state=played` (or LOOM_BENCH_STATE=played) says otherwise. */
async function universe(): Promise<{ database: BenchDatabase; turns: number; state: string }> {
  const asked = process.argv.find((arg) => arg.startsWith("--state="))?.slice("--state=".length);
  if ((asked ?? process.env.LOOM_BENCH_STATE) === "played") {
    const { database } = await openBenchUniverse(BENCH_TURNS + 99);
    return { database, turns: BENCH_TURNS + 99, state: "played" };
  }
  const database = await openBenchDatabase();
  await buildBenchUniverse(database.store);
  return { database, turns: BENCH_TURNS, state: "synthetic" };
}

interface Size {
  name: string;
  bytes: string | number;
}

export default async function storage(): Promise<Record<string, unknown>> {
  const { database, turns, state } = await universe();
  try {
    await database.store.settleSearchIndex();
    for (const table of TABLES) await database.query(`VACUUM ANALYZE ${table}`);
    const list = TABLES.map((table) => `'${table}'`).join(", ");
    const [total] = await database.query<{ bytes: string | number }>(
      `select sum(pg_total_relation_size(c.oid)) as bytes from pg_class c where c.relname in (${list})`,
    );
    const parts = await database.query<Size>(`
      select c.relname as name, pg_relation_size(c.oid) as bytes from pg_class c
      where c.relname in (${list}) or c.oid in (select indexrelid from pg_index where indrelid in (select oid from pg_class where relname in (${list})))
      union all
      select 'toast(' || c.relname || ')', pg_total_relation_size(c.reltoastrelid) from pg_class c
      where c.relname in (${list}) and c.reltoastrelid <> 0`);
    const perTurn = (bytes: string | number) => Math.round((Number(bytes) / turns) * 10) / 10;
    const all = Number(total!.bytes);
    return {
      driver: database.driver,
      state,
      turns,
      bytes_per_turn: perTurn(all),
      total_mb: Math.round(all / 1024 / 102.4) / 10,
      breakdown_bytes_per_turn: Object.fromEntries(parts.map((part) => [part.name, perTurn(part.bytes)])),
    };
  } finally {
    await database.dispose();
  }
}
