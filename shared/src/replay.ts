import { canonicalJson } from "./canonical.ts";
import { decide, type DecidableCommand } from "./decide.ts";
import type { Random } from "./dice.ts";
import type { Delta } from "./delta.ts";
import { isRejection } from "./rejection.ts";
import type { UniverseState } from "./state.ts";
import type { Turn } from "./turn.ts";
import { evolve } from "./evolve.ts";
import { upgradeDeltas, upgradeTurn } from "./upgrade.ts";

/**
 * Delta replay: the recorded deltas of `turns` applied to `state` in order. Undone turns replay
 * too; their undo turns revert them. All deltas go through one `evolve`, so each container on
 * the way is copied once for the whole replay rather than once per turn (large records such as
 * canon facts make the difference). Turns recorded against an older state version replay in
 * the current layout (upgrade.ts).
 */
export function replayDeltas(state: UniverseState, turns: readonly Turn[]): UniverseState {
  const deltas: Delta[] = [];
  for (const turn of turns) for (const delta of upgradeDeltas(turn.deltas)) deltas.push(delta);
  return evolve(state, deltas);
}

export interface Reexecution {
  /** The state after the last turn that re-executed exactly (the final state if all did). */
  state: UniverseState;
  /** The first position whose re-decided deltas differ from the recorded ones, or that was rejected. */
  divergedAt: number | null;
}

/**
 * Re-execution: `decide` run again on each turn's recorded input, with the dice of the turn's
 * position (`dice`: e.g. `diceFor` of the universe's keys) and the recorded time, then evolved
 * with the new deltas.
 * Undo turns see the timeline as it stood when they ran. Agreement with delta replay is the
 * determinism guarantee of DESIGN §3. Stops at the first turn that decides differently, since
 * every later turn was decided on a state re-execution no longer has. Turns run in order from
 * the position after `genesis`, without gaps. Turns recorded against an older state version
 * are compared, and seen by undo, in the current layout.
 */
export function reexecute(
  genesis: UniverseState,
  turns: readonly Turn[],
  dice: (position: number) => Random,
): Reexecution {
  let state = genesis;
  const timeline: Turn[] = [];
  for (const stored of turns) {
    const recorded = upgradeTurn(stored);
    const decision = decide(state, recorded.input as DecidableCommand, {
      position: recorded.position,
      now: recorded.createdAt,
      random: dice(recorded.position),
      actor: { kind: recorded.actor, playerId: recorded.playerId },
      timeline,
    });
    if (isRejection(decision) || canonicalJson(decision.deltas) !== canonicalJson(recorded.deltas)) {
      return { state, divergedAt: recorded.position };
    }
    state = evolve(state, decision.deltas);
    if (decision.undoes !== undefined) {
      const index = timeline.findIndex((turn) => turn.position === decision.undoes);
      if (index >= 0) timeline[index] = { ...timeline[index]!, status: "undone" };
    }
    timeline.push({ ...recorded, status: "applied" });
  }
  return { state, divergedAt: null };
}
