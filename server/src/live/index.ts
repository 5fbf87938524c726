import type { LiveStore } from "./live-store.ts";
import { MemoryLiveStore } from "./memory.ts";
import { RedisLiveStore } from "./redis.ts";

export * from "./live-store.ts";
export { MemoryLiveStore, type MemoryLiveStoreOptions } from "./memory.ts";
export { RedisLiveStore, universeKeys } from "./redis.ts";

/** Redis when a URL is given (REDIS_URL), otherwise the embedded in-memory store. */
export function createLiveStore(options: { redisUrl?: string } = {}): LiveStore {
  return options.redisUrl ? new RedisLiveStore(options.redisUrl) : new MemoryLiveStore();
}
