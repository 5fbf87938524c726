// Given / when / then helpers for the rules tests (not part of the package's API).
import { expect } from "vitest";
import { canonicalJson, checksum } from "../canonical.ts";
import { commandSchema, type CommandInput } from "../command.ts";
import { decide, type DecidableCommand } from "../decide.ts";
import { evolve } from "../evolve.ts";
import { isRejection, type Rejection, type RejectionCode } from "../rejection.ts";
import type { UniverseState } from "../state.ts";
import { scriptedDice } from "../testing/dice.ts";
import type { Actor, DecideContext, Decision } from "./context.ts";

export const POSITION = 10;
export const MARA: Actor = { kind: "player", playerId: "player-1" };
export const KELL: Actor = { kind: "player", playerId: "player-2" };

export function ctx(actor: Actor, dice: number[] = [], position = POSITION): DecideContext {
  return { position, now: "2026-01-01T18:00:00.000Z", random: scriptedDice(...dice), actor };
}

/** A command as the edge would hand it over: parsed by its schema, defaults filled in. */
export function command(input: CommandInput): DecidableCommand {
  return commandSchema.parse(input);
}

/** When `actor` sends `cmd` with these dice, then it is decided (not rejected), every die is used, and the state is untouched. */
export function decided(
  state: UniverseState,
  cmd: DecidableCommand,
  actor: Actor,
  dice: number[] = [],
): Decision & { after: UniverseState } {
  const before = canonicalJson(state);
  const context = ctx(actor, dice);
  const decision = decide(state, cmd, context);
  if (isRejection(decision))
    throw new Error(`expected a decision, got ${decision.code}: ${decision.message}`);
  expect((context.random as ReturnType<typeof scriptedDice>).remaining()).toBe(0);
  expect(canonicalJson(state)).toBe(before);
  return { ...decision, after: evolve(state, decision.deltas) };
}

/** When `actor` sends `cmd`, then it is rejected with `code` and the state is the same object, unchanged. */
export function rejected(
  state: UniverseState,
  cmd: DecidableCommand,
  actor: Actor,
  code: RejectionCode,
  dice: number[] = [],
): Rejection {
  const before = checksum(state);
  const result = decide(state, cmd, ctx(actor, dice));
  expect(isRejection(result) ? result.code : "decided").toBe(code);
  expect(checksum(state)).toBe(before);
  return result as Rejection;
}
