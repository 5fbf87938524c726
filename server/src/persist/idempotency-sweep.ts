import { log } from "../log.ts";
import type { IdempotencyStore } from "./idempotency-store.ts";

export interface SweepOptions {
  intervalMs: number;
  /** Keys deleted by one statement: a short transaction, whatever the backlog. */
  batch: number;
  /** Statements a sweep makes at most; a backlog longer than that waits for the next sweeps. */
  maxBatches: number;
}

/**
 * Deletes expired Idempotency-Keys, a bounded batch at a time, every `intervalMs`. A claim deletes
 * only its own player's expired keys, so a player who never came back would keep theirs for ever.
 * Every process sweeps: with nothing expired a sweep is one indexed read, and sweeps that meet
 * skip each other's rows rather than wait for them. The timer is unref'd, so it never keeps a
 * process alive.
 */
export class IdempotencySweep {
  private timer: ReturnType<typeof setInterval> | null = null;
  private running: Promise<number> | null = null;
  private stopped = false;

  constructor(
    private readonly store: Pick<IdempotencyStore, "deleteExpiredKeys">,
    private readonly options: SweepOptions = { intervalMs: 60_000, batch: 1_000, maxBatches: 10 },
  ) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.sweep(), this.options.intervalMs);
    this.timer.unref();
  }

  /** Stops the timer and waits for a sweep under way: the stores close next. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  /** Sweeps now, or joins the sweep under way; how many keys it deleted. */
  sweep(): Promise<number> {
    this.running ??= this.sweepOnce().finally(() => (this.running = null));
    return this.running;
  }

  private async sweepOnce(): Promise<number> {
    const { batch, maxBatches } = this.options;
    let deleted = 0;
    try {
      for (let i = 0; i < maxBatches; i++) {
        const count = await this.store.deleteExpiredKeys(batch);
        deleted += count;
        if (count < batch || this.stopped) break;
      }
    } catch (error) {
      log.warn("expired Idempotency-Keys could not be deleted; the next sweep tries again", { err: error });
    }
    return deleted;
  }
}
