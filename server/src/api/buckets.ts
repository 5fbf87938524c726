import type { RateLimit } from "../config.ts";

interface Bucket {
  tokens: number;
  last: number;
}

/**
 * Token buckets by key (an IP, a player, a login name), each holding up to `burst` tokens and
 * refilled at `burst` per `perSeconds`. A full bucket says nothing a new one would not: once per
 * `perSeconds` the full ones are dropped, so the map holds the keys seen lately, not every key
 * a process that runs for months has seen. Past `maxKeys` within one such period, the full
 * buckets are dropped at once, then the oldest.
 */
export class KeyedBuckets {
  private readonly buckets = new Map<string, Bucket>();
  private readonly perMs: number;
  /** When the full buckets were last dropped. */
  private sweptAt: number;

  constructor(
    private readonly limit: RateLimit,
    private readonly now: () => number,
    private readonly maxKeys = 100_000,
  ) {
    this.perMs = limit.burst / (limit.perSeconds * 1000);
    this.sweptAt = now();
  }

  /** Takes a token: 0 when there was one, else the whole seconds until there will be. */
  take(key: string): number {
    const now = this.now();
    // a clock moved backwards sweeps too: the next sweep must not wait for it to come back
    if (Math.abs(now - this.sweptAt) >= this.limit.perSeconds * 1000) this.dropFull(now);
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

  private dropFull(now: number): void {
    this.sweptAt = now;
    for (const [key, bucket] of this.buckets) {
      if (bucket.tokens + Math.max(0, now - bucket.last) * this.perMs >= this.limit.burst)
        this.buckets.delete(key);
    }
  }

  private evict(now: number): void {
    this.dropFull(now);
    while (this.buckets.size >= this.maxKeys) {
      const oldest = this.buckets.keys().next();
      if (oldest.done) break;
      this.buckets.delete(oldest.value);
    }
  }
}
