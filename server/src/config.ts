import { statSync, type Stats } from "node:fs";
import { createRequire } from "node:module";
import { isIP } from "node:net";
import { dirname, resolve } from "node:path";
import type Express from "express";

const require = createRequire(import.meta.url);

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
  /** The address to listen on (`LOOM_HOST`); null for every interface. */
  host: string | null;
  databaseUrl: string | null;
  redisUrl: string | null;
  secret: string | null;
  dataDir: string;
  publicAddress: string | null;
  /** Actions per second a client may send before getting `rate_limited`; 0: no limit. */
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
   * Most bytes one connection may have waiting in this process to be sent: past it, a client that
   * stopped reading (or reads slower than its table plays) is cut off and reconnects.
   */
  clientBacklogBytes: number;
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
  /** Universes one player may create, branches included (imports by the operator do not count). */
  maxUniversesPerPlayer: number;
  /** Room connections one player may hold at once, across universes, tabs and processes; 0: no limit. */
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

/**
 * A variable set to a value the server cannot run with. Its message names the variable and what it
 * wants: the one line the process refuses to start with (main.ts), or `loom` stops with (cli/).
 */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    wants: string,
  ) {
    super(`${variable} ${wants}`);
    this.name = "ConfigError";
  }
}

/** The longest delay a Node timer takes: a longer one fires after 1 ms instead. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** Lifetimes in seconds past this would put an expiry beyond the dates a record can hold. */
const TEN_YEARS_SECONDS = 10 * 365 * 86_400;

/** A whole number in [min, max], the fallback when unset or empty (an empty variable is an unset one). */
function whole(
  value: string | undefined,
  fallback: number,
  name: string,
  min = 0,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (value === undefined || value === "") return fallback;
  const parsed = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!(parsed >= min && parsed <= max))
    throw new ConfigError(
      name,
      max === Number.MAX_SAFE_INTEGER
        ? `must be a whole number of at least ${min}, got "${value}"`
        : `must be a whole number from ${min} to ${max}, got "${value}"`,
    );
  return parsed;
}

function int(value: string | undefined, fallback: number, name: string): number {
  return whole(value, fallback, name, 0);
}

function positive(value: string | undefined, fallback: number, name: string): number {
  return whole(value, fallback, name, 1);
}

/** A delay or period handed to a timer. */
function ms(value: string | undefined, fallback: number, name: string, min = 1, max = MAX_TIMER_MS): number {
  return whole(value, fallback, name, min, max);
}

/** `1`/`on` or `0`/`off`: anything else would otherwise read as one of them without a word. */
function flag(value: string | undefined, fallback: boolean, name: string): boolean {
  if (value === undefined || value === "") return fallback;
  if (value === "1" || value === "on") return true;
  if (value === "0" || value === "off") return false;
  throw new ConfigError(name, `must be 1 (on) or 0 (off), got "${value}"`);
}

function oneOf(value: string | undefined, allowed: readonly string[], name: string): void {
  if (value === undefined || value === "" || allowed.includes(value)) return;
  throw new ConfigError(name, `must be ${allowed.join(", ")}, got "${value}"`);
}

/** A URL with one of `protocols`; the value is never repeated in the message (it may hold a password). */
function serviceUrl(
  value: string | undefined,
  name: string,
  protocols: readonly string[],
  example: string,
): string | null {
  if (!value) return null;
  let url: URL | null = null;
  try {
    url = new URL(value);
  } catch {
    // reported below
  }
  if (url && protocols.includes(url.protocol)) return value;
  throw new ConfigError(
    name,
    `must be a URL such as ${example}, got ${url ? `a ${url.protocol} URL` : "a value that is not a URL"}`,
  );
}

function redisUrl(value: string | undefined): string | null {
  // ioredis also takes the path of a Unix socket
  if (value?.startsWith("/")) return value;
  return serviceUrl(value, "REDIS_URL", ["redis:", "rediss:"], "redis://127.0.0.1:6379");
}

