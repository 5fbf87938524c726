import { parentPort, workerData } from "node:worker_threads";
import { drizzle } from "drizzle-orm/postgres-js";
import { appendMany } from "./append.ts";
import { askedOnce } from "./row-checks.ts";
import { postgresPool, type PoolOptions } from "./postgres-pool.ts";
import { threadError, type ThreadError } from "./revive.ts";
import * as schema from "./schema.ts";
import type { AppendOutcome, AppendRequest } from "./turn-store.ts";

// The thread side of append-thread.ts: a pool of its own on the already migrated database, and
// group commits (TurnStore.appendMany) made on it, one message each.

export type AppendCall = { id: number; requests: AppendRequest[] } | { id: number; close: true };

export interface AppendReply {
  id: number;
  outcomes?: AppendOutcome[];
  error?: ThreadError;
}

const port = parentPort!;
const options = workerData as PoolOptions & { databaseUrl: string };
const client = postgresPool(options.databaseUrl, options);
const db = drizzle({ client, schema });
const uncheckedRows = askedOnce(db);

// As the server's own process guard does (process-guard.ts): what escapes a commit is reported and
// the thread goes on; the commit it came from has already failed on its own.
const escaped = (error: unknown) =>
  port.postMessage({ id: -1, error: threadError(error) } satisfies AppendReply);
process.on("uncaughtException", escaped);
process.on("unhandledRejection", escaped);

port.on("message", (call: AppendCall) => {
  void (async () => {
    try {
      if ("close" in call) {
        await client.end({ timeout: 5 });
        return port.postMessage({ id: call.id, outcomes: [] } satisfies AppendReply);
      }
      const outcomes = await appendMany(db, "postgres", call.requests, await uncheckedRows());
      port.postMessage({ id: call.id, outcomes } satisfies AppendReply);
    } catch (error) {
      port.postMessage({ id: call.id, error: threadError(error) } satisfies AppendReply);
    }
  })();
});
