import { resolve } from "node:path";

/** A token bucket: up to `burst` requests at once, refilled evenly at `burst` per `perSeconds`. */
export interface RateLimit {
  burst: number;
  perSeconds: number;
}

/** HTTP limits; null disables one. */
export interface HttpLimits {
  registerPerIp: RateLimit | null;
  loginPerIp: RateLimit | null;
  /** Per login name, whatever the IP: what stops a password being guessed from many addresses. */
  loginPerAccount: RateLimit | null;
  writePerIp: RateLimit | null;
  writePerPlayer: RateLimit | null;
  /** Exports per player: each reads a whole timeline, and its parents' (api/export.ts). */
  exportPerPlayer: RateLimit | null;
  /** Exports one process streams at once, whoever asks: their turns are parsed on the rooms' thread. */
  exportsAtOnce: number;
}

/** Which narrator tells the turns, and how it is reached (README, "Narration"). */
export interface NarratorConfig {
  kind: "template" | "openai-compatible" | "off";
  url: string | null;
  model: string | null;
  apiKey: string | null;
  /** The most one request to the model may take, from asking to the last chunk. */
  timeoutMs: number;
  retries: number;
  /** Narrations in progress at once per universe. */
  concurrency: number;
  /** Turns that may wait for the model per universe; beyond, the template tells them at once. */
  backlog: number;
  maxTokens: number;
  temperature: number;
  /** The most the prompt may take, in estimated tokens. */
  promptBudget: number;
  /** The niceness of the thread that talks to the model (Linux; 0–19). */
  threadNice: number;
}

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
  /**
   * Joins of one universe's room per player, reconnections to the same seat aside: each join may
   * start a play session (two turns for the whole table, a flush and the recap's reads). Null: no limit.
   */
  joinsPerPlayer: RateLimit | null;
  persistIntervalMs: number;
  /** How often room state patches go out (Colyseus patch rate). */
  patchIntervalMs: number;
  persistBatch: number;
  /**
   * How long after a persist the full-text indexer writes the turns' search documents (they are
   * searchable before, evaluated on their rows: search-index.ts).
   */
  searchIndexDelayMs: number;
  leaseTtlMs: number;
  /** Most turns of one universe waiting for the database before its clients' commands are refused. */
  maxPendingTurns: number;
  /** Most turns of all of a process's universes waiting for the database (its memory's bound). */
  maxPendingTurnsTotal: number;
  /** The longest any one Redis command may take before it fails (the caller refuses or retries). */
  redisTimeoutMs: number;
  /** The longest one database statement may run; connecting gives up after the same time. */
  databaseTimeoutMs: number;
  reconnectSeconds: number;
  /**
   * How often a room checks every seat against the database (removed, no longer admitted, token
   * revoked): the bound on a removal or log-out that reached the process by no other way.
   */
  seatCheckMs: number;
  /** How long a closing universe keeps trying to write its pending turns (shutdown waits this long at most). */
  shutdownDrainMs: number;
  /** Keep the PGlite database in memory (tests); otherwise it lives in `<dataDir>/pglite`. */
  inMemory: boolean;
  /** Run embedded PGlite on a worker thread, so its writes never stall the rooms. */
  pgliteWorker: boolean;
  /** Postgres: make group commits on a thread of their own, so their round trips never wait for the rooms (off by default). */
  appendThread: boolean;
  /** Lifetime of access tokens; refresh tokens renew them. */
  accessTokenTtlSeconds: number;
  /** Lifetime of a refresh token; each use replaces it with a new one of the same lifetime. */
  refreshTokenTtlSeconds: number;
  /**
   * How long after its rotation a refresh token may be presented again and still renew (the answer
   * that carried its successor was lost) while that successor is unused; 0: never.
   */
  refreshReuseGraceSeconds: number;
  limits: HttpLimits;
  /** Express `trust proxy` (e.g. `loopback`, `1`, a subnet); unset: the socket's address is the IP. */
  trustProxy: string | null;
  /**
   * Origins of pages served elsewhere that a browser lets call this server (`*`: any page); empty,
   * only the web client this server serves itself, which needs no CORS.
   */
  corsOrigins: string[];
  /** The bearer token that shows an operator which universes and what errors /healthz and /metrics.json count. */
  operatorToken: string | null;
  /** Milliseconds clock for tokens and rate limits; tests move it forward. */
  clock: () => number;
  /** Characters one player may create in one universe. */
  maxCharactersPerUniverse: number;
  /** Save points one player may name in one universe (a bookmarks page lists at least this many). */
  maxSavePoints: number;
  /** Room connections one player may hold at once, across universes, tabs and processes. */
  maxConnectionsPerPlayer: number;
  /** How long an Idempotency-Key and its first response are kept. */
  idempotencyTtlSeconds: number;
  /**
   * A play session that starts at least this long after the run's previous one ended refreshes
   * fate points; a quicker return (a reconnect, a reload) continues the same play session.
   */
  sessionGapSeconds: number;
  narrator: NarratorConfig;
}