/** The folder, or where one may be made: no file in its place or above it. */
function dataDir(value: string | undefined): string {
  const dir = resolve(value || "./data");
  for (let at = dir; ; at = dirname(at)) {
    let found: Stats | undefined;
    try {
      found = statSync(at, { throwIfNoEntry: false });
    } catch (error) {
      // a file above it: the parent says which
      if ((error as NodeJS.ErrnoException).code === "ENOTDIR") continue;
      return dir; // not ours to read: making the folder says why
    }
    if (found && !found.isDirectory())
      throw new ConfigError("LOOM_DATA_DIR", `must be a folder, but ${at} is a file`);
    if (found || dirname(at) === at) return dir;
  }
}

/** An IP address or a host name to listen on: `127.0.0.1`, `::`, `loom.internal`. */
function listenHost(value: string | undefined): string | null {
  if (!value) return null;
  if (isIP(value) !== 0 || /^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(value)) return value;
  throw new ConfigError(
    "LOOM_HOST",
    `must be the address or host name to listen on, such as 127.0.0.1 or :: (no port), got "${value}"`,
  );
}

/** Where clients open this process's rooms: `host[:port]` (and a path), as the SDK puts it after ws://. */
function publicAddress(value: string | undefined): string | null {
  if (!value) return null;
  let url: URL | null = null;
  try {
    if (!value.includes("://")) url = new URL(`ws://${value}`);
  } catch {
    // reported below
  }
  if (!url || !url.hostname || url.search || url.hash || url.username)
    throw new ConfigError(
      "LOOM_PUBLIC_ADDRESS",
      `must be the host and port clients reach this process at, such as play.example.com:2567 (no scheme), got "${value}"`,
    );
  return value;
}

/** As Express reads it (api/routes.ts): a hop count, `true`, or addresses, subnets and their names. */
function trustProxy(value: string | undefined): string | null {
  if (!value) return null;
  if (/^\d+$/.test(value) || value === "true") return value;
  try {
    // loaded only when there is a value to read: `loom`, which never serves, would pay for
    // Express on every command
    const express = require("express") as typeof Express;
    express().set("trust proxy", value);
  } catch (error) {
    throw new ConfigError(
      "LOOM_TRUST_PROXY",
      `must be a hop count, loopback, or addresses and subnets such as 10.0.0.0/8 (${(error as Error).message}), got "${value}"`,
    );
  }
  return value;
}

/** auth/tokens.ts signs with nothing shorter; refused here, before any store is opened. */
function secret(value: string | undefined): string | null {
  if (!value) return null;
  if (value.length < 32)
    throw new ConfigError("LOOM_SECRET", "must be at least 32 characters (e.g. `openssl rand -hex 32`)");
  return value;
}

/**
 * Variables read where they are used (log.ts, persist/, main.ts), checked here so that a value
 * they would read as another stops the start like any other.
 */
function checkReadElsewhere(env: NodeJS.ProcessEnv): void {
  oneOf(env.LOOM_LOG_LEVEL, ["debug", "info", "warn", "error", "silent"], "LOOM_LOG_LEVEL");
  oneOf(env.LOOM_LOG_FORMAT, ["json", "pretty"], "LOOM_LOG_FORMAT");
  oneOf(env.LOOM_LOG_DESTINATION, ["stdout", "stderr"], "LOOM_LOG_DESTINATION");
  oneOf(env.LOOM_WEB_BUILD, ["on", "off"], "LOOM_WEB_BUILD");
  for (const name of ["LOOM_KEPT_STATES_MB", "LOOM_PART_TEXTS_MB", "LOOM_KEPT_STATES_FROM_KB"]) {
    const value = env[name];
    if (value !== undefined && value !== "" && !/^\d+(\.\d+)?$/.test(value))
      throw new ConfigError(name, `must be a number of at least 0, got "${value}"`);
  }
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
  return whole(value, 30, name, 0, 3600);
}

function niceness(value: string | undefined, fallback: number, name: string): number {
  return whole(value, fallback, name, 0, 19);
}

function limit(value: string | undefined, fallback: RateLimit, name: string): RateLimit | null {
  if (value === undefined || value === "") return fallback;
  if (value === "0" || value === "off") return null;
  const match = /^(\d+)\/(\d+)$/.exec(value);
  const burst = Number(match?.[1]);
  const perSeconds = Number(match?.[2]);
  if (!match || burst < 1 || perSeconds < 1)
    throw new ConfigError(name, `must be "<requests>/<seconds>" (e.g. 30/3600) or "off", got "${value}"`);
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
      throw new ConfigError(
        name,
        `must list origins such as https://play.example.com (no path), or *, got "${entry}"`,
      );
    return url.origin;
  });
}

