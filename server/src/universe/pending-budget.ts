/**
 * The turns of every universe of one process that wait for the database, counted against one
 * bound. A per-universe bound alone lets memory grow with the number of busy universes during an
 * outage; this one caps the process whatever that number is (README, "When Postgres does not
 * answer"). Persisters add what they queue and take off what the database took or what their
 * universe handed to its next owner.
 */
export class PendingBudget {
  private waiting = 0;

  constructor(readonly most: number) {}

  /** Turns of this process waiting for the database now. */
  get count(): number {
    return this.waiting;
  }

  get full(): boolean {
    return this.waiting >= this.most;
  }

  add(turns: number): void {
    this.waiting += turns;
  }

  remove(turns: number): void {
    this.waiting = Math.max(0, this.waiting - turns);
  }
}
