import type { Command } from "../command.ts";
import { pointer } from "../delta.ts";
import { isRejection, reject, RejectionCode, type Rejection } from "../rejection.ts";
import type { UniverseState } from "../state.ts";
import type { DecideContext, Decision } from "./context.ts";
import { Draft } from "./draft.ts";
import { actingCharacter, own } from "./lookup.ts";

type ChoiceCommand = Extract<Command, { kind: "choice" }>;
type CustomCommand = Extract<Command, { kind: "custom" }>;

/** Longest flag value kept from a choice's text. */
const FLAG_TEXT_MAX = 200;

/** Most option ids one character's choices keep as world flags (CHOICE_FLAGS_MAX). */
export const CHOICE_FLAGS_MAX = 100;

const choiceFlag = (characterId: string, optionId: string) => `choice.${characterId}.${optionId}`;

/**
 * A choice naming an option id its character has not chosen before, when the character's choices
 * already keep CHOICE_FLAGS_MAX flags: each new id was a flag more in the state every member holds
 * and every snapshot writes, without bound, for a player sending choices in a loop. A choice again
 * of a kept id, or without one, is taken. Checked as a command is submitted, not by the rules: a
 * timeline recorded before the check still replays as it was.
 */
export function choiceFlagRefusal(state: UniverseState, command: { kind: string }): Rejection | null {
  const choice = command as ChoiceCommand;
  if (command.kind !== "choice" || choice.optionId === undefined) return null;
  const flags = state.world.flags;
  if (own(flags, choiceFlag(choice.characterId, choice.optionId)) !== undefined) return null;
  const prefix = choiceFlag(choice.characterId, "");
  let kept = 0;
  for (const key in flags) if (key.startsWith(prefix) && ++kept >= CHOICE_FLAGS_MAX) break;
  if (kept < CHOICE_FLAGS_MAX) return null;
  return reject(
    RejectionCode.InvalidValue,
    `this character's choices already keep ${CHOICE_FLAGS_MAX} option ids: choose one of them again, or choose without an option id`,
  );
}

/**
 * A choice between offered options. A choice with an option id is remembered as a world flag
 * `choice.<character>.<option>` holding the words chosen, so later content can depend on it.
 */
export function decideChoice(
  state: UniverseState,
  command: ChoiceCommand,
  ctx: DecideContext,
): Decision | Rejection {
  const character = actingCharacter(state, command.characterId, ctx.actor);
  if (isRejection(character)) return character;
  const draft = new Draft(state, ctx);
  draft.event("choice", `${character.name} chooses: "${command.text}"`, {
    data: { characterId: character.id, optionId: command.optionId ?? null },
  });
  if (command.optionId !== undefined) {
    const flag = choiceFlag(character.id, command.optionId);
    draft.change(
      pointer("world", "flags", flag),
      command.text.slice(0, FLAG_TEXT_MAX),
      own(state.world.flags, flag),
    );
  }
  return draft.decision("choice");
}

/** Free text a player writes for their character: no roll, nothing changes but the story. */
export function decideCustom(
  state: UniverseState,
  command: CustomCommand,
  ctx: DecideContext,
): Decision | Rejection {
  const character = actingCharacter(state, command.characterId, ctx.actor);
  if (isRejection(character)) return character;
  const draft = new Draft(state, ctx);
  draft.event("custom", `${character.name}: "${command.text}"`, { data: { characterId: character.id } });
  return draft.decision("custom");
}
