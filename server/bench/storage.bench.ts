// Storage: bytes per turn, all in (heap, TOAST and every index of turns and snapshots), of a
// 100 000-turn universe with narration and a snapshot every 100 turns, alone in a fresh database.
// Target ≤ 1 KB per turn.
import { BENCH_TURNS, buildBenchUniverse, openBenchDatabase } from "./fixture.ts";

interface Size {
  name: string;
  bytes: string | number;
}

export default async function storage(): Promise<Record<string, unknown>> {
  const database = await openBenchDatabase();
  try {
    await buildBenchUniverse(database.store);
    await database.query("VACUUM ANALYZE turns");
    await database.query("VACUUM ANALYZE snapshots");
    const [total] = await database.query<{ turns: string | number; snapshots: string | number }>(
      "select pg_total_relation_size('turns') as turns, pg_total_relation_size('snapshots') as snapshots",
    );
    const parts = await database.query<Size>(`
      select c.relname as name, pg_relation_size(c.oid) as bytes from pg_class c
      where c.relname in ('turns', 'snapshots') or c.oid in (select indexrelid from pg_index where indrelid in ('turns'::regclass, 'snapshots'::regclass))
      union all
      select 'toast(' || c.relname || ')', pg_total_relation_size(c.reltoastrelid) from pg_class c
      where c.relname in ('turns', 'snapshots') and c.reltoastrelid <> 0`);
    const perTurn = (bytes: string | number) => Math.round((Number(bytes) / BENCH_TURNS) * 10) / 10;
    const all = Number(total!.turns) + Number(total!.snapshots);
    return {
      driver: database.driver,
      turns: BENCH_TURNS,
      bytes_per_turn: perTurn(all),
      total_mb: Math.round(all / 1024 / 102.4) / 10,
      breakdown_bytes_per_turn: Object.fromEntries(parts.map((part) => [part.name, perTurn(part.bytes)])),
    };
  } finally {
    await database.dispose();
  }
}
