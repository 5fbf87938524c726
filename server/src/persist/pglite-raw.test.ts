import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase, type OpenDatabase } from "./index.ts";
import { pgliteOf, textRows } from "./pglite-raw.ts";

/**
 * PGlite's replies read from their bytes (pglite-raw.ts), pinned to the PGlite this package
 * depends on: the fields as the driver's own reader gives them (UTF-8 beyond ASCII, nulls,
 * values larger than the reply buffer it starts with), a refused query as Postgres's error, and
 * never a read inside another caller's transaction.
 */
describe("PGlite replies read from their bytes", () => {
  let database: OpenDatabase;

  beforeAll(async () => {
    database = await openDatabase({ inMemory: true });
    expect(pgliteOf(database.db)).not.toBeNull();
  }, 60_000);

  afterAll(async () => {
    await database?.close();
  });

  it("gives each row's fields as text, the same as the driver's reader", async () => {
    const query = sql`select v, n, length(v) as size
      from (values (${"plain ascii"}, 1), (${"naïve — “quoted” ✓ 𝄞"}, null), (repeat('ab\\c"', 700000), 3))
        as t(v, n)`;
    const rows = await textRows(database.db, query);
    const driver = await database.query<{ v: string; n: number | null; size: number }>(
      `select v, n, length(v) as size from (values ('plain ascii', 1), ('naïve — “quoted” ✓ 𝄞', null), (repeat('ab\\c"', 700000), 3)) as t(v, n)`,
    );
    expect(rows).toEqual(
      driver.map((row) => [row.v, row.n === null ? null : String(row.n), String(row.size)]),
    );
    expect(rows[2]![0]!.length).toBe(3_500_000);
  });

  it("throws Postgres's error for a refused query, and the next query runs", async () => {
    await expect(textRows(database.db, sql`select 1 / ${0}::int`)).rejects.toMatchObject({
      message: "division by zero",
      code: "22012",
    });
    expect(await textRows(database.db, sql`select ${"after"}::text`)).toEqual([["after"]]);
  });

  it("waits for a transaction in progress instead of reading inside it", async () => {
    await database.query("create table pending (v text)");
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let inserted!: () => void;
    const insertedYet = new Promise<void>((resolve) => (inserted = resolve));
    const transaction = database.db.transaction(async (tx) => {
      await tx.execute(sql`insert into pending values ('uncommitted')`);
      inserted();
      await held;
      tx.rollback();
    });
    await insertedYet;
    const read = textRows(database.db, sql`select count(*) from pending`);
    release();
    await transaction.catch(() => undefined);
    expect(await read).toEqual([["0"]]);
  });
});
