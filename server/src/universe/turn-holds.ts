import type { Turn } from "@loom/shared";

/**
 * Acknowledged turns kept from the moment the hold was taken, whatever leaves the authority's
 * recent window meanwhile. An undo of a turn further back reads the turns before `from` from the
 * database; decided against those, these and the recent ones, it sees every turn since its
 * target, however many the table plays while the database answers.
 */
export interface TurnHold {
  /** The position of the first turn kept: every turn before it is in the database. */
  readonly from: number;
  /** From `from` on, every turn acknowledged since, oldest first, with the status it was made with. */
  readonly turns: readonly Turn[];
  /** Stops keeping turns; the hold is read no more. */
  release(): void;
}

/** A universe's open holds: each acknowledged turn is added to every one. */
export class TurnHolds {
  private readonly open = new Set<Turn[]>();

  /** A hold starting with `kept`, which begins at `from` and runs through the newest acknowledged turn. */
  take(from: number, kept: readonly Turn[]): TurnHold {
    const turns = [...kept];
    this.open.add(turns);
    return { from, turns, release: () => this.open.delete(turns) };
  }

  acknowledged(turn: Turn): void {
    for (const turns of this.open) turns.push(turn);
  }
}
