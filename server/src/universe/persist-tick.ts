import { log } from "../log.ts";

/**
 * One timer for every room's persist tick: rooms with intervals of their own would flush at
 * scattered moments, where on one shared tick their flushes meet in one GroupCommit transaction.
 */
export class PersistTick {
  private readonly listeners = new Set<() => void>();
  private timer: ReturnType<typeof setInterval> | null = null;

  constructor(private readonly intervalMs: number) {}

  /** Calls `onTick` every interval until the returned function is called. */
  add(onTick: () => void): () => void {
    this.listeners.add(onTick);
    this.timer ??= setInterval(() => this.fire(), this.intervalMs);
    return () => {
      this.listeners.delete(onTick);
      if (this.listeners.size === 0 && this.timer) {
        clearInterval(this.timer);
        this.timer = null;
      }
    };
  }

  private fire(): void {
    for (const listener of this.listeners) {
      try {
        listener();
      } catch (error) {
        log.warn("a persist tick listener failed", { err: error });
      }
    }
  }
}
