import type { Character, Turn, UniverseState } from "@loom/shared";
import type { ArraySchema } from "@colyseus/schema";
import { AspectView, CharacterView, type UniverseRoomState } from "./room-state.ts";

/** Keeps the synced room state a faithful projection of the authoritative document. */

export function syncScene(room: UniverseRoomState, state: UniverseState): void {
  const scene = room.scene;
  scene.id = state.scene.id;
  scene.title = state.scene.title;
  scene.location = state.scene.location ?? "";
  scene.summary = state.scene.summary;
  scene.mode = state.mode;
  for (const key of [...scene.aspects.keys()]) {
    if (!(key in state.scene.aspects)) scene.aspects.delete(key);
  }
  for (const [id, aspect] of Object.entries(state.scene.aspects)) {
    const view = scene.aspects.get(id) ?? new AspectView();
    view.id = aspect.id;
    view.name = aspect.name;
    view.freeInvokes = aspect.freeInvokes;
    view.boost = aspect.boost;
    if (!scene.aspects.has(id)) scene.aspects.set(id, view);
  }
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

/** Characters whose sheets a turn's deltas touched, and whether the scene changed. */
export function touched(turn: Turn): { characters: Set<string>; scene: boolean } {
  const characters = new Set<string>();
  let scene = false;
  for (const delta of turn.deltas) {
    if (delta.path.startsWith("/characters/"))
      characters.add(delta.path.split("/")[2]!.replace(/~1/g, "/").replace(/~0/g, "~"));
    else if (delta.path.startsWith("/scene") || delta.path === "/mode") scene = true;
  }
  return { characters, scene };
}

const SECRET_PATH = /\/(gmNotes|private)(\/|$)/;

/**
 * The turn as a non-GM client may see it: hidden events removed, a hidden roll's input,
 * mechanics and narration withheld, and deltas to GM-only or owner-only fields dropped. GMs receive turns unredacted.
 */
export function redactTurn(turn: Turn): Turn {
  const hiddenRoll = turn.resolution?.hidden === true;
  const secretDeltas = turn.deltas.some((delta) => SECRET_PATH.test(delta.path));
  if (!hiddenRoll && !secretDeltas && !turn.events.some((event) => event.hidden)) return turn;
  return {
    ...turn,
    // a hidden roll shows only that it happened: not what was attempted, nor how it went
    input: hiddenRoll ? { kind: turn.input.kind, hidden: true } : turn.input,
    narration: hiddenRoll ? null : turn.narration,
    resolution: hiddenRoll ? null : turn.resolution,
    events: turn.events.filter((event) => !event.hidden),
    deltas: hiddenRoll ? [] : turn.deltas.filter((delta) => !SECRET_PATH.test(delta.path)),
  };
}

/**
 * A turn as players and spectators receive it live: redacted, and without its deltas. Their view
 * of the state arrives as the synced room state; the deltas (with their `prev` values) are what
 * a GM works with. Every member decodes every turn, so what they do not need is left out.
 * The HTTP timeline serves redacted turns with their deltas.
 */
export function memberTurn(turn: Turn): Turn {
  return { ...redactTurn(turn), deltas: [] };
}