function int(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined || value === "") return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0)
    throw new Error(`${name} must be a non-negative integer, got "${value}"`);
  return parsed;
}

function positive(value: string | undefined, fallback: number, name: string): number {
  const parsed = int(value, fallback, name);
  if (parsed < 1) throw new Error(`${name} must be at least 1, got "${value}"`);
  return parsed;
}

/**
 * The niceness of the thread that talks to the model unless configured (LOOM_NARRATOR_THREAD_NICE).
 * Below the rooms' thread, so that the thread acknowledging turns wins a core both want (the
 * scheduler weighs a thread at niceness 10 at about a tenth of one at 0), but not below everything
 * else the machine runs: at 19 a telling's first piece waited behind every other process for a
 * core (docs/performance.md, "The chat thread at niceness 10").
 */
export const CHAT_THREAD_NICE = 10;

/** A long grace would let a stolen refresh token renew as long after the player's own renewal. */
function reuseGrace(value: string | undefined, name: string): number {
  const parsed = int(value, 30, name);
  if (parsed > 3600) throw new Error(`${name} must be between 0 and 3600 seconds, got "${value}"`);
  return parsed;
}

function niceness(value: string | undefined, fallback: number, name: string): number {
  const parsed = int(value, fallback, name);
  if (parsed > 19) throw new Error(`${name} must be between 0 and 19, got "${value}"`);
  return parsed;
}

function limit(value: string | undefined, fallback: RateLimit, name: string): RateLimit | null {
  if (value === undefined || value === "") return fallback;
  if (value === "0" || value === "off") return null;
  const match = /^(\d+)\/(\d+)$/.exec(value);
  const burst = Number(match?.[1]);
  const perSeconds = Number(match?.[2]);
  if (!match || burst < 1 || perSeconds < 1)
    throw new Error(`${name} must be "<requests>/<seconds>" (e.g. 30/3600) or "off", got "${value}"`);
  return { burst, perSeconds };
}

/** Comma-separated origins as a browser sends them (scheme, host and port), or `*`. */
function origins(value: string | undefined, name: string): string[] {
  const entries = (value ?? "")
    .split(",")
    .map((entry) => entry.trim())
    .filter((entry) => entry !== "");
  return entries.map((entry) => {
    if (entry === "*") return entry;
    let url: URL | null = null;
    try {
      url = new URL(entry);
    } catch {
      // reported below
    }
    // a path or a query would never equal the Origin header a browser sends
    if (!url || url.origin === "null" || url.pathname !== "/" || url.search || url.hash || url.username)
      throw new Error(
        `${name} must list origins such as https://play.example.com (no path), or *, got "${entry}"`,
      );
    return url.origin;
  });
}

/** Long enough not to be guessed over HTTP; `openssl rand -hex 32` makes one. */
function operatorToken(value: string | undefined): string | null {
  if (!value) return null;
  if (value.length < 16)
    throw new Error("LOOM_OPERATOR_TOKEN must be at least 16 characters (e.g. `openssl rand -hex 32`)");
  return value;
}

