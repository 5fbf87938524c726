import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase, type OpenDatabase } from "./index.ts";
import { pgliteCopyIn, pgliteOf, textRows } from "./pglite-raw.ts";

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

  /**
   * A transaction that has inserted a row into `table` and waits; `release` rolls it back, and
   * resolves once it has ended.
   */
  async function heldTransaction(table: string): Promise<{ release: () => Promise<void> }> {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let inserted!: () => void;
    const insertedYet = new Promise<void>((resolve) => (inserted = resolve));
    const transaction = database.db.transaction(async (tx) => {
      await tx.execute(sql`insert into ${sql.identifier(table)} values ('uncommitted')`);
      inserted();
      await held;
      tx.rollback();
    });
    await insertedYet;
    return {
      release: async () => {
        release();
        await transaction.catch(() => undefined);
      },
    };
  }

  it("waits for a transaction in progress instead of reading inside it", async () => {
    await database.query("create table pending (v text)");
    const transaction = await heldTransaction("pending");
    const read = textRows(database.db, sql`select count(*) from pending`);
    await transaction.release();
    expect(await read).toEqual([["0"]]);
  });

  it("copies rows in from its protocol's messages, inside a transaction or on its own", async () => {
    await database.query("create table copied (n integer primary key, note text)");
    const lines = "1\tnaïve — “quoted” ✓ 𝄞\n2\t\\N\n3\ttab\\there\n";
    // in pieces that end at lines' ends, as an import's do
    const bytes = Buffer.from(lines);
    const cut = bytes.indexOf(0x0a) + 1;
    await database.db.transaction(async (tx) => {
      expect(await pgliteCopyIn(tx, "copied (n, note)", [bytes.subarray(0, cut), bytes.subarray(cut)])).toBe(
        true,
      );
      // inside the transaction, its rows are there before the commit
      expect(await tx.execute(sql`select count(*)::int as c from copied`)).toMatchObject({
        rows: [{ c: 3 }],
      });
    });
    expect(await pgliteCopyIn(database.db, "copied (n, note)", `${"4\t"}${"x".repeat(3_000_000)}\n`)).toBe(
      true,
    );
    expect(await database.query("select n, note, length(note) as size from copied order by n")).toEqual([
      { n: 1, note: "naïve — “quoted” ✓ 𝄞", size: [..."naïve — “quoted” ✓ 𝄞"].length },
      { n: 2, note: null, size: null },
      { n: 3, note: "tab\there", size: 8 },
      { n: 4, note: "x".repeat(3_000_000), size: 3_000_000 },
    ]);
  });

  it("fails a COPY with a refused row, rolls back with its transaction, and the next query runs", async () => {
    await database.query("create table refused (n integer primary key)");
    const attempt = database.db.transaction(async (tx) => {
      await pgliteCopyIn(tx, "refused (n)", "1\n2\n");
      await pgliteCopyIn(tx, "refused (n)", "3\n1\n4\n");
    });
    await expect(attempt).rejects.toMatchObject({ code: "23505" });
    expect(await database.query("select count(*)::int as c from refused")).toEqual([{ c: 0 }]);
    await expect(pgliteCopyIn(database.db, "refused (n)", "5\nfive\n")).rejects.toMatchObject({
      code: "22P02",
    });
    expect(await pgliteCopyIn(database.db, "refused (n)", "6\n")).toBe(true);
    expect(await database.query("select n from refused")).toEqual([{ n: 6 }]);
  });

  it("waits for another caller's transaction before copying on its own", async () => {
    await database.query("create table held (v text)");
    const transaction = await heldTransaction("held");
    const copy = pgliteCopyIn(database.db, "held (v)", "copied\n");
    await transaction.release();
    await copy;
    expect(await database.query("select v from held")).toEqual([{ v: "copied" }]);
  });
});
