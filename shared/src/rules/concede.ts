import type { Command } from "../command.ts";
import { pointer } from "../delta.ts";
import { isRejection, reject, type Rejection } from "../rejection.ts";
import type { UniverseState } from "../state.ts";
import type { DecideContext, Decision } from "./context.ts";
import { Draft } from "./draft.ts";
import { actingCharacter } from "./lookup.ts";

type ConcedeCommand = Extract<Command, { kind: "concede" }>;

/**
 * Conceding a conflict (Fate Core p. 167): the character leaves the conflict on their own terms
 * and gains one fate point, plus one for each consequence they carry. Simplified from the book's
 * "each consequence taken in this conflict": consequences are not tagged with their conflict, so
 * all those still on the sheet count. Conceding ends the conflict (one opposing side assumed).
 */
export function decideConcede(
  state: UniverseState,
  command: ConcedeCommand,
  ctx: DecideContext,
): Decision | Rejection {
  const character = actingCharacter(state, command.characterId, ctx.actor);
  if (isRejection(character)) return character;
  if (state.mode !== "conflict") return reject("invalid_action", "there is no conflict to concede");
  const { mild, moderate, severe } = character.consequences;
  const gained = 1 + [mild, moderate, severe].filter((consequence) => consequence !== null).length;
  const draft = new Draft(state, ctx);
  const base = pointer("characters", character.id);
  draft.set(`${base}/conceded`, true, character.conceded);
  draft.increment(`${base}/fatePoints`, gained, character.fatePoints);
  const description = `${character.name} concedes the conflict and gains ${gained} fate point${gained > 1 ? "s" : ""}`;
  draft.event("conceded", description, {
    major: true,
    data: { characterId: character.id, fatePoints: gained },
  });
  draft.majorEvent(character.id, description);
  draft.event("conflict_ended", `The conflict ends with ${character.name}'s concession`);
  draft.set("/mode", "scene", state.mode);
  return draft.decision("combat");
}
