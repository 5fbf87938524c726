import { finished } from "node:stream/promises";
import type { Writable } from "node:stream";
import { pgliteCopyIn } from "./pglite-raw.ts";
import type { Db } from "./rows.ts";
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
interface PgliteClient {
  query(query: string, params: unknown[], options: { blob: Blob }): Promise<unknown>;
}

function clientOf(db: Db): unknown {
  return (db as unknown as { _: { session: { client: unknown } } })._.session.client;
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
    // in its protocol's messages (pglite-raw.ts); else from a blob passed as /dev/blob, which
    // PGlite reads a byte at a time
    if (await pgliteCopyIn(db, target, rows)) return;
    await (clientOf(db) as PgliteClient).query(`copy ${target} from '/dev/blob'`, [], {
      blob: new Blob(typeof rows === "string" ? [rows] : [...rows]),
    });
    return;
  }
  // the stream finishes once the database has taken every row, or errors with its refusal (a
  // duplicate key found at the last rows too: vendor/postgres/PATCHED.md)
  const stream = await (clientOf(db) as PostgresClient).unsafe(`copy ${target} from stdin`).writable();
  if (typeof rows === "string") stream.end(rows);
  else {
    for (const chunk of rows) stream.write(chunk);
    stream.end();
  }
  await finished(stream);
}

const BREAKS = /[\n\r\t]/;
const BREAKS_ALL = /[\n\r\t]/g;
const ESCAPES: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };

/**
 * A text value as a COPY field: backslashes doubled, newlines, carriage returns and tabs escaped.
 * JSON text has backslashes in its escapes and none of the others (JSON escapes them inside
 * strings), and the backslashes go with one native pass: a state of megabytes costs milliseconds.
 */
export function copyText(value: string | null): string {
  if (value === null) return "\\N";
  const text = value.includes("\\") ? value.replaceAll("\\", "\\\\") : value;
  return BREAKS.test(text) ? text.replace(BREAKS_ALL, (c) => ESCAPES[c]!) : text;
}

/**
 * JSON text written by JSON.stringify (null: SQL null) as a COPY field. JSON.stringify escapes
 * every control character inside strings and puts no whitespace between tokens: only backslashes
 * need doubling.
 */
export function copyJsonText(json: string | null): string {
  if (json === null) return "\\N";
  return json.includes("\\") ? json.replaceAll("\\", "\\\\") : json;
}

/** A JSON value (null or undefined: SQL null) as a COPY field. */
export function copyJson(value: unknown): string {
  return value === null || value === undefined ? "\\N" : copyJsonText(JSON.stringify(value));
}
