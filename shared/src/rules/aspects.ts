import { pointer } from "../delta.ts";
import type { Aspect } from "../state.ts";
import type { Draft } from "./draft.ts";

/**
 * Puts a new aspect on the scene. Aspects (not boosts) become canon under the same id, so the
 * narrator keeps remembering "The Bridge Is Burning" after the scene has moved on, among the
 * newest happenings the state keeps (see CANON_HAPPENINGS_KEPT).
 */
export function addSceneAspect(
  draft: Draft,
  name: string,
  options: { freeInvokes: number; boost: boolean; createdBy: string | null },
): Aspect {
  const id = draft.nextId("aspect");
  const aspect: Aspect = {
    id,
    name,
    freeInvokes: options.freeInvokes,
    boost: options.boost,
    createdBy: options.createdBy,
    sourcePosition: draft.ctx.position,
  };
  draft.set(pointer("scene", "aspects", id), aspect, undefined);
  if (!options.boost) {
    draft.fact(
      "aspect",
      { aspectId: id, name, createdBy: options.createdBy, sceneId: draft.state.scene.id },
      id,
    );
  }
  return aspect;
}

/** A boost: a fleeting aspect with one free invoke that vanishes once used (Fate Core p. 58). */
export function addBoost(draft: Draft, name: string, createdBy: string): Aspect {
  return addSceneAspect(draft, name, { freeInvokes: 1, boost: true, createdBy });
}

/** More free invokes on an aspect already in the scene (create advantage on it, Fate Core p. 136). */
export function addFreeInvokes(draft: Draft, aspect: Aspect, count: number): void {
  draft.increment(pointer("scene", "aspects", aspect.id, "freeInvokes"), count, aspect.freeInvokes);
}
