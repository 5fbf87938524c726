import { isAscii } from "node:buffer";
import type { SQL } from "drizzle-orm";
import { PgDialect } from "drizzle-orm/pg-core";
import { rowsOf, sessionClient, type Db } from "./rows.ts";

/**
 * PGlite spoken to in its wire protocol, where its own API costs the thread that also runs the
 * database several times the work:
 * - reads of megabytes (an export's page of turn lines): PGlite's reply parser copies every chunk
 *   of the reply into a message buffer, slices each field out again and decodes it to a string;
 *   here the reply's chunks are gathered once and each field is read from them into its string;
 * - bulk writes (an import's turns, a persist's): PGlite's COPY reads its input from a blob as
 *   /dev/blob, copied into the database a byte at a time in JavaScript (as long again as the rest
 *   of a COPY of rows of 1.3 KB into a plain table); here the rows go as COPY FROM STDIN's
 *   messages.
 *
 * The one module that speaks PGlite's wire protocol: `execProtocolRawStream` and the locks
 * PGlite's own `query` takes (its `_runExclusive…` methods, public in its typings): both outside
 * a transaction, so a query never runs inside another caller's; inside one, the query lock alone,
 * as the transaction's own queries take it. PGlite's transaction object does not name its
 * instance: `followTransactions` records it. PGlite's version is pinned in package.json; the turn
 * store's contract (rules 19, and the append and import rules) runs through here.
 */
export interface PgliteRaw {
  execProtocolRawStream(
    message: Uint8Array,
    options: { syncToFs?: boolean; onRawData: (data: Uint8Array) => void },
  ): Promise<void>;
  _runExclusiveQuery<T>(fn: () => Promise<T>): Promise<T>;
  _runExclusiveTransaction<T>(fn: () => Promise<T>): Promise<T>;
  transaction<T>(callback: (tx: object) => Promise<T>): Promise<T>;
}

/** PGlite's transaction objects, each with the instance it runs on. */
const transactionsOf = new WeakMap<object, PgliteRaw>();

/** Records, for each transaction `client` opens from now on, that it runs on `client`. */
export function followTransactions(client: PgliteRaw): void {
  const begin = client.transaction.bind(client);
  client.transaction = <T>(callback: (tx: object) => Promise<T>) =>
    begin((tx) => {
      transactionsOf.set(tx, client);
      return callback(tx);
    });
}

const dialect = new PgDialect();
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The PGlite instance under `db` when it is PGlite outside a transaction, else null. */
export function pgliteOf(db: Db): PgliteRaw | null {
  const client = sessionClient(db);
  return client && typeof (client as Partial<PgliteRaw>).execProtocolRawStream === "function"
    ? (client as PgliteRaw)
    : null;
}

/** A simple-query message ('Q') for `query` with its parameters written into the text as literals. */
function queryMessage(query: SQL): Uint8Array {
  return simpleQuery(dialect.sqlToQuery(query.inlineParams()).sql);
}

function simpleQuery(sql: string): Uint8Array {
  const text = encoder.encode(sql);
  const message = new Uint8Array(text.length + 6);
  message[0] = 0x51;
  new DataView(message.buffer).setInt32(1, text.length + 5);
  message.set(text, 5);
  return message;
}

/**
 * `copy <target> from stdin` with `rows` (COPY text, whole lines: a string, or its UTF-8 bytes in
 * pieces), inside the transaction `db` is, or on its own: the query, one CopyData message with all
 * the rows and CopyDone, handed over at once. A refused row fails it with Postgres's error (the
 * backend passes over the rest of the messages, as the protocol has it). False when `db` is not
 * PGlite or a transaction this module followed.
 */
export async function pgliteCopyIn(
  db: Db,
  target: string,
  rows: string | ReadonlyArray<Uint8Array>,
): Promise<boolean> {
  const client = sessionClient(db);
  const owner = typeof client === "object" && client !== null ? transactionsOf.get(client) : undefined;
  const instance = owner ?? pgliteOf(db);
  if (!instance) return false;
  const query = simpleQuery(`copy ${target} from stdin`);
  const pieces = typeof rows === "string" ? [Buffer.from(rows)] : rows;
  const size = pieces.reduce((sum, piece) => sum + piece.length, 0);
  const message = new Uint8Array(query.length + 5 + size + 5);
  message.set(query, 0);
  const view = new DataView(message.buffer);
  let at = query.length;
  message[at] = 0x64; // CopyData
  view.setInt32(at + 1, size + 4);
  at += 5;
  for (const piece of pieces) {
    message.set(piece, at);
    at += piece.length;
  }
  message[at] = 0x63; // CopyDone
  view.setInt32(at + 1, 4);
  const run = async () => {
    const replies: Buffer[] = [];
    // the chunks are views of PGlite's memory, valid only during the call
    await instance.execProtocolRawStream(message, {
      syncToFs: false,
      onRawData: (chunk) => replies.push(Buffer.from(chunk)),
    });
    rowsIn(Buffer.concat(replies));
  };
  // a transaction holds the transaction lock already; its statements take the query lock
  await (owner
    ? instance._runExclusiveQuery(run)
    : instance._runExclusiveTransaction(() => instance._runExclusiveQuery(run)));
  return true;
}

