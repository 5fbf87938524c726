import { applyDeltas, invertDeltas, upgradeDeltas, type Turn, type UniverseState } from "@loom/shared";
import type { StateAt } from "../persist/turn-store.ts";
import { CHECKPOINT_EVERY, type ScrubIndex } from "./scrub-index.ts";

/** What the scrub states read: a LiveReads (acknowledged turns included). */
export interface ScrubSource {
  stateWithoutChecksum(universeId: string, position: number): Promise<Omit<StateAt, "checksum">>;
  turnsBetween(universeId: string, from: number, to: number): Promise<Turn[]>;
}

export interface ScrubbedState {
  position: number;
  state: UniverseState;
  /**
   * The turn at `position`, when the walk reads it: a walk forward over read turns ends with it,
   * and a walk over the deltas the index holds reads it meanwhile, off this thread.
   */
  turn?: Promise<Turn | undefined>;
  /** How it was reached: from a snapshot (and turns replayed), or walked from a state read before. */
  source:
    | { kind: "snapshot"; from: number; replayed: number }
    | { kind: "walk" | "checkpoint"; from: number; turns: number };
}

/** A walk longer than this reads the nearest snapshot instead, whatever the costs seen. */
const WALK_LIMIT = 500;
/**
 * States kept, across universes. States walked from one another share every object a walk did not
 * change; each state read from a snapshot is a whole world (a few MB of heap for a 1.7 MB world),
 * which bounds this.
 */
const KEPT = 16;

/**
 * States read for a game master's timeline scrubber. A drag rests at positions near the last ones
 * read, so the state at a position is walked from the nearest state kept (the deltas in between,
 * forward or inverted backward: one read of a few turns) instead of parsing a snapshot of the whole
 * world again — on a large world the parse costs tens of milliseconds, a short walk a few hundred
 * microseconds. A far jump reads the snapshot, without the checksum (`stateWithoutChecksum`). Which
 * is cheaper depends on the world's size: the costs of both, as last seen for the universe, decide.
 *
 * With an index (scrub-index.ts), a far jump walks from the nearest of its checkpoints instead,
 * once the index has been built.
 *
 * The state at a position never changes once acknowledged (the log is append-only; undo and
 * retcon are later turns), so a kept state is valid for as long as it is kept. States are walked
 * with `applyDeltas`, which copies what it changes: a kept state is never changed.
 */
export class ScrubStates {
  constructor(private readonly index: ScrubIndex | null = null) {}

  /** Most recently used last. */
  private readonly kept: Array<{ universeId: string; position: number; state: UniverseState }> = [];
  /** Milliseconds a snapshot read and a walked turn took, moving averages per universe. */
  private readonly costs = new Map<string, { snapshot: number; turn: number }>();

  /** `source`: the request's reads (a LiveReads). */
  async stateAt(source: ScrubSource, universeId: string, position: number): Promise<ScrubbedState> {
    const checkpoint = this.index?.nearest(universeId, position) ?? null;
    // within the index, walk forward from the checkpoint at or before the position, or from a
    // state kept between the two, over the deltas the index holds; elsewhere, from the nearest
    // state kept, forward or back
    const indexed = checkpoint !== null && position - checkpoint.position < CHECKPOINT_EVERY;
    const kept = indexed
      ? this.nearest(universeId, position, checkpoint.position)
      : this.nearest(universeId, position);
    const fromCheckpoint = indexed && !kept;
    const near = fromCheckpoint ? checkpoint : kept;
    const cost = this.costs.get(universeId) ?? { snapshot: 5, turn: 0.05 };
    const distance = near ? Math.abs(near.position - position) : Infinity;
    const started = performance.now();
    // with a checkpoint at hand the walk is short, where a snapshot read replays up to a snapshot
    // interval on top of its parse
    const walk =
      near !== null && (indexed || (distance <= WALK_LIMIT && distance * cost.turn <= cost.snapshot));
    if (walk) {
      const { state, turn } = await this.walk(source, universeId, near.state, near.position, position);
      if (distance > 0) cost.turn = average(cost.turn, (performance.now() - started) / distance);
      this.costs.set(universeId, cost);
      this.keep(universeId, position, state);
      const walked: ScrubbedState = {
        position,
        state,
        source: { kind: fromCheckpoint ? "checkpoint" : "walk", from: near.position, turns: distance },
      };
      return turn ? { ...walked, turn } : walked;
    }
    const at = await source.stateWithoutChecksum(universeId, position);
    cost.snapshot = average(cost.snapshot, performance.now() - started);
    this.costs.set(universeId, cost);
    if (this.costs.size > KEPT) this.costs.delete(this.costs.keys().next().value!);
    this.keep(universeId, position, at.state);
    return {
      position,
      state: at.state,
      source: { kind: "snapshot", from: at.fromSnapshot, replayed: at.replayed },
    };
  }

  /** The kept state nearest to `position`; with `from`, only those in [from, position]. */
  private nearest(universeId: string, position: number, from?: number) {
    let best: (typeof this.kept)[number] | null = null;
    for (const entry of this.kept) {
      if (entry.universeId !== universeId) continue;
      if (from !== undefined && (entry.position < from || entry.position > position)) continue;
      if (!best || Math.abs(entry.position - position) < Math.abs(best.position - position)) best = entry;
    }
    return best;
  }

  private async walk(
    source: ScrubSource,
    universeId: string,
    state: UniverseState,
    from: number,
    to: number,
  ): Promise<{ state: UniverseState; turn?: Promise<Turn | undefined> }> {
    if (from === to) return { state };
    // forward over turns the index holds: only the turn shown is read, while the deltas apply
    const held = to > from ? (this.index?.deltasBetween(universeId, from, to) ?? null) : null;
    if (held) {
      const shown = source.turnsBetween(universeId, to - 1, to).then((turns) => turns[0]);
      // the caller awaits it; should applying throw first, its failure must not go unhandled
      shown.catch(() => undefined);
      return { state: applyDeltas(state, held), turn: shown };
    }
    const turns = await source.turnsBetween(universeId, Math.min(from, to), Math.max(from, to));
    if (turns.length !== Math.abs(to - from))
      throw new RangeError(`${universeId}: ${turns.length} turns between ${from} and ${to}`);
    const deltas = turns.flatMap((turn) => upgradeDeltas(turn.deltas));
    if (to < from) return { state: applyDeltas(state, invertDeltas(deltas)) };
    return { state: applyDeltas(state, deltas), turn: Promise.resolve(turns[turns.length - 1]) };
  }

  private keep(universeId: string, position: number, state: UniverseState): void {
    const index = this.kept.findIndex(
      (entry) => entry.universeId === universeId && entry.position === position,
    );
    if (index >= 0) this.kept.splice(index, 1);
    this.kept.push({ universeId, position, state });
    if (this.kept.length > KEPT) this.kept.shift();
  }
}

const average = (previous: number, seen: number) => previous * 0.8 + seen * 0.2;
