import type { Command } from "../command.ts";
import { pointer } from "../delta.ts";
import { reject, type Rejection } from "../rejection.ts";
import type { Character, UniverseState } from "../state.ts";
import type { DecideContext, Decision } from "./context.ts";
import { Draft } from "./draft.ts";
import { findCharacterAspect, findSceneAspect, own, requireGm, sameText } from "./lookup.ts";

type CompelCommand = Extract<Command, { kind: "compel" }>;

/** A compel names an aspect of the character (or their consequences) or of the scene. */
function compelledAspect(state: UniverseState, character: Character, ref: string): string | undefined {
  const onSheet = findCharacterAspect(character, ref);
  if (onSheet !== undefined) return onSheet;
  for (const consequence of [
    character.consequences.mild,
    character.consequences.moderate,
    character.consequences.severe,
  ]) {
    if (consequence && sameText(consequence.aspect, ref)) return consequence.aspect;
  }
  return findSceneAspect(state, ref)?.name;
}

/**
 * A game master's compel (Fate Core p. 71): accepted, the complication happens and the character
 * gains a fate point; refused, the player pays a fate point to avoid it, and cannot refuse without one.
 */
export function decideCompel(
  state: UniverseState,
  command: CompelCommand,
  ctx: DecideContext,
): Decision | Rejection {
  const denied = requireGm(ctx.actor, "compel an aspect");
  if (denied) return denied;
  const character = own(state.characters, command.characterId);
  if (!character)
    return reject("unknown_character", `no character "${command.characterId}" in this universe`);
  const aspect = compelledAspect(state, character, command.aspect);
  if (aspect === undefined)
    return reject("unknown_aspect", `${character.name} has no aspect "${command.aspect}" to compel`);
  if (!command.accepted && character.fatePoints === 0) {
    return reject("no_fate_points", `${character.name} has no fate point to refuse the compel`);
  }
  const draft = new Draft(state, ctx);
  draft.increment(
    pointer("characters", character.id, "fatePoints"),
    command.accepted ? 1 : -1,
    character.fatePoints,
  );
  const data = { characterId: character.id, aspect, accepted: command.accepted, complication: command.text };
  if (command.accepted) {
    draft.event(
      "compel_accepted",
      `${character.name} accepts a compel on "${aspect}" and gains a fate point: ${command.text}`,
      { data },
    );
  } else {
    draft.event("compel_refused", `${character.name} pays a fate point to refuse a compel on "${aspect}"`, {
      data,
    });
  }
  return draft.decision("action");
}
