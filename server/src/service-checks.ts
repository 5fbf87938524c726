import { ConfigError, type LoomConfig } from "./config.ts";

/**
 * One connection to each configured service before anything is opened on it, so that a mistake in
 * DATABASE_URL or REDIS_URL stops the start in one line naming the variable, within a bound.
 * The stores' own clients would not: the migrations' connection waits out postgres.js's own 30 s
 * whatever LOOM_DATABASE_TIMEOUT_MS says, and tries again for good while connections close before
 * Postgres answers; ioredis's reconnections end in a retry limit that names nothing, or wait for
 * good on a Redis that never answers. A service that goes away later, while serving, is the
 * stores' own fault handling, not this.
 *
 * Messages never repeat the URL (it may hold a password): only the host and port it points at.
 */

/** A Redis on another machine may take a moment to answer a first connection; a start can wait this long. */
const REDIS_CHECK_MS = 5_000;

/** Both services a configuration names, at once; the first to fail stops the start. */
export async function checkServices(config: LoomConfig): Promise<void> {
  await Promise.all([
    config.databaseUrl ? checkDatabase(config.databaseUrl, config.databaseTimeoutMs) : null,
    config.redisUrl ? checkRedis(config.redisUrl, Math.max(REDIS_CHECK_MS, config.redisTimeoutMs)) : null,
  ]);
}

/** Postgres: connects, logs in and opens the database, within `timeoutMs`. */
export async function checkDatabase(
  url: string,
  timeoutMs: number,
  variable = "DATABASE_URL",
): Promise<void> {
  // loaded only by a process that has a Postgres to check
  const { default: postgres } = await import("postgres");
  let sql: ReturnType<typeof postgres> | null = null;
  try {
    // the driver reads the URL its own way, and may refuse one the URL parser took
    sql = postgres(url, { max: 1, onnotice: () => {}, connect_timeout: Math.ceil(timeoutMs / 1000) });
    await within(sql`select 1`, timeoutMs);
  } catch (error) {
    throw new ConfigError(variable, databaseTrouble(error, url, timeoutMs));
  } finally {
    // a connection still being tried is dropped with the pool
    await sql?.end({ timeout: 0 }).catch(() => undefined);
  }
}

/** Redis: connects, logs in, selects the database and answers a PING, within `timeoutMs`. */
export async function checkRedis(url: string, timeoutMs: number, variable = "REDIS_URL"): Promise<void> {
  const { Redis } = await import("ioredis");
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  // the reason a connection failed comes as an event; connect() then rejects only with its close
  const reported: { error: Error | null } = { error: null };
  redis.on("error", (error: Error) => (reported.error ??= error));
  let failure: unknown = null;
  try {
    await within(
      redis.connect().then(() => redis.ping()),
      timeoutMs,
    );
  } catch (error) {
    failure = error instanceof TimedOut ? error : (reported.error ?? error);
  } finally {
    redis.disconnect();
  }
  // a SELECT of a database Redis does not have is only reported: the commands would go to 0
  failure ??= reported.error;
  if (failure) throw new ConfigError(variable, redisTrouble(failure, url, timeoutMs));
}

class TimedOut extends Error {}

function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimedOut()), ms);
  });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}

function codeOf(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : "";
}

function seconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}

/** Where a URL points, without its user and password. */
function target(url: string, defaultPort: number): string {
  if (url.startsWith("/")) return url;
  try {
    const parsed = new URL(url);
    const host = decodeURIComponent(parsed.hostname) || "localhost";
    return `${host}:${parsed.port || defaultPort}`;
  } catch {
    return "the host it names";
  }
}

/** A driver's own words, with the URL and its password taken out should they ever be in them. */
function driverWords(error: unknown, url: string): string {
  const text = error instanceof Error ? error.message : String(error);
  let password = "";
  try {
    password = decodeURIComponent(new URL(url).password);
  } catch {
    // no password to take out
  }
  let words = text.split(url).join("<the URL>");
  if (password) words = words.split(password).join("<password>");
  const code = codeOf(error);
  return code && !words.includes(code) ? `${words} [${code}]` : words;
}

function databaseTrouble(error: unknown, url: string, timeoutMs: number): string {
  const at = target(url, 5432);
  const code = codeOf(error);
  if (error instanceof TimedOut || code === "CONNECT_TIMEOUT" || code === "ETIMEDOUT")
    return `points at ${at}, which timed out: no answer from Postgres within ${seconds(timeoutMs)} (LOOM_DATABASE_TIMEOUT_MS)`;
  if (code === "ECONNREFUSED")
    return `points at ${at}, which refused the connection: is Postgres running there, on that port?`;
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") return `names a host that cannot be found (${at})`;
  if (code === "ENOENT") return `names a socket that does not exist (${at})`;
  // invalid_catalog_name
  if (code === "3D000") return `names a database that ${at} does not have: ${driverWords(error, url)}`;
  // invalid_password, invalid_authorization_specification
  if (code === "28P01" || code === "28000") return `was refused by ${at}: ${driverWords(error, url)}`;
  return `could not be used (${at}): ${driverWords(error, url)}`;
}

function redisTrouble(error: unknown, url: string, timeoutMs: number): string {
  const at = target(url, 6379);
  const code = codeOf(error);
  const words = error instanceof Error ? error.message : "";
  if (error instanceof TimedOut || code === "ETIMEDOUT" || /timed? ?out/i.test(words))
    return `points at ${at}, which timed out: no answer from Redis within ${seconds(timeoutMs)}`;
  if (code === "ECONNREFUSED")
    return `points at ${at}, which refused the connection: is Redis running there, on that port?`;
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") return `names a host that cannot be found (${at})`;
  if (code === "ENOENT") return `names a socket that does not exist (${at})`;
  if (/^(NOAUTH|WRONGPASS)/.test(words)) return `was refused by ${at}: ${driverWords(error, url)}`;
  if (/DB index is out of range/.test(words))
    return `names a database number that ${at} does not have: ${driverWords(error, url)}`;
  return `could not be used (${at}): ${driverWords(error, url)}`;
}
