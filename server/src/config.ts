import { resolve } from "node:path";

/** Everything the server reads from the environment, with the defaults a laptop needs. */
export interface LoomConfig {
  port: number;
  databaseUrl: string | null;
  redisUrl: string | null;
  secret: string | null;
  dataDir: string;
  publicAddress: string | null;
  /** Actions per second a client may send before getting `rate_limited`. */
  actionsPerSecond: number;
  persistIntervalMs: number;
  /** How often room state patches go out (Colyseus patch rate). */
  patchIntervalMs: number;
  persistBatch: number;
  leaseTtlMs: number;
  reconnectSeconds: number;
  /** Keep the PGlite database in memory (tests); otherwise it lives in `<dataDir>/pglite`. */
  inMemory: boolean;
  /** Run embedded PGlite on a worker thread, so its writes never stall the rooms. */
  pgliteWorker: boolean;
}

function int(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined || value === "") return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0)
    throw new Error(`${name} must be a non-negative integer, got "${value}"`);
  return parsed;
}

export function loadConfig(
  env: NodeJS.ProcessEnv = process.env,
  overrides: Partial<LoomConfig> = {},
): LoomConfig {
  return {
    port: int(env.PORT, 2567, "PORT"),
    databaseUrl: env.DATABASE_URL || null,
    redisUrl: env.REDIS_URL || null,
    secret: env.LOOM_SECRET || null,
    dataDir: resolve(env.LOOM_DATA_DIR || "./data"),
    publicAddress: env.LOOM_PUBLIC_ADDRESS || null,
    actionsPerSecond: int(env.LOOM_ACTIONS_PER_SECOND, 10, "LOOM_ACTIONS_PER_SECOND"),
    persistIntervalMs: int(env.LOOM_PERSIST_INTERVAL_MS, 100, "LOOM_PERSIST_INTERVAL_MS"),
    patchIntervalMs: int(env.LOOM_PATCH_INTERVAL_MS, 200, "LOOM_PATCH_INTERVAL_MS"),
    persistBatch: int(env.LOOM_PERSIST_BATCH, 200, "LOOM_PERSIST_BATCH"),
    leaseTtlMs: int(env.LOOM_LEASE_TTL_MS, 10_000, "LOOM_LEASE_TTL_MS"),
    reconnectSeconds: int(env.LOOM_RECONNECT_SECONDS, 30, "LOOM_RECONNECT_SECONDS"),
    inMemory: env.LOOM_IN_MEMORY === "1",
    pgliteWorker: env.LOOM_PGLITE_WORKER !== "0",
    ...overrides,
  };
}

export function describeMode(config: LoomConfig): string {
  const db = config.databaseUrl
    ? "Postgres"
    : config.inMemory
      ? "PGlite (in memory)"
      : `PGlite in ${config.dataDir}`;
  const live = config.redisUrl
    ? "Redis live store + Redis presence/driver"
    : "in-memory live store + local presence";
  return `${config.databaseUrl || config.redisUrl ? "distributed" : "embedded"} mode: ${db}, ${live}`;
}
