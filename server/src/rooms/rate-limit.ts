/** A token bucket: `rate` actions per second, bursts up to `rate`. */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly rate: number,
    now: number,
  ) {
    this.tokens = rate;
    this.last = now;
  }

  /** Whether it holds all it can: a new bucket would answer the same. */
  full(now: number): boolean {
    return this.rate <= 0 || this.tokens + (Math.max(0, now - this.last) / 1000) * this.rate >= this.rate;
  }

  take(now: number): boolean {
    if (this.rate <= 0) return true; // 0 disables the limit
    this.tokens = Math.min(this.rate, this.tokens + ((now - this.last) / 1000) * this.rate);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
