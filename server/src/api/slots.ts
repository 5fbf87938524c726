/**
 * A fixed number of slots for work the process does only so much of at once. A newcomer finds a
 * free slot or is refused (`tryTake`); work that set its slot aside for a while and comes back
 * waits for one (`take`), ahead of any newcomer: a slot given back goes to the longest waiting.
 */
export class Slots {
  private taken = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(readonly size: number) {}

  tryTake(): boolean {
    if (this.taken >= this.size) return false;
    this.taken += 1;
    return true;
  }

  take(): Promise<void> {
    if (this.tryTake()) return Promise.resolve();
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  give(): void {
    const next = this.waiting.shift();
    // handed straight over, so no newcomer takes it in between
    if (next) next();
    else this.taken -= 1;
  }

  /** Slots in use, handed-over ones included. */
  get inUse(): number {
    return this.taken;
  }
}
