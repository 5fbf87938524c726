import { applyDeltas, type Delta } from "./delta.ts";
import type { UniverseState } from "./state.ts";

/** The state after a turn: its deltas applied. Replay is `evolve` folded over the timeline. */
export function evolve(state: UniverseState, deltas: readonly Delta[]): UniverseState {
  return applyDeltas(state, deltas);
}
