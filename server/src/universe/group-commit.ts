import {
  AppendConflictError,
  type AppendBatch,
  type AppendOutcome,
  type AppendRequest,
  type TurnStore,
} from "../persist/turn-store.ts";

interface Waiting extends AppendRequest {
  resolve(result: { head: number }): void;
  reject(error: Error): void;
}

/**
 * Group commit for every universe this process serves. Each persister asks to append its
 * universe's batch; the requests made while the previous group is being written (or within the
 * same turn of the event loop) go to the TurnStore together, as one transaction. Rooms flush on
 * a shared tick, so at 50 busy universes a tick costs one transaction instead of fifty: a
 * transaction's fixed cost (round trips, the commit, and in embedded mode PGlite's per-statement
 * overhead) dominates the small batches a 100 ms tick collects.
 */
export class GroupCommit {
  private waiting: Waiting[] = [];
  private writing: Promise<void> | null = null;
  private scheduled = false;

  constructor(
    private readonly store: Pick<TurnStore, "appendMany">,
    /** Told of each group written: its turns, how long it took, whether the database took it. */
    private readonly onGroup: (turns: number, ms: number, ok: boolean) => void = () => undefined,
  ) {}

  /** Same contract as TurnStore.appendTurns, conflicts included. */
  appendTurns(universeId: string, batch: AppendBatch): Promise<{ head: number }> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ universeId, batch, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.writing) return;
    this.scheduled = true;
    // after the current turn of the event loop: every room's tick lands in the same group
    setImmediate(() => {
      this.scheduled = false;
      this.writing = this.write().finally(() => {
        this.writing = null;
        if (this.waiting.length > 0) this.schedule();
      });
    });
  }

  private async write(): Promise<void> {
    const group = this.take();
    if (group.length === 0) return;
    let outcomes: AppendOutcome[];
    const started = performance.now();
    try {
      outcomes = await this.store.appendMany(group.map(({ universeId, batch }) => ({ universeId, batch })));
    } catch (error) {
      this.onGroup(0, performance.now() - started, false);
      for (const request of group) request.reject(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    // the store answers a universe's failure (the database down, a bound) in its outcome: only the
    // batches it wrote are persisted turns, and a group with a failure is a failed commit
    let written = 0;
    let failed = false;
    group.forEach(({ batch }, i) => {
      const outcome = outcomes[i]!;
      if (outcome.ok) written += batch.turns.length;
      else if (outcome.conflict === null) failed = true;
    });
    this.onGroup(written, performance.now() - started, !failed);
    group.forEach((request, i) => settle(request, outcomes[i]!));
  }

  /** The waiting requests, one per universe: a universe's later batch waits for the next group. */
  private take(): Waiting[] {
    const seen = new Set<string>();
    const group: Waiting[] = [];
    const later: Waiting[] = [];
    for (const request of this.waiting) {
      (seen.has(request.universeId) ? later : group).push(request);
      seen.add(request.universeId);
    }
    this.waiting = later;
    return group;
  }
}

function settle(request: Waiting, outcome: AppendOutcome): void {
  if (outcome.ok) request.resolve({ head: outcome.head });
  else if (outcome.conflict !== null)
    request.reject(new AppendConflictError(request.universeId, request.batch.expectedHead, outcome.conflict));
  else request.reject(Object.assign(new Error(outcome.message), { code: outcome.code }));
}
