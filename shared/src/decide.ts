import type { Command } from "./command.ts";
import { isRejection, reject, type Rejection } from "./rejection.ts";
import { jsonValueProblem, STORABLE } from "./json-value.ts";
import { decideAction } from "./rules/action.ts";
import { decideCompel } from "./rules/compel.ts";
import { decideConcede } from "./rules/concede.ts";
import type { DecideContext, Decision } from "./rules/context.ts";
import { decideChoice, decideCustom } from "./rules/narrative.ts";
import { decideScene } from "./rules/scene.ts";
import {
  decideAddCharacter,
  decideRetcon,
  decideRunEnd,
  decideRunPause,
  decideSessionEnd,
  decideSessionStart,
} from "./rules/system.ts";
import { decideUndo } from "./rules/undo.ts";
import { decideWorldEvent } from "./rules/world-event.ts";
import { decideAspect, decideMilestone, decideWorldBuilding } from "./rules/world-building.ts";
import type { UniverseState } from "./state.ts";
import type { SystemCommand } from "./system-command.ts";

export type { Actor, DecideContext, Decision } from "./rules/context.ts";

/** Every command `decide` takes: a player's or a game master's, or one the server issues itself. */
export type DecidableCommand = Command | SystemCommand;

/**
 * The rules: what a command does to a universe, as events and deltas, or why it may not happen.
 * Pure: the state is never changed, the dice and the clock come in `ctx`, and the command is
 * assumed validated by its schema at the edge. Undo reads the turns in `ctx.timeline`.
 */
export function decide(
  state: UniverseState,
  command: DecidableCommand,
  ctx: DecideContext,
): Decision | Rejection {
  const decision = byRule(state, command, ctx);
  if (isRejection(decision)) return decision;
  const problem = unstorable(decision);
  return problem ? reject("invalid_value", `the turn cannot be stored: ${problem}`) : decision;
}

/**
 * What in a decision could not be stored and checksummed, or null. The state was storable before
 * the turn, so it stays storable when every value the turn writes is and every increment stays
 * finite: checking the deltas is enough, and costs what they weigh rather than what the state does.
 */
function unstorable(decision: Decision): string | null {
  for (const delta of decision.deltas) {
    const problem =
      jsonValueProblem(delta.value ?? null, STORABLE) ?? jsonValueProblem(delta.prev ?? null, STORABLE);
    if (problem) return `${delta.op} ${delta.path}: ${problem}`;
    const { prev, value } = delta;
    if (
      delta.op === "increment" &&
      typeof prev === "number" &&
      typeof value === "number" &&
      !Number.isFinite(prev + value)
    )
      return `increment ${delta.path}: the result is not a finite number`;
  }
  for (const event of decision.events) {
    const problem = jsonValueProblem(event.data ?? null, STORABLE);
    if (problem) return `event ${event.type}: ${problem}`;
  }
  return null;
}

function byRule(state: UniverseState, command: DecidableCommand, ctx: DecideContext): Decision | Rejection {
  switch (command.kind) {
    case "action":
      return decideAction(state, command, ctx);
    case "choice":
      return decideChoice(state, command, ctx);
    case "custom":
      return decideCustom(state, command, ctx);
    case "concede":
      return decideConcede(state, command, ctx);
    case "compel":
      return decideCompel(state, command, ctx);
    case "world_event":
      return decideWorldEvent(state, command, ctx);
    case "scene":
      return decideScene(state, command, ctx);
    case "npc":
    case "location":
    case "faction":
    case "quest":
      return decideWorldBuilding(state, command, ctx);
    case "aspect":
      return decideAspect(state, command, ctx);
    case "milestone":
      return decideMilestone(state, command, ctx);
    case "add_character":
      return decideAddCharacter(state, command, ctx);
    case "retcon":
      return decideRetcon(state, command, ctx);
    case "session_start":
      return decideSessionStart(state, command, ctx);
    case "session_end":
      return decideSessionEnd(state, command, ctx);
    case "run_end":
      return decideRunEnd(state, command, ctx);
    case "run_pause":
      return decideRunPause(state, command, ctx);
    case "undo":
      return decideUndo(state, command, ctx);
    default:
      return reject("invalid_action", `unknown command "${(command as { kind?: unknown }).kind as string}"`);
  }
}
