import type { RateLimit } from "../config.ts";

interface Bucket {
  tokens: number;
  last: number;
}

/**
 * Token buckets by key (an IP, a player, a login name), each holding up to `burst` tokens and
 * refilled at `burst` per `perSeconds`. A key seen once costs one small entry; past `maxKeys`, the
 * full buckets (which say nothing a new one would not) are dropped, then the oldest.
 */
export class KeyedBuckets {
  private readonly buckets = new Map<string, Bucket>();
  private readonly perMs: number;

  constructor(
    private readonly limit: RateLimit,
    private readonly now: () => number,
    private readonly maxKeys = 100_000,
  ) {
    this.perMs = limit.burst / (limit.perSeconds * 1000);
  }

  /** Takes a token: 0 when there was one, else the whole seconds until there will be. */
  take(key: string): number {
    const now = this.now();
    const bucket = this.buckets.get(key) ?? this.fresh(key, now);
    bucket.tokens = Math.min(this.limit.burst, bucket.tokens + Math.max(0, now - bucket.last) * this.perMs);
    bucket.last = now;
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / this.perMs / 1000));
  }

  private fresh(key: string, now: number): Bucket {
    if (this.buckets.size >= this.maxKeys) this.evict(now);
    const bucket = { tokens: this.limit.burst, last: now };
    this.buckets.set(key, bucket);
    return bucket;
  }

  private evict(now: number): void {
    for (const [key, bucket] of this.buckets) {
      if (bucket.tokens + Math.max(0, now - bucket.last) * this.perMs >= this.limit.burst)
        this.buckets.delete(key);
    }
    while (this.buckets.size >= this.maxKeys) {
      const oldest = this.buckets.keys().next();
      if (oldest.done) break;
      this.buckets.delete(oldest.value);
    }
  }
}
