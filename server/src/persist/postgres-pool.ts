import postgres from "postgres";
import { noDelaySockets } from "./postgres-socket.ts";

/** Connections in a pool unless said otherwise. */
export const DEFAULT_POOL_SIZE = 10;

export interface PoolOptions {
  /** Connections in the pool; DEFAULT_POOL_SIZE by default. */
  poolSize?: number;
  /**
   * The longest a statement may run (`statement_timeout`), a lock be waited for, or a transaction
   * sit idle; connecting gives up after the same time. Default 15 s.
   */
  timeoutMs?: number;
}

/**
 * Seconds before a pool connection tries again after failing to connect. postgres.js waits
 * 3^n / 100 s after the n-th failure in a row, up to 20 s: after an outage of some seconds every
 * connection sat up to 20 s in that wait once the database was back, and every query queued
 * behind them (backlogs, lease registrations, opens) waited with it. Capped at 1 s here: a
 * refused connection costs next to nothing, and the database is used again within a second of
 * its return. Queries meanwhile fail fast and the callers' own retries (with backoff) decide.
 */
export function reconnectBackoff(retries: number): number {
  return Math.min(0.05 * 2 ** retries, 1) * (0.5 + Math.random() / 2);
}

/** A postgres.js pool as the server's stores use one: timeouts, quick reconnects, no Nagle. */
export function postgresPool(databaseUrl: string, options: PoolOptions = {}): postgres.Sql {
  const timeoutMs = options.timeoutMs ?? 15_000;
  return postgres(databaseUrl, {
    max: options.poolSize ?? DEFAULT_POOL_SIZE,
    onnotice: () => {},
    connect_timeout: Math.max(1, Math.ceil(timeoutMs / 1000)),
    backoff: reconnectBackoff,
    ...({ socket: noDelaySockets() } as object),
    connection: {
      statement_timeout: timeoutMs,
      lock_timeout: timeoutMs,
      idle_in_transaction_session_timeout: timeoutMs * 2,
    },
  });
}
