import { reject, type Rejection } from "../rejection.ts";
import type { Aspect, Character, UniverseState } from "../state.ts";
import type { Actor } from "./context.ts";

/** A record member by id; never a prototype member ("__proto__", "toString"). */
export function own<T>(record: Readonly<Record<string, T>>, id: string): T | undefined {
  return Object.prototype.hasOwnProperty.call(record, id) ? record[id] : undefined;
}

/** A character is out of play once taken out or conceded, until the scene changes. */
export function isOut(character: Pick<Character, "takenOut" | "conceded">): boolean {
  return character.takenOut || character.conceded;
}

/** The character a command acts for, if the actor may act for it and it can act. */
export function actingCharacter(
  state: UniverseState,
  characterId: string,
  actor: Actor,
): Character | Rejection {
  const character = own(state.characters, characterId);
  if (!character) return reject("unknown_character", `no character "${characterId}" in this universe`);
  if (actor.kind === "player" && character.playerId !== actor.playerId) {
    return reject("not_your_character", `${character.name} belongs to another player`);
  }
  if (isOut(character)) return reject("taken_out", `${character.name} is out of the scene and cannot act`);
  return character;
}

/** World events, compels, scenes and retcons are the game master's (or the server's). */
export function requireGm(actor: Actor, what: string): Rejection | null {
  return actor.kind === "player" ? reject("not_allowed", `only a game master may ${what}`) : null;
}

export function sameText(a: string, b: string): boolean {
  return a === b || a.toLowerCase() === b.toLowerCase();
}

/** A scene aspect by id, or by its name ignoring case. */
export function findSceneAspect(state: UniverseState, ref: string): Aspect | undefined {
  const byId = own(state.scene.aspects, ref);
  if (byId) return byId;
  for (const id in state.scene.aspects) {
    const aspect = state.scene.aspects[id]!;
    if (sameText(aspect.name, ref)) return aspect;
  }
  return undefined;
}

/** The aspect text on a character sheet (high concept, trouble, others) that matches `ref`. */
export function findCharacterAspect(character: Character, ref: string): string | undefined {
  if (sameText(character.highConcept, ref)) return character.highConcept;
  if (sameText(character.trouble, ref)) return character.trouble;
  return character.aspects.find((aspect) => sameText(aspect, ref));
}
