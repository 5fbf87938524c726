import { canonicalJson } from "./canonical.ts";
import { decide, type DecidableCommand } from "./decide.ts";
import type { Random } from "./dice.ts";
import type { Delta } from "./delta.ts";
import { isRejection } from "./rejection.ts";
import type { UniverseState } from "./state.ts";
import type { Resolution, Turn } from "./turn.ts";
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
  /** The first position whose re-decided roll or deltas differ from the recorded ones, or that was rejected. */
  divergedAt: number | null;
  /** What differs there, in a line: the rules' rejection, the roll's first differing field, or the first differing delta. */
  difference: string | null;
}

/**
 * Re-execution: `decide` run again on each turn's recorded input, with the dice of the turn's
 * position (`dice`: e.g. `diceFor` of the universe's keys) and the recorded time, then evolved
 * with the new deltas. The roll it decides must be the recorded one and its deltas the recorded
 * ones (sameDeltas). Undo turns see the timeline as it stood when they ran. Agreement with delta
 * replay is the determinism guarantee of DESIGN §3. Stops at the first turn that decides
 * differently, since every later turn was decided on a state re-execution no longer has. Turns
 * run in order from the position after `genesis`, without gaps. Turns recorded against an older
 * state version are compared, and seen by undo, in the current layout.
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
    const difference = isRejection(decision)
      ? `the rules refuse it: ${decision.code}: ${decision.message}`
      : (rollDifference(recorded.resolution, decision.resolution) ??
        deltaDifference(recorded.deltas, decision.deltas));
    if (difference !== null || isRejection(decision))
      return { state, divergedAt: recorded.position, difference };
    state = evolve(state, decision.deltas);
    if (decision.undoes !== undefined) {
      const index = timeline.findIndex((turn) => turn.position === decision.undoes);
      if (index >= 0) timeline[index] = { ...timeline[index]!, status: "undone" };
    }
    timeline.push({ ...recorded, status: "applied" });
  }
  return { state, divergedAt: null, difference: null };
}

const SHOWN = 160;

function shown(value: unknown): string {
  const text = value === undefined ? "nothing" : canonicalJson(value);
  return text.length > SHOWN ? `${text.slice(0, SHOWN - 1)}…` : text;
}

/** The roll's first field that differs (its dice, total, shifts, outcome…), or null. */
function rollDifference(recorded: Resolution | null, decided: Resolution | null): string | null {
  if (canonicalJson(recorded) === canonicalJson(decided)) return null;
  if (recorded === null || decided === null)
    return `the roll: recorded ${shown(recorded)}, re-executed ${shown(decided)}`;
  const fields = new Set([...Object.keys(recorded), ...Object.keys(decided)]);
  for (const field of fields) {
    const a = (recorded as Record<string, unknown>)[field];
    const b = (decided as Record<string, unknown>)[field];
    if (canonicalJson(a ?? null) !== canonicalJson(b ?? null))
      return `the roll's ${field}: recorded ${shown(a)}, re-executed ${shown(b)}`;
  }
  return null;
}

/** The first delta that differs, or null when the two lists make the same change (sameDeltas). */
function deltaDifference(recorded: readonly Delta[], decided: readonly Delta[]): string | null {
  if (sameDeltas(recorded, decided)) return null;
  for (let i = 0; i < Math.max(recorded.length, decided.length); i++) {
    const a = recorded[i];
    const b = decided[i];
    if (a === undefined || b === undefined || canonicalJson(a) !== canonicalJson(b))
      return `delta ${i + 1} at ${(a ?? b)!.path}: recorded ${shown(a)}, re-executed ${shown(b)}`;
  }
  return null;
}

/** Whether one path is the other or inside it: the order of such deltas matters. */
function overlap(a: string, b: string): boolean {
  return a === b || a.startsWith(`${b}/`) || b.startsWith(`${a}/`);
}

/**
 * Whether two delta lists make the same change: the same deltas, in the same order wherever two
 * of them touch the same place. Deltas on unrelated paths commute, and the rules may emit them in
 * the order a state object holds its keys — which depends on how the object was built (played
 * live, or parsed from a snapshot's canonical JSON, keys sorted), not on the state's value.
 */
export function sameDeltas(recorded: readonly Delta[], decided: readonly Delta[]): boolean {
  if (recorded.length !== decided.length) return false;
  const a = recorded.map((delta) => canonicalJson(delta));
  const b = decided.map((delta) => canonicalJson(delta));
  if (a.every((text, i) => text === b[i])) return true;
  const at = new Map<string, number[]>();
  b.forEach((text, i) => at.set(text, [...(at.get(text) ?? []), i]));
  const order = a.map((text) => at.get(text)?.shift());
  if (order.some((index) => index === undefined)) return false;
  for (let i = 0; i < recorded.length; i++)
    for (let j = i + 1; j < recorded.length; j++)
      if (order[i]! > order[j]! && overlap(recorded[i]!.path, recorded[j]!.path)) return false;
  return true;
}
