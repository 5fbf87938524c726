import type { FateAction } from "../command.ts";
import { diceSum, rollFate, type Random } from "../dice.ts";
import type { FateDie, Resolution } from "../turn.ts";
import { outcomeOf } from "./outcome.ts";

/** Opposition is a fixed difficulty (passive) or an opponent's skill plus their own 4dF (active). */
export type Opposition = { kind: "passive"; value: number } | { kind: "active"; rating: number };

export interface RollRequest {
  action: FateAction;
  skill: string;
  rating: number;
  opposition: Opposition;
  /** +2 per bonus invoke (Fate Core p. 68). */
  invokeBonus: number;
  /** How many reroll invokes: each rerolls all four dice and the new roll stands. */
  rerolls: number;
  hidden: boolean;
}

/**
 * Rolls an action. Draw order from the turn's random source is fixed so re-execution repeats it:
 * the actor's 4dF, then the active opponent's 4dF, then one 4dF per reroll invoke.
 * Invokes are declared with the command, so they apply to every roll they are declared for; the
 * last reroll is the one that counts (Fate Core p. 68: "you must take the new result").
 */
export function resolveRoll(request: RollRequest, random: Random): Resolution {
  const dice = rollFate(random);
  let oppositionDice: FateDie[] | null = null;
  let opposition: number;
  if (request.opposition.kind === "active") {
    oppositionDice = rollFate(random);
    opposition = request.opposition.rating + diceSum(oppositionDice);
  } else {
    opposition = request.opposition.value;
  }
  const rerolls: FateDie[][] = [];
  for (let i = 0; i < request.rerolls; i++) rerolls.push(rollFate(random));
  const finalDice = rerolls.length > 0 ? rerolls[rerolls.length - 1]! : dice;
  const total = request.rating + diceSum(finalDice) + request.invokeBonus;
  const shifts = total - opposition;
  return {
    action: request.action,
    skill: request.skill,
    rating: request.rating,
    dice,
    rerolls,
    invokeBonus: request.invokeBonus,
    total,
    opposition,
    oppositionKind: request.opposition.kind,
    oppositionDice,
    shifts,
    outcome: outcomeOf(shifts),
    hidden: request.hidden,
  };
}

/** The dice that count: the last reroll if any, else the first roll. */
export function finalDice(resolution: Resolution): readonly FateDie[] {
  return resolution.rerolls.length > 0 ? resolution.rerolls[resolution.rerolls.length - 1]! : resolution.dice;
}
