import type { LiveStore } from "./live-store.ts";
import { FileLiveStore } from "./file.ts";
import { MemoryLiveStore } from "./memory.ts";
import { RedisLiveStore } from "./redis.ts";

export * from "./live-store.ts";
export { FileLiveStore, type FileLiveStoreOptions } from "./file.ts";
export { MemoryLiveStore, type MemoryLiveStoreOptions } from "./memory.ts";
export { RedisLiveStore, universeKeys } from "./redis.ts";

/**
 * Redis when a URL is given (REDIS_URL); else the write-ahead log in `walDir` (embedded mode on
 * disk); else memory (nothing to keep: an in-memory server).
 */
export async function createLiveStore(
  options: { redisUrl?: string; walDir?: string; redisTimeoutMs?: number } = {},
): Promise<LiveStore> {
  if (options.redisUrl)
    return new RedisLiveStore(options.redisUrl, { commandTimeoutMs: options.redisTimeoutMs });
  if (options.walDir) return FileLiveStore.open({ dir: options.walDir });
  return new MemoryLiveStore();
}
