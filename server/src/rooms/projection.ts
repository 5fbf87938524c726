import { viewTurn, type Character, type Turn, type UniverseState, type Viewer } from "@loom/shared";
import type { ArraySchema } from "@colyseus/schema";
import { AspectView, CharacterView, type UniverseRoomState } from "./room-state.ts";

/** Keeps the synced room state a faithful projection of the authoritative document. */

export function syncScene(room: UniverseRoomState, state: UniverseState): void {
  syncSceneFields(room, state);
  const aspects = room.scene.aspects;
  for (const key of [...aspects.keys()]) {
    if (!(key in state.scene.aspects)) aspects.delete(key);
  }
  for (const id of Object.keys(state.scene.aspects)) syncAspect(room, state, id);
}

/** The scene's own fields and the mode, not its aspects. */
export function syncSceneFields(room: UniverseRoomState, state: UniverseState): void {
  const scene = room.scene;
  scene.id = state.scene.id;
  scene.title = state.scene.title;
  scene.location = state.scene.location ?? "";
  scene.summary = state.scene.summary;
  scene.mode = state.mode;
}

/** One aspect of the scene: added, changed, or removed when the state no longer has it. */
export function syncAspect(room: UniverseRoomState, state: UniverseState, id: string): void {
  const aspects = room.scene.aspects;
  const aspect = state.scene.aspects[id];
  if (!aspect) {
    aspects.delete(id);
    return;
  }
  const view = aspects.get(id) ?? new AspectView();
  view.id = aspect.id;
  view.name = aspect.name;
  view.freeInvokes = aspect.freeInvokes;
  view.boost = aspect.boost;
  view.createdBy = aspect.createdBy ?? "";
  if (!aspects.has(id)) aspects.set(id, view);
}

function setArray<T>(target: ArraySchema<T>, values: T[]): void {
  if (target.length === values.length && values.every((value, i) => target[i] === value)) return;
  target.clear();
  target.push(...values);
}

export function syncCharacter(
  room: UniverseRoomState,
  character: Character,
  present: boolean,
): CharacterView {
  let view = room.characters.get(character.id);
  const isNew = !view;
  view ??= new CharacterView();
  view.id = character.id;
  view.name = character.name;
  view.playerId = character.playerId;
  view.highConcept = character.highConcept;
  view.trouble = character.trouble;
  setArray(view.aspects, character.aspects);
  view.fatePoints = character.fatePoints;
  setArray(view.physicalStress, character.stress.physical);
  setArray(view.mentalStress, character.stress.mental);
  const consequences = (["mild", "moderate", "severe"] as const)
    .map((slot) => character.consequences[slot]?.aspect)
    .filter((aspect): aspect is string => typeof aspect === "string");
  setArray(view.consequences, consequences);
  view.takenOut = character.takenOut;
  view.present = present;
  view.privateNotes = character.private.notes;
  view.gmNotes = character.gmNotes;
  if (isNew) room.characters.set(character.id, view);
  return view;
}

/** What of the synced state a turn's deltas touched. */
export interface Touched {
  /** Characters whose sheets changed. */
  characters: Set<string>;
  /** The whole cast was replaced (a game master's delta on `/characters`, or on the document). */
  allCharacters: boolean;
  /** The scene's own fields or the mode changed. */
  sceneFields: boolean;
  /** Aspects added, changed or removed, one by one. */
  aspects: Set<string>;
  /** The whole scene or its whole aspect map was replaced (a new scene): sync all of it. */
  wholeScene: boolean;
}

/**
 * What a turn's deltas touched, so a turn costs the synced state what it changed: a scene
 * gathers an aspect with most advantages created, and walking them all on every such turn made
 * the room's work per turn grow with the scene.
 */
export function touched(turn: Turn): Touched {
  const result: Touched = {
    characters: new Set(),
    allCharacters: false,
    sceneFields: false,
    aspects: new Set(),
    wholeScene: false,
  };
  for (const { path } of turn.deltas) {
    if (path.startsWith("/characters/")) result.characters.add(unescapeToken(path.split("/")[2]!));
    else if (path === "/characters") result.allCharacters = true;
    else if (path === "") {
      result.allCharacters = true;
      result.wholeScene = true;
      result.sceneFields = true;
    } else if (path === "/mode") result.sceneFields = true;
    else if (path === "/scene" || path === "/scene/aspects") result.wholeScene = true;
    else if (path.startsWith("/scene/aspects/")) result.aspects.add(unescapeToken(path.split("/")[3]!));
    else if (path.startsWith("/scene/")) result.sceneFields = true;
  }
  return result;
}

/** A JSON Pointer token as the key it names (RFC 6901: ~1 is "/", ~0 is "~"). */
function unescapeToken(token: string): string {
  return token.replace(/~1/g, "/").replace(/~0/g, "~");
}

/**
 * A turn as players and spectators receive it live: what `viewer` may see of it (visibility.ts),
 * without its deltas and without the connection key of its command. Their view of the state
 * arrives as the synced room state; the deltas (with their `prev` values) are what a GM works
 * with. The input's `clientKey` (player and run ids, which the turn names anyway) is how the
 * server recognises a resent command, with `seq`; no member reads it, and it is a tenth of an
 * action's bytes (`seq` stays: an actor finds its own turn among the broadcasts by it). Every
 * member decodes every turn, so what they do not need is left out. The HTTP timeline serves
 * viewed turns with their deltas.
 */
export function memberTurn(turn: Turn, viewer: Viewer): Turn {
  return viewTurn({ ...turn, input: withoutClientKey(turn.input), deltas: [] }, viewer);
}

function withoutClientKey(input: Turn["input"]): Turn["input"] {
  if (!("clientKey" in input)) return input;
  const { clientKey: _key, ...rest } = input;
  return rest;
}
