/**
 * A latency histogram in milliseconds: 0.1 ms buckets up to 100 ms, 1 ms buckets up to 60 s.
 * Recording is O(1) and allocation-free, so the measuring client (which shares the machine with
 * the server) does not add sorting pauses of its own while the load runs; the exact maximum is
 * kept beside the buckets.
 */
const FINE_LIMIT_MS = 100;
const FINE_STEP_MS = 0.1;
const COARSE_LIMIT_MS = 60_000;
const FINE_BUCKETS = FINE_LIMIT_MS / FINE_STEP_MS;
const COARSE_BUCKETS = COARSE_LIMIT_MS - FINE_LIMIT_MS;

export interface LatencySummary {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export class LatencyHistogram {
  private readonly buckets = new Uint32Array(FINE_BUCKETS + COARSE_BUCKETS + 1);
  private total = 0;
  private maximum = 0;

  record(ms: number): void {
    const value = Math.max(0, ms);
    this.total += 1;
    if (value > this.maximum) this.maximum = value;
    this.buckets[bucketOf(value)]! += 1;
  }

  get count(): number {
    return this.total;
  }

  get max(): number {
    return this.maximum;
  }

  /** The upper bound of the bucket holding the q-quantile (0 < q ≤ 1), capped at the exact max. */
  quantile(q: number): number {
    if (this.total === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.total));
    let seen = 0;
    for (let i = 0; i < this.buckets.length; i++) {
      seen += this.buckets[i]!;
      if (seen >= rank) return Math.min(upperBound(i), this.maximum);
    }
    return this.maximum;
  }

  summary(): LatencySummary {
    return {
      count: this.total,
      p50: round(this.quantile(0.5)),
      p95: round(this.quantile(0.95)),
      p99: round(this.quantile(0.99)),
      max: round(this.maximum),
    };
  }
}

function bucketOf(ms: number): number {
  if (ms < FINE_LIMIT_MS) return Math.floor(ms / FINE_STEP_MS);
  if (ms < COARSE_LIMIT_MS) return FINE_BUCKETS + Math.floor(ms - FINE_LIMIT_MS);
  return FINE_BUCKETS + COARSE_BUCKETS;
}

function upperBound(index: number): number {
  if (index < FINE_BUCKETS) return (index + 1) * FINE_STEP_MS;
  if (index < FINE_BUCKETS + COARSE_BUCKETS) return FINE_LIMIT_MS + (index - FINE_BUCKETS) + 1;
  return Number.POSITIVE_INFINITY;
}

export function round(value: number, digits = 1): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