/**
 * Where each PGlite instance's replies are gathered, reused from query to query (a page's reply is
 * some megabytes: allocated afresh each time, such buffers would bring on full collections).
 * Written and read only inside the instance's locks.
 */
const replies = new WeakMap<PgliteRaw, Buffer>();

/** The rows of `query`, each a list of its fields as text (null for SQL null). */
export async function pgliteRawRows(client: PgliteRaw, query: SQL): Promise<Array<Array<string | null>>> {
  const message = queryMessage(query);
  return client._runExclusiveTransaction(() =>
    client._runExclusiveQuery(async () => {
      let reply = replies.get(client) ?? Buffer.allocUnsafe(1 << 20);
      let length = 0;
      // the chunks are views of PGlite's memory, valid only during the call
      const gather = (chunk: Uint8Array) => {
        if (length + chunk.length > reply.length) {
          const larger = Buffer.allocUnsafe(Math.max(reply.length * 2, length + chunk.length));
          reply.copy(larger, 0, 0, length);
          reply = larger;
          replies.set(client, reply);
        }
        reply.set(chunk, length);
        length += chunk.length;
      };
      await client.execProtocolRawStream(message, { syncToFs: false, onRawData: gather });
      return rowsIn(reply.subarray(0, length));
    }),
  );
}

/** The DataRows of a reply, their fields as text; an ErrorResponse thrown. */
function rowsIn(reply: Buffer): Array<Array<string | null>> {
  const rows: Array<Array<string | null>> = [];
  for (let at = 0; at < reply.length;) {
    const type = reply[at]!;
    const end = at + 1 + reply.readInt32BE(at + 1);
    if (type === 0x44 /* DataRow */) {
      const fields: Array<string | null> = [];
      let field = at + 7;
      for (let count = reply.readInt16BE(at + 5); count > 0; count--) {
        const size = reply.readInt32BE(field);
        fields.push(size < 0 ? null : textOf(reply.subarray(field + 4, field + 4 + size)));
        field += 4 + Math.max(size, 0);
      }
      rows.push(fields);
    } else if (type === 0x45 /* ErrorResponse */) {
      throw errorOf(reply.subarray(at + 5, end));
    }
    at = end;
  }
  return rows;
}

/** UTF-8 as a string; ASCII (an export's page, as a rule) copied byte for byte, much faster than decoding. */
function textOf(bytes: Buffer): string {
  return isAscii(bytes) ? bytes.toString("latin1") : decoder.decode(bytes);
}

/** An ErrorResponse's fields (a code byte and a C string each) as an Error with Postgres's message and code. */
function errorOf(body: Uint8Array): Error {
  const fields = new Map<string, string>();
  for (let at = 0; at < body.length && body[at] !== 0;) {
    const end = body.indexOf(0, at + 1);
    fields.set(String.fromCharCode(body[at]!), decoder.decode(body.subarray(at + 1, end)));
    at = end + 1;
  }
  return Object.assign(new Error(fields.get("M") ?? "query failed"), { code: fields.get("C") });
}

/**
 * The rows of `query`, each its fields as text in column order: on PGlite read from the reply's
 * bytes (pgliteRawRows), on Postgres as the driver gives them. For reads of megabytes of text.
 */
export async function textRows(db: Db, query: SQL): Promise<Array<Array<string | null>>> {
  const pglite = pgliteOf(db);
  if (pglite) return pgliteRawRows(pglite, query);
  // postgres.js gives text columns as strings and counts (bigint) as strings too
  return rowsOf<Record<string, string | number | null>>(await db.execute(query)).map((row) =>
    Object.values(row).map((value) => (value === null ? null : String(value))),
  );
}