function narratorConfig(env: NodeJS.ProcessEnv): NarratorConfig {
  const url = env.LOOM_NARRATOR_URL || null;
  const model = env.LOOM_NARRATOR_MODEL || null;
  const chosen = env.LOOM_NARRATOR || (url ? "openai" : "template");
  const kinds: Record<string, NarratorConfig["kind"]> = {
    template: "template",
    openai: "openai-compatible",
    "openai-compatible": "openai-compatible",
    off: "off",
  };
  const kind = kinds[chosen];
  if (!kind) throw new Error(`LOOM_NARRATOR must be template, openai or off, got "${chosen}"`);
  if (kind === "openai-compatible") {
    if (!url) throw new Error("LOOM_NARRATOR_URL is required for the OpenAI-compatible narrator");
    if (!model) throw new Error("LOOM_NARRATOR_MODEL is required for the OpenAI-compatible narrator");
    try {
      new URL(url);
    } catch {
      throw new Error(`LOOM_NARRATOR_URL must be a URL such as http://127.0.0.1:11434/v1, got "${url}"`);
    }
  }
  const temperature = Number(env.LOOM_NARRATOR_TEMPERATURE || 0.8);
  if (!Number.isFinite(temperature) || temperature < 0 || temperature > 2)
    throw new Error(
      `LOOM_NARRATOR_TEMPERATURE must be between 0 and 2, got "${env.LOOM_NARRATOR_TEMPERATURE}"`,
    );
  return {
    kind,
    url,
    model,
    apiKey: env.LOOM_NARRATOR_API_KEY || null,
    timeoutMs: positive(env.LOOM_NARRATOR_TIMEOUT_MS, 20_000, "LOOM_NARRATOR_TIMEOUT_MS"),
    retries: int(env.LOOM_NARRATOR_RETRIES, 2, "LOOM_NARRATOR_RETRIES"),
    concurrency: positive(env.LOOM_NARRATOR_CONCURRENCY, 2, "LOOM_NARRATOR_CONCURRENCY"),
    backlog: int(env.LOOM_NARRATOR_BACKLOG, 20, "LOOM_NARRATOR_BACKLOG"),
    maxTokens: positive(env.LOOM_NARRATOR_MAX_TOKENS, 300, "LOOM_NARRATOR_MAX_TOKENS"),
    temperature,
    promptBudget: positive(env.LOOM_NARRATOR_PROMPT_TOKENS, 2_000, "LOOM_NARRATOR_PROMPT_TOKENS"),
    threadNice: niceness(env.LOOM_NARRATOR_THREAD_NICE, CHAT_THREAD_NICE, "LOOM_NARRATOR_THREAD_NICE"),
  };
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
    joinsPerPlayer: limit(
      env.LOOM_LIMIT_JOIN_PLAYER,
      { burst: 10, perSeconds: 30 },
      "LOOM_LIMIT_JOIN_PLAYER",
    ),
    persistIntervalMs: int(env.LOOM_PERSIST_INTERVAL_MS, 100, "LOOM_PERSIST_INTERVAL_MS"),
    patchIntervalMs: int(env.LOOM_PATCH_INTERVAL_MS, 200, "LOOM_PATCH_INTERVAL_MS"),
    persistBatch: int(env.LOOM_PERSIST_BATCH, 200, "LOOM_PERSIST_BATCH"),
    searchIndexDelayMs: int(env.LOOM_SEARCH_INDEX_DELAY_MS, 100, "LOOM_SEARCH_INDEX_DELAY_MS"),
    leaseTtlMs: int(env.LOOM_LEASE_TTL_MS, 10_000, "LOOM_LEASE_TTL_MS"),
    maxPendingTurns: positive(env.LOOM_MAX_PENDING_TURNS, 10_000, "LOOM_MAX_PENDING_TURNS"),
    maxPendingTurnsTotal: positive(env.LOOM_MAX_PENDING_TURNS_TOTAL, 60_000, "LOOM_MAX_PENDING_TURNS_TOTAL"),
    redisTimeoutMs: positive(env.LOOM_REDIS_TIMEOUT_MS, 750, "LOOM_REDIS_TIMEOUT_MS"),
    databaseTimeoutMs: positive(env.LOOM_DATABASE_TIMEOUT_MS, 15_000, "LOOM_DATABASE_TIMEOUT_MS"),
    reconnectSeconds: int(env.LOOM_RECONNECT_SECONDS, 30, "LOOM_RECONNECT_SECONDS"),
    seatCheckMs: positive(env.LOOM_SEAT_CHECK_MS, 30_000, "LOOM_SEAT_CHECK_MS"),
    shutdownDrainMs: int(env.LOOM_SHUTDOWN_DRAIN_MS, 10_000, "LOOM_SHUTDOWN_DRAIN_MS"),
    inMemory: env.LOOM_IN_MEMORY === "1",
    pgliteWorker: env.LOOM_PGLITE_WORKER !== "0",
    appendThread: env.LOOM_APPEND_THREAD === "1",
    accessTokenTtlSeconds: positive(
      env.LOOM_ACCESS_TOKEN_TTL_SECONDS,
      15 * 60,
      "LOOM_ACCESS_TOKEN_TTL_SECONDS",
    ),
    refreshTokenTtlSeconds: positive(
      env.LOOM_REFRESH_TOKEN_TTL_SECONDS,
      30 * 24 * 3600,
      "LOOM_REFRESH_TOKEN_TTL_SECONDS",
    ),
    refreshReuseGraceSeconds: reuseGrace(
      env.LOOM_REFRESH_REUSE_GRACE_SECONDS,
      "LOOM_REFRESH_REUSE_GRACE_SECONDS",
    ),
    limits: {
      registerPerIp: limit(
        env.LOOM_LIMIT_REGISTER_IP,
        { burst: 30, perSeconds: 3600 },
        "LOOM_LIMIT_REGISTER_IP",
      ),
      loginPerIp: limit(env.LOOM_LIMIT_LOGIN_IP, { burst: 60, perSeconds: 600 }, "LOOM_LIMIT_LOGIN_IP"),
      loginPerAccount: limit(
        env.LOOM_LIMIT_LOGIN_ACCOUNT,
        { burst: 10, perSeconds: 600 },
        "LOOM_LIMIT_LOGIN_ACCOUNT",
      ),
      writePerIp: limit(env.LOOM_LIMIT_WRITE_IP, { burst: 300, perSeconds: 60 }, "LOOM_LIMIT_WRITE_IP"),
      writePerPlayer: limit(
        env.LOOM_LIMIT_WRITE_PLAYER,
        { burst: 120, perSeconds: 60 },
        "LOOM_LIMIT_WRITE_PLAYER",
      ),
      exportPerPlayer: limit(
        env.LOOM_LIMIT_EXPORT_PLAYER,
        { burst: 6, perSeconds: 60 },
        "LOOM_LIMIT_EXPORT_PLAYER",
      ),
      exportsAtOnce: positive(env.LOOM_MAX_EXPORTS, 2, "LOOM_MAX_EXPORTS"),
    },
    trustProxy: env.LOOM_TRUST_PROXY || null,
    corsOrigins: origins(env.LOOM_CORS_ORIGINS, "LOOM_CORS_ORIGINS"),
    operatorToken: operatorToken(env.LOOM_OPERATOR_TOKEN),
    clock: Date.now,
    maxCharactersPerUniverse: int(
      env.LOOM_MAX_CHARACTERS_PER_UNIVERSE,
      5,
      "LOOM_MAX_CHARACTERS_PER_UNIVERSE",
    ),
    maxSavePoints: int(env.LOOM_MAX_SAVE_POINTS, 100, "LOOM_MAX_SAVE_POINTS"),
    maxConnectionsPerPlayer: int(env.LOOM_MAX_CONNECTIONS_PER_PLAYER, 8, "LOOM_MAX_CONNECTIONS_PER_PLAYER"),
    idempotencyTtlSeconds: int(env.LOOM_IDEMPOTENCY_TTL_SECONDS, 86_400, "LOOM_IDEMPOTENCY_TTL_SECONDS"),
    sessionGapSeconds: int(env.LOOM_SESSION_GAP_SECONDS, 3_600, "LOOM_SESSION_GAP_SECONDS"),
    narrator: narratorConfig(env),
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
    : config.inMemory
      ? "in-memory live store + local presence"
      : `write-ahead log in ${config.dataDir}/wal + local presence`;
  const narrator =
    config.narrator.kind === "openai-compatible"
      ? `narrator ${config.narrator.model} at ${new URL(config.narrator.url!).host}`
      : `${config.narrator.kind} narrator`;
  return `${config.databaseUrl || config.redisUrl ? "distributed" : "embedded"} mode: ${db}, ${live}, ${narrator}`;
}
