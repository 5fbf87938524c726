import type { Command } from "../command.ts";
import { pointer } from "../delta.ts";
import { isRejection, type Rejection } from "../rejection.ts";
import type { UniverseState } from "../state.ts";
import type { DecideContext, Decision } from "./context.ts";
import { Draft } from "./draft.ts";
import { actingCharacter, own } from "./lookup.ts";

type ChoiceCommand = Extract<Command, { kind: "choice" }>;
type CustomCommand = Extract<Command, { kind: "custom" }>;

/** Longest flag value kept from a choice's text. */
const FLAG_TEXT_MAX = 200;

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
    const flag = `choice.${character.id}.${command.optionId}`;
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
