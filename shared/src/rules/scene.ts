import type { Command } from "../command.ts";
import { pointer } from "../delta.ts";
import type { Rejection } from "../rejection.ts";
import type { UniverseState } from "../state.ts";
import type { DecideContext, Decision } from "./context.ts";
import { Draft } from "./draft.ts";
import { addSceneAspect } from "./aspects.ts";
import { requireGm, sameText } from "./lookup.ts";
import { listLocations, listNpcs, locationPath, npcPath, readLocation } from "../world-records.ts";

type SceneCommand = Extract<Command, { kind: "scene" }>;

/** The world location a scene names, by id or by name. */
function findLocation(state: UniverseState, ref: string) {
  return readLocation(state, ref) ?? listLocations(state).find((location) => sameText(location.name, ref));
}

/**
 * Between scenes everyone recovers (Fate Core p. 160: stress clears after a conflict; p. 164: a
 * mild consequence clears after a scene, simplified here to "the scene changes"). Characters who
 * were taken out or conceded return to play; NPCs taken out stay out.
 */
function recover(draft: Draft, state: UniverseState): void {
  for (const id in state.characters) {
    const character = state.characters[id]!;
    const base = pointer("characters", id);
    for (const track of ["physical", "mental"] as const) {
      character.stress[track].forEach((checked, box) => {
        if (checked) draft.set(`${base}/stress/${track}/${box}`, false, true);
      });
    }
    if (character.consequences.mild)
      draft.set(`${base}/consequences/mild`, null, character.consequences.mild);
    if (character.takenOut) draft.set(`${base}/takenOut`, false, true);
    if (character.conceded) draft.set(`${base}/conceded`, false, true);
  }
  for (const npc of listNpcs(state)) {
    npc.stress.forEach((checked, box) => {
      if (checked) draft.set(npcPath(npc.id, "stress", String(box)), false, true);
    });
  }
}

/** A game master opens a new scene, which ends the current one (and any conflict in it). */
export function decideScene(
  state: UniverseState,
  command: SceneCommand,
  ctx: DecideContext,
): Decision | Rejection {
  const denied = requireGm(ctx.actor, "change the scene");
  if (denied) return denied;
  const draft = new Draft(state, ctx);
  const previous = state.scene;
  const location = command.location === null ? undefined : findLocation(state, command.location);
  if (state.mode === "conflict") draft.event("conflict_ended", `The conflict in "${previous.title}" is over`);
  draft.event("scene_ended", `The scene "${previous.title}" ends`, { data: { sceneId: previous.id } });
  const scene = {
    id: `scene-${ctx.position}`,
    title: command.title,
    location: location ? location.id : command.location,
    summary: command.summary,
    aspects: {},
  };
  draft.set("/scene", scene, previous);
  for (const name of command.aspects ?? [])
    addSceneAspect(draft, name, { freeInvokes: 0, boost: false, createdBy: null });
  draft.change("/mode", "scene", state.mode);
  const where = location ? ` at ${location.name}` : command.location ? ` at ${command.location}` : "";
  draft.event("scene_started", `A new scene begins${where}: "${command.title}"`, {
    major: true,
    data: { sceneId: scene.id, location: scene.location },
  });
  if (location && location.discoveredAt === null) {
    draft.set(locationPath(location.id, "discoveredAt"), ctx.position, null);
    draft.fact(
      "location",
      { locationId: location.id, name: location.name, region: location.region, discovered: true },
      `location-${location.id}`,
    );
    draft.event("location", `${location.name} is discovered`, {
      data: { locationId: location.id, discovered: true },
    });
  }
  recover(draft, state);
  return draft.decision("world_event");
}
