import { afterAll, beforeAll, describe, expect, it } from "vitest";
import postgres from "postgres";
import { startPostgres, type PostgresInstance } from "../support/instances.ts";
import { testPort } from "../support/server.ts";
import { noDelaySockets } from "../../server/src/persist/postgres-socket.ts";

/**
 * The database driver (vendor/postgres, patched: see its PATCHED.md) keeps every pooled
 * connection usable through a database restart under load. Unpatched, a connection whose socket
 * closed while a small write waited for the next tick never wrote again: each later query it was
 * given failed with CONNECT_TIMEOUT, and a write that ran after the close threw out of a timer.
 */
const POOL = 6;
let pg: PostgresInstance;

beforeAll(async () => {
  pg = await startPostgres(testPort(2781));
}, 60_000);

afterAll(async () => {
  await pg?.close();
});

describe("postgres driver", () => {
  // the driver's own sockets, and the server's (Nagle's algorithm off: postgres-socket.ts)
  it.each([
    ["its own sockets", {}],
    ["the server's sockets", { socket: noDelaySockets() }],
  ])(
    "works on every pooled connection again after restarts under a stream of queries, on %s",
    async (_, sockets) => {
      const sql = postgres(pg.url, {
        max: POOL,
        connect_timeout: 2,
        backoff: () => 0.05,
        onnotice: () => undefined,
        ...sockets,
      });
      const uncaught: unknown[] = [];
      const onUncaught = (error: unknown) => uncaught.push(error);
      process.on("uncaughtException", onUncaught);
      try {
        let running = true;
        let failed = 0;
        // many small queries, each sent from the callback of the one before: what the server does
        const streams = Array.from({ length: POOL * 4 }, async () => {
          while (running) await sql`select 1`.catch(() => (failed += 1));
        });
        for (let restart = 0; restart < 4; restart++) {
          await new Promise((resolve) => setTimeout(resolve, 150));
          await pg.stop("immediate");
          await new Promise((resolve) => setTimeout(resolve, 100));
          await pg.start();
        }
        running = false;
        await Promise.all(streams);
        expect(failed).toBeGreaterThan(0); // the restarts did cut queries off

        // every connection of the pool answers again, each within the connect timeout
        const backends = await Promise.all(
          Array.from({ length: POOL * 4 }, () =>
            sql<Array<{ pid: number }>>`select pg_backend_pid() as pid, pg_sleep(0.05)`.then(
              ([row]) => row!.pid,
              (error: unknown) => `failed: ${(error as { code?: string }).code ?? String(error)}`,
            ),
          ),
        );
        expect(backends.filter((pid) => typeof pid === "string")).toEqual([]);
        expect(new Set(backends).size).toBe(POOL);
        expect(uncaught).toEqual([]);
      } finally {
        process.off("uncaughtException", onUncaught);
        await sql.end({ timeout: 1 });
      }
    },
    90_000,
  );
});