/** Long enough not to be guessed over HTTP; `openssl rand -hex 32` makes one. */
function operatorToken(value: string | undefined): string | null {
  if (!value) return null;
  if (value.length < 16)
    throw new ConfigError(
      "LOOM_OPERATOR_TOKEN",
      "must be at least 16 characters (e.g. `openssl rand -hex 32`)",
    );
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
  if (!kind) throw new ConfigError("LOOM_NARRATOR", `must be template, openai or off, got "${chosen}"`);
  if (kind === "openai-compatible") {
    if (!url) throw new ConfigError("LOOM_NARRATOR_URL", "is required for the OpenAI-compatible narrator");
    if (!model)
      throw new ConfigError("LOOM_NARRATOR_MODEL", "is required for the OpenAI-compatible narrator");
    // the endpoint's key goes with every request: never to a URL that is no web address
    serviceUrl(url, "LOOM_NARRATOR_URL", ["http:", "https:"], "http://127.0.0.1:11434/v1");
  }
  const asked = env.LOOM_NARRATOR_TEMPERATURE;
  // Number(" ") is 0: only a number written out is one
  const temperature = asked ? (/^\s*$/.test(asked) ? Number.NaN : Number(asked)) : 0.8;
  if (!(temperature >= 0 && temperature <= 2))
    throw new ConfigError("LOOM_NARRATOR_TEMPERATURE", `must be a number from 0 to 2, got "${asked}"`);
  return {
    kind,
    url,
    model,
    apiKey: env.LOOM_NARRATOR_API_KEY || null,
    timeoutMs: ms(env.LOOM_NARRATOR_TIMEOUT_MS, 20_000, "LOOM_NARRATOR_TIMEOUT_MS"),
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
  checkReadElsewhere(env);
  return {
    port: whole(env.PORT, 2567, "PORT", 1, 65_535),
    host: listenHost(env.LOOM_HOST),
    databaseUrl: serviceUrl(
      env.DATABASE_URL,
      "DATABASE_URL",
      ["postgres:", "postgresql:"],
      "postgres://loom:loom@127.0.0.1:5432/loom",
    ),
    redisUrl: redisUrl(env.REDIS_URL),
    secret: secret(env.LOOM_SECRET),
    dataDir: dataDir(env.LOOM_DATA_DIR),
    publicAddress: publicAddress(env.LOOM_PUBLIC_ADDRESS),
    actionsPerSecond: int(env.LOOM_ACTIONS_PER_SECOND, 10, "LOOM_ACTIONS_PER_SECOND"),
    joinsPerPlayer: limit(
      env.LOOM_LIMIT_JOIN_PLAYER,
      { burst: 10, perSeconds: 30 },
      "LOOM_LIMIT_JOIN_PLAYER",
    ),
    persistIntervalMs: ms(env.LOOM_PERSIST_INTERVAL_MS, 100, "LOOM_PERSIST_INTERVAL_MS"),
    // 0 would stop Colyseus's patch timer: a change without a turn would never reach a client
    patchIntervalMs: ms(env.LOOM_PATCH_INTERVAL_MS, 200, "LOOM_PATCH_INTERVAL_MS"),
    // 0 would write every turn on its own, as it is taken
    persistBatch: positive(env.LOOM_PERSIST_BATCH, 200, "LOOM_PERSIST_BATCH"),
    searchIndexDelayMs: ms(env.LOOM_SEARCH_INDEX_DELAY_MS, 100, "LOOM_SEARCH_INDEX_DELAY_MS", 0),
    // Redis refuses a lease of 0 ms: no universe could open
    leaseTtlMs: ms(env.LOOM_LEASE_TTL_MS, 10_000, "LOOM_LEASE_TTL_MS"),
    maxPendingTurns: positive(env.LOOM_MAX_PENDING_TURNS, 10_000, "LOOM_MAX_PENDING_TURNS"),
    maxPendingTurnsTotal: positive(env.LOOM_MAX_PENDING_TURNS_TOTAL, 60_000, "LOOM_MAX_PENDING_TURNS_TOTAL"),
    redisTimeoutMs: ms(env.LOOM_REDIS_TIMEOUT_MS, 750, "LOOM_REDIS_TIMEOUT_MS"),
    // Postgres's statement_timeout is at most 2^31 - 1 ms too
    databaseTimeoutMs: ms(env.LOOM_DATABASE_TIMEOUT_MS, 15_000, "LOOM_DATABASE_TIMEOUT_MS"),
    reconnectSeconds: whole(
      env.LOOM_RECONNECT_SECONDS,
      30,
      "LOOM_RECONNECT_SECONDS",
      0,
      Math.floor(MAX_TIMER_MS / 1000),
    ),
    clientBacklogBytes:
      1024 * whole(env.LOOM_CLIENT_BACKLOG_KB, 4096, "LOOM_CLIENT_BACKLOG_KB", 64, 1024 * 1024),
    seatCheckMs: ms(env.LOOM_SEAT_CHECK_MS, 30_000, "LOOM_SEAT_CHECK_MS"),
    // main.ts gives the whole shutdown 20 s more, the rooms' closing 5 s more: still one timer
    shutdownDrainMs: ms(
      env.LOOM_SHUTDOWN_DRAIN_MS,
      10_000,
      "LOOM_SHUTDOWN_DRAIN_MS",
      0,
      MAX_TIMER_MS - 25_000,
    ),
    inMemory: flag(env.LOOM_IN_MEMORY, false, "LOOM_IN_MEMORY"),
    pgliteWorker: flag(env.LOOM_PGLITE_WORKER, true, "LOOM_PGLITE_WORKER"),
    appendThread: flag(env.LOOM_APPEND_THREAD, false, "LOOM_APPEND_THREAD"),
    accessTokenTtlSeconds: whole(
      env.LOOM_ACCESS_TOKEN_TTL_SECONDS,
      15 * 60,
      "LOOM_ACCESS_TOKEN_TTL_SECONDS",
      1,
      TEN_YEARS_SECONDS,
    ),
    refreshTokenTtlSeconds: whole(
      env.LOOM_REFRESH_TOKEN_TTL_SECONDS,
      30 * 24 * 3600,
      "LOOM_REFRESH_TOKEN_TTL_SECONDS",
      1,
      TEN_YEARS_SECONDS,
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
    trustProxy: trustProxy(env.LOOM_TRUST_PROXY),
    corsOrigins: origins(env.LOOM_CORS_ORIGINS, "LOOM_CORS_ORIGINS"),
    operatorToken: operatorToken(env.LOOM_OPERATOR_TOKEN),
    clock: Date.now,
    // Caps on what a player stores: 0 would refuse every one, and no cap would leave the database
    // unbounded. The connection and action limits bound what a player does at once: 0 lifts them.
    maxCharactersPerUniverse: positive(
      env.LOOM_MAX_CHARACTERS_PER_UNIVERSE,
      5,
      "LOOM_MAX_CHARACTERS_PER_UNIVERSE",
    ),
    maxSavePoints: positive(env.LOOM_MAX_SAVE_POINTS, 100, "LOOM_MAX_SAVE_POINTS"),
    maxUniversesPerPlayer: positive(env.LOOM_MAX_UNIVERSES_PER_PLAYER, 500, "LOOM_MAX_UNIVERSES_PER_PLAYER"),
    maxConnectionsPerPlayer: int(env.LOOM_MAX_CONNECTIONS_PER_PLAYER, 8, "LOOM_MAX_CONNECTIONS_PER_PLAYER"),
    // 0 would forget a key as it is stored: a retry would run the request again
    idempotencyTtlSeconds: whole(
      env.LOOM_IDEMPOTENCY_TTL_SECONDS,
      86_400,
      "LOOM_IDEMPOTENCY_TTL_SECONDS",
      1,
      TEN_YEARS_SECONDS,
    ),
    sessionGapSeconds: whole(
      env.LOOM_SESSION_GAP_SECONDS,
      3_600,
      "LOOM_SESSION_GAP_SECONDS",
      0,
      TEN_YEARS_SECONDS,
    ),
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
