import { decide, type DecidableCommand } from "../decide.ts";
import { createRandom, turnSeed, type Random } from "../dice.ts";
import { evolve } from "../evolve.ts";
import { isRejection, type Rejection } from "../rejection.ts";
import type { Actor, Decision } from "../rules/context.ts";
import type { UniverseState } from "../state.ts";
import type { Turn } from "../turn.ts";
import { scriptedDice } from "./dice.ts";

export const GM: Actor = { kind: "gm", playerId: "gm-1" };
export const SYSTEM: Actor = { kind: "system", playerId: null };
export const player = (playerId: string): Actor => ({ kind: "player", playerId });

/** The turn a decision becomes at `position`, as the server would record it. */
export function recordTurn(
  decision: Decision,
  info: { universeId: string; position: number; actor: Actor; command: DecidableCommand; createdAt: string },
): Turn {
  const { command } = info;
  const characterId =
    "characterId" in command
      ? command.characterId
      : command.kind === "add_character"
        ? command.character.id
        : null;
  return {
    universeId: info.universeId,
    position: info.position,
    id: `${info.universeId}-turn-${info.position}`,
    runId: characterId === null ? null : `run-${characterId}`,
    characterId,
    playerId: info.actor.playerId,
    actor: info.actor.kind,
    kind: decision.kind,
    input: command,
    resolution: decision.resolution,
    events: decision.events,
    deltas: decision.deltas,
    status: "applied",
    narration: null,
    createdAt: info.createdAt,
  };
}

export interface Step {
  actor: Actor;
  command: DecidableCommand;
  /** Exact dice for this turn; otherwise the turn's seeded dice. */
  dice?: number[];
}

export interface Played {
  state: UniverseState;
  turns: Turn[];
}

/**
 * Plays steps in order from `genesis` (or continues `from`), deciding and evolving each, marking
 * undone targets as the server would. A rejected step throws: tests that expect a rejection call
 * `decide` themselves.
 */
export function play(
  genesis: UniverseState,
  steps: readonly Step[],
  options: { seed?: number; from?: Played } = {},
): Played {
  let state = options.from?.state ?? genesis;
  const turns = options.from ? options.from.turns.map((turn) => ({ ...turn })) : [];
  for (const step of steps) {
    const position = turns.length + 1;
    const random: Random = step.dice
      ? scriptedDice(...step.dice)
      : createRandom(turnSeed(options.seed ?? 1, position));
    const createdAt = new Date(Date.UTC(2026, 0, 1, 18, 0, position)).toISOString();
    const decision: Decision | Rejection = decide(state, step.command, {
      position,
      now: createdAt,
      random,
      actor: step.actor,
      timeline: turns,
    });
    if (isRejection(decision))
      throw new Error(`step ${position} rejected: ${decision.code} ${decision.message}`);
    turns.push(
      recordTurn(decision, {
        universeId: "universe-test",
        position,
        actor: step.actor,
        command: step.command,
        createdAt,
      }),
    );
    if (decision.undoes !== undefined) turns[decision.undoes - 1]!.status = "undone";
    state = evolve(state, decision.deltas);
  }
  return { state, turns };
}
