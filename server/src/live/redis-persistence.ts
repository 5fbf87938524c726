import { Redis } from "ioredis";
import { log } from "../log.ts";

/**
 * A turn is acknowledged once Redis has it in the universe's stream, and it is persisted to
 * Postgres within a persist tick. What happens to the turns in between when Redis itself stops
 * depends on how Redis persists (README, "Redis for acknowledged turns"):
 *
 * - `appendonly yes` + `appendfsync always`: every write is on disk before Redis replies; an
 *   acknowledged turn survives a crash of Redis or of its machine.
 * - `appendonly yes` + `appendfsync everysec` (Redis' default): a crash of the Redis process
 *   loses nothing (the write is in the kernel), a crash of its machine up to about a second.
 * - `appendonly no`: a restart of Redis loses every turn not yet persisted, and the fencing
 *   counters with them.
 *
 * Checked once at start; a Redis that refuses CONFIG (managed services often rename it) is not
 * an error, only unverifiable.
 */
export async function redisPersistenceWarning(url: string): Promise<string | null> {
  const redis = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    retryStrategy: () => null,
  });
  redis.on("error", () => undefined); // the failed command reports it below
  try {
    await redis.connect();
    const [, appendonly] = (await redis.config("GET", "appendonly")) as string[];
    const [, appendfsync] = (await redis.config("GET", "appendfsync")) as string[];
    if (appendonly === "no")
      return (
        "Redis runs with appendonly no: if Redis restarts, turns acknowledged but not yet persisted " +
        "are lost. Set appendonly yes (appendfsync everysec, or always to survive a power cut)."
      );
    if (appendonly === "yes" && appendfsync === "no")
      return "Redis runs with appendfsync no: a crash of its machine can lose acknowledged turns not yet persisted.";
    return null;
  } catch (error) {
    log.info(
      `could not read Redis' persistence settings (${error instanceof Error ? error.message : String(error)}); ` +
        "make sure it runs with appendonly yes",
    );
    return null;
  } finally {
    redis.disconnect();
  }
}

const warned = new Set<string>();

/** Logs the warning above once per process and Redis URL. */
export async function warnUnlessRedisPersists(url: string): Promise<void> {
  if (warned.has(url)) return;
  warned.add(url);
  const warning = await redisPersistenceWarning(url);
  if (warning) log.warn(warning);
}
