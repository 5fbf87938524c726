import { randomUUID } from "node:crypto";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { copyMadeRows } from "./copy.ts";
import { openDatabase, type OpenDatabase } from "./index.ts";
import { rowsOf } from "./rows.ts";

const databaseUrl = process.env.DATABASE_URL;

/**
 * copyMadeRows on Postgres: pieces go to the socket as they are made, so a piece that cannot be
 * made, or a row the database refuses, arrives with the COPY open. Either must end it and leave
 * the connection to the transaction's rollback and the next statement.
 */
// CI refuses to run without DATABASE_URL (scripts/test.mjs), so this is never skipped there.
describe.skipIf(!databaseUrl)("COPY rows made a piece at a time, on Postgres", () => {
  let database: OpenDatabase;
  const table = `copy_pieces_${randomUUID().replace(/-/g, "")}`;

  beforeAll(async () => {
    database = await openDatabase({ databaseUrl });
    await database.query(`create table ${table} (n integer primary key, t text not null)`);
  });

  afterAll(async () => {
    await database?.query(`drop table if exists ${table}`);
    await database?.close();
  });

  const count = async () =>
    Number(
      rowsOf<{ n: string }>(await database.db.execute(sql.raw(`select count(*) as n from ${table}`)))[0]!.n,
    );

  function* pieces(
    from: number,
    pieceCount: number,
    fail?: { at: number; error?: Error; duplicate?: boolean },
  ) {
    for (let p = 0; p < pieceCount; p++) {
      if (fail?.at === p && fail.error) throw fail.error;
      let rows = "";
      for (let i = 0; i < 100; i++) rows += `${from + p * 100 + i}\trow ${p}.${i}\n`;
      if (fail?.at === p && fail.duplicate) rows += `${from}\tagain\n`;
      yield rows;
    }
  }

  it("writes every piece in order, in the caller's transaction", async () => {
    await database.db.transaction(async (tx) => {
      await copyMadeRows(tx, "postgres", table, ["n", "t"], pieces(0, 7));
    });
    expect(await count()).toBe(700);
    const [last] = await database.query<{ t: string }>(`select t from ${table} where n = 699`);
    expect(last?.t).toBe("row 6.99");
  });

  it("ends the COPY when a piece cannot be made: the error is the caller's, the transaction rolls back, the connection goes on", async () => {
    const before = await count();
    const broken = new Error("a turn that cannot be written");
    await expect(
      database.db.transaction(async (tx) => {
        await copyMadeRows(tx, "postgres", table, ["n", "t"], pieces(10_000, 5, { at: 3, error: broken }));
      }),
    ).rejects.toBe(broken);
    expect(await count()).toBe(before);
    await database.db.transaction(async (tx) => {
      await copyMadeRows(tx, "postgres", table, ["n", "t"], pieces(20_000, 2));
    });
    expect(await count()).toBe(before + 200);
  });

  it("gives the database's refusal of a row in an early piece, however many pieces follow", async () => {
    const before = await count();
    await expect(
      database.db.transaction(async (tx) => {
        await copyMadeRows(tx, "postgres", table, ["n", "t"], pieces(30_000, 40, { at: 1, duplicate: true }));
      }),
    ).rejects.toMatchObject({ code: "23505" });
    expect(await count()).toBe(before);
  });
});
