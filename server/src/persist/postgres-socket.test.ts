import type { Socket } from "node:net";
import { finished } from "node:stream/promises";
import { describe, expect, it } from "vitest";
import postgres from "postgres";
import { drizzle } from "drizzle-orm/postgres-js";
import { sql } from "drizzle-orm";
import { copyRows } from "./copy.ts";
import { noDelaySockets } from "./postgres-socket.ts";
import { rowsOf, type Db } from "./rows.ts";
import * as schema from "./schema.ts";

const databaseUrl = process.env.DATABASE_URL;

/** A client of one connection from noDelaySockets, the sockets it made kept, and drizzle over it. */
function oneConnection(): { made: Socket[]; client: postgres.Sql; db: Db } {
  const made: Socket[] = [];
  const factory = noDelaySockets();
  const client = postgres(databaseUrl!, {
    max: 1,
    onnotice: () => {},
    ...({
      socket: (target: Parameters<typeof factory>[0]) => made[made.push(factory(target)) - 1],
    } as object),
  });
  return { made, client, db: drizzle({ client, schema }) };
}

// Pins the postgres.js behaviours Loom's Postgres adapter leans on outside its declared API:
// the `socket` option (sockets without Nagle's delay), COPY's stream (copy.ts), with the fix
// vendor/postgres/PATCHED.md describes for a COPY refused after its end, and the patch that sends
// a statement with parameters in one flight. CI refuses to run
// without DATABASE_URL (scripts/test.mjs), so this is never skipped there.
describe.skipIf(!databaseUrl)("postgres.js sockets and COPY", () => {
  it("connects through noDelaySockets, with TCP_NODELAY, and COPY reports both success and a refusal", async () => {
    // given a client whose sockets come from noDelaySockets
    const { made, client, db } = oneConnection();
    try {
      // when it queries, then its one connection is the factory's socket, Nagle's algorithm off
      expect(await client`select 1 as one`).toEqual([{ one: 1 }]);
      expect(made).toHaveLength(1);
      expect(
        (made[0] as Socket & { [key: symbol]: unknown })[
          Object.getOwnPropertySymbols(made[0]).find((s) => s.description === "kSetNoDelay")!
        ],
      ).toBe(true);
      // and rows copied in a transaction are there, a second COPY right after the first too
      await db
        .transaction(async (tx) => {
          await tx.execute("create temporary table copied (n integer primary key, note text) on commit drop");
          await copyRows(tx, "postgres", "copied", ["n", "note"], "1\tone\n2\t\\N\n");
          await copyRows(tx, "postgres", "copied", ["n", "note"], "3\ttab\\there\n");
          const rows = await tx.execute("select n, note from copied order by n");
          expect([...(rows as Array<{ n: number; note: string | null }>)]).toEqual([
            { n: 1, note: "one" },
            { n: 2, note: null },
            { n: 3, note: "tab\there" },
          ]);
          // and a COPY the database refuses at its last row rejects, rather than never finishing
          await expect(
            copyRows(tx, "postgres", "copied", ["n", "note"], "4\tfour\n1\tagain\n"),
          ).rejects.toThrow(/duplicate key/);
        })
        .catch((error: unknown) => {
          if (!/duplicate key|current transaction is aborted/.test(String(error))) throw error;
        });
    } finally {
      await client.end();
    }
  });

  it("a COPY stream the database refuses errors, after its end too, and its connection serves the next query", async () => {
    // given one connection and a table with a key
    const client = postgres(databaseUrl!, { max: 1, onnotice: () => {} });
    const copy = async (rows: string) => {
      const stream = await client.unsafe("copy refused from stdin").writable();
      stream.end(rows);
      return finished(stream);
    };
    try {
      await client.unsafe("create temporary table refused (n integer primary key)");
      // when rows the database refuses only at the last one are copied, the stream errors
      // (3.4.9 let go of it once its end was sent: it never finished nor errored)
      await expect(copy("1\n2\n1\n")).rejects.toThrow(/duplicate key/);
      // and a row it cannot read at all errors too
      await expect(copy("one\n")).rejects.toThrow(/invalid input syntax/);
      // then nothing was copied, the connection answers, and a good COPY finishes
      expect(await client`select count(*)::int as n from refused`).toEqual([{ n: 0 }]);
      await copy("1\n2\n");
      expect(await client`select count(*)::int as n from refused`).toEqual([{ n: 2 }]);
    } finally {
      await client.end();
    }
  });

  it("a COPY refused as it starts rejects through copyRows and the stream, with no 'error' event left unheard", async () => {
    // given a table whose statement trigger refuses every insert, as a full disk or a read-only
    // server would at a COPY's start: the refusal arrives with the COPY's first answer
    const { client, db } = oneConnection();
    const unheard: unknown[] = [];
    const listen = (error: unknown) => unheard.push(error);
    process.on("uncaughtException", listen);
    try {
      await client.unsafe(`
        create temporary table refused_at_start (n integer primary key);
        create function pg_temp.refuse() returns trigger language plpgsql as $$
          begin raise exception using errcode = 'disk_full', message = 'no space left'; end $$;
        create trigger refuse before insert on refused_at_start
          for each statement execute function pg_temp.refuse();`);
      // when rows are copied, then the copy rejects with the refusal, and no error escapes
      await expect(copyRows(db, "postgres", "refused_at_start", ["n"], "1\n2\n")).rejects.toThrow(
        /no space left/,
      );
      await new Promise((resolve) => setImmediate(resolve));
      expect(unheard).toEqual([]);
      // and the connection serves the next query
      expect(await client`select count(*)::int as n from refused_at_start`).toEqual([{ n: 0 }]);
    } finally {
      process.off("uncaughtException", listen);
      await client.end();
    }
  });

  it("sends a statement with parameters in one flight, and its values arrive typed by the server", async () => {
    // given one connection whose writes are counted, through drizzle as the stores use it
    const { made, client, db } = oneConnection();
    let writes = 0;
    try {
      await db.execute(sql`select 1`);
      const write = made[0]!.write.bind(made[0]);
      made[0]!.write = ((...args: Parameters<Socket["write"]>) => {
        writes += 1;
        return write(...args);
      }) as Socket["write"];
      // when twenty statements with text, number and null parameters run one after the other
      const rows: unknown[] = [];
      for (let i = 0; i < 20; i++)
        rows.push(
          ...rowsOf(
            await db.execute(
              sql`select ${i}::int + 1 as next, ${`a\\b\t${i}`} || '' as text, ${null}::text as nothing,
                (${JSON.stringify({ at: i })}::jsonb ->> 'at')::int as at`,
            ),
          ),
        );
      // then each left in one write (a Describe first and its answer made it two), and the server
      // typed every value from the statement
      expect(writes).toBe(20);
      expect(rows[19]).toEqual({ next: 20, text: "a\\b\t19", nothing: null, at: 19 });
      // and a value whose text depends on its type (an array) is still described first
      writes = 0;
      expect(await client.unsafe("select $1::int[] as list", [[1, 2, 3]])).toEqual([{ list: [1, 2, 3] }]);
      expect(writes).toBe(2);
    } finally {
      await client.end();
    }
  });
});
