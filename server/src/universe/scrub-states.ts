import { applyDeltas, invertDeltas, upgradeDeltas, type Turn, type UniverseState } from "@loom/shared";
import type { StateAt } from "../persist/turn-store.ts";

/** What the scrub states read: a LiveReads (acknowledged turns included). */
export interface ScrubSource {
  stateWithoutChecksum(universeId: string, position: number): Promise<Omit<StateAt, "checksum">>;
  turnsBetween(universeId: string, from: number, to: number): Promise<Turn[]>;
}

export interface ScrubbedState {
  position: number;
  state: UniverseState;
  /** How it was reached: from a snapshot (and turns replayed), or walked from a state read before. */
  source:
    { kind: "snapshot"; from: number; replayed: number } | { kind: "walk"; from: number; turns: number };
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
 * A long universe is scrubbed from its index (scrub-index.ts) once built; these states serve
 * the others, and the long ones while their index builds.
 *
 * The state at a position never changes once acknowledged (the log is append-only; undo and
 * retcon are later turns), so a kept state is valid for as long as it is kept. States are walked
 * with `applyDeltas`, which copies what it changes: a kept state is never changed.
 */
export class ScrubStates {
  /** Most recently used last. */
  private readonly kept: Array<{ universeId: string; position: number; state: UniverseState }> = [];
  /** Milliseconds a snapshot read and a walked turn took, moving averages per universe. */
  private readonly costs = new Map<string, { snapshot: number; turn: number }>();

  /** `source`: the request's reads (a LiveReads). */
  async stateAt(source: ScrubSource, universeId: string, position: number): Promise<ScrubbedState> {
    const near = this.nearest(universeId, position);
    const cost = this.costs.get(universeId) ?? { snapshot: 5, turn: 0.05 };
    const distance = near ? Math.abs(near.position - position) : Infinity;
    const started = performance.now();
    if (near !== null && distance <= WALK_LIMIT && distance * cost.turn <= cost.snapshot) {
      const state = await this.walk(source, universeId, near.state, near.position, position);
      if (distance > 0) cost.turn = average(cost.turn, (performance.now() - started) / distance);
      this.costs.set(universeId, cost);
      this.keep(universeId, position, state);
      return { position, state, source: { kind: "walk", from: near.position, turns: distance } };
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

  /** Drops the states kept of a universe (once its index answers, they serve no scrub). */
  forget(universeId: string): void {
    if (!this.kept.some((entry) => entry.universeId === universeId)) return;
    this.kept.splice(0, this.kept.length, ...this.kept.filter((entry) => entry.universeId !== universeId));
  }

  /** The kept state nearest to `position`. */
  private nearest(universeId: string, position: number) {
    let best: (typeof this.kept)[number] | null = null;
    for (const entry of this.kept) {
      if (entry.universeId !== universeId) continue;
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
  ): Promise<UniverseState> {
    if (from === to) return state;
    const turns = await source.turnsBetween(universeId, Math.min(from, to), Math.max(from, to));
    if (turns.length !== Math.abs(to - from))
      throw new RangeError(`${universeId}: ${turns.length} turns between ${from} and ${to}`);
    const deltas = turns.flatMap((turn) => upgradeDeltas(turn.deltas));
    return applyDeltas(state, to < from ? invertDeltas(deltas) : deltas);
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
