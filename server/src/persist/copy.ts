import { finished } from "node:stream/promises";
import type { Writable } from "node:stream";
import { pgliteCopyIn } from "./pglite-raw.ts";
import { sessionClient, type Db } from "./rows.ts";
import type { TurnStore } from "./turn-store.ts";

/**
 * Bulk rows with COPY ... FROM in its text format: a row a line, columns split by tabs, `\N` for
 * null. For an import's hundreds of thousands of rows it costs the database about half what an
 * INSERT of the same rows as one JSON parameter does (jsonb_to_recordset parses every value twice).
 *
 * COPY is not part of drizzle's API: the driver's own client (the transaction's, so the rows are
 * part of it) is taken from the session, the one place this module reaches into drizzle. Tested
 * through the TurnStore contract (the import rules) on both drivers.
 */
interface PostgresQuery {
  writable(): Promise<Writable>;
}
interface PostgresClient {
  unsafe(query: string): PostgresQuery;
}

/**
 * Writes `rows` (lines of COPY text, each ending in `\n`: a string, or its UTF-8 bytes in pieces
 * that each end at a line's end) into `table`'s `columns`.
 */
export async function copyRows(
  db: Db,
  driver: TurnStore["driver"],
  table: string,
  columns: readonly string[],
  rows: string | ReadonlyArray<Uint8Array<ArrayBuffer>>,
): Promise<void> {
  if (rows.length === 0 || (typeof rows !== "string" && rows.every((chunk) => chunk.length === 0))) return;
  const target = `${table} (${columns.join(", ")})`;
  if (driver === "pglite") {
    // in its protocol's messages (pglite-raw.ts), not from a blob as /dev/blob, which PGlite
    // reads a byte at a time
    if (!(await pgliteCopyIn(db, target, rows)))
      throw new Error(`copy into ${table}: a PGlite database that openDatabase did not open`);
    return;
  }
  const stream = await copyIn(db, target);
  if (typeof rows === "string") stream.end(rows);
  else {
    for (const chunk of rows) stream.write(chunk);
    stream.end();
  }
  await finished(stream);
}

/** About how much text one COPY into PGlite takes (copyMadeRows). */
const PGLITE_COPY_CHARS = 1 << 20;

/**
 * copyRows for rows made a piece of text at a time (each piece whole lines). On Postgres each
 * piece goes to the socket before the next is made (its write's callback), so the backend parses
 * and indexes a piece's rows while the process makes the next, and the kernel's socket buffer
 * holds back a process that outruns the database. PGlite runs in this process: its pieces are
 * joined, a COPY for about every megabyte.
 */
export async function copyMadeRows(
  db: Db,
  driver: TurnStore["driver"],
  table: string,
  columns: readonly string[],
  pieces: Iterable<string>,
): Promise<void> {
  if (driver === "pglite") {
    // a COPY for every megabyte or so: a large batch's text is never held whole
    let rows = "";
    for (const piece of pieces) {
      rows += piece;
      if (rows.length >= PGLITE_COPY_CHARS) {
        await copyRows(db, driver, table, columns, rows);
        rows = "";
      }
    }
    return copyRows(db, driver, table, columns, rows);
  }
  const iterator = pieces[Symbol.iterator]();
  let next = iterator.next();
  while (!next.done && next.value.length === 0) next = iterator.next();
  if (next.done) return;
  const stream = await copyIn(db, `${table} (${columns.join(", ")})`);
  // the database's refusal ends the stream early and is heard here, not from a write
  const done = finished(stream);
  done.catch(() => {});
  try {
    while (!next.done && !stream.destroyed) {
      if (next.value.length > 0) {
        const piece = next.value;
        await Promise.race([new Promise<void>((resolve) => stream.write(piece, () => resolve())), done]);
      }
      next = iterator.next();
    }
  } catch (error) {
    // a piece that could not be made: the COPY is failed (CopyFail), or the connection would wait
    // in it for rows that never come, and the transaction could not roll back
    if (!stream.destroyed) stream.destroy(error as Error);
    throw error;
  }
  if (!stream.destroyed) stream.end();
  await done;
}

/**
 * Postgres: a `COPY … FROM STDIN` into `target` on the transaction's connection. The stream
 * finishes once the database has taken every row, or errors with its refusal (a duplicate key
 * found at the last rows too: vendor/postgres/PATCHED.md).
 */
function copyIn(db: Db, target: string): Promise<Writable> {
  return (sessionClient(db) as PostgresClient).unsafe(`copy ${target} from stdin`).writable();
}
