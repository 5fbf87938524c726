import type { Aspect, UniverseState } from "./state.ts";

type SceneAspects = UniverseState["scene"]["aspects"];

/** The aspects a telling of the scene shows, and how many it leaves out. */
export interface ShownAspects {
  /** Oldest first (by the turn that made each, then by id). */
  shown: Aspect[];
  omitted: number;
}

/**
 * The scene aspects worth telling when there are too many to tell: its situation aspects, then
 * its boosts, newest first in each, `limit` in all. A scene lasts as long as its game master
 * keeps it and every success with style leaves a boost in it, so a long scene holds hundreds;
 * a prompt or a recap that listed them all would be that list and little else. One pass over the
 * scene's aspects, without copying any.
 */
export function shownSceneAspects(aspects: SceneAspects, limit: number): ShownAspects {
  const situation: Aspect[] = [];
  const boosts: Aspect[] = [];
  let total = 0;
  for (const id of Object.keys(aspects)) {
    const aspect = aspects[id]!;
    keepNewest(aspect.boost ? boosts : situation, aspect, limit);
    total++;
  }
  const shown = [...situation, ...boosts].slice(0, limit).sort(older);
  return { shown, omitted: total - shown.length };
}

/** Oldest first; ties by id. */
const older = (a: Aspect, b: Aspect) =>
  a.sourcePosition - b.sourcePosition || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** Adds `aspect` to `list` (newest first) if it is among the newest `limit`. */
function keepNewest(list: Aspect[], aspect: Aspect, limit: number): void {
  if (list.length === limit && older(aspect, list[limit - 1]!) <= 0) return;
  let at = list.length;
  while (at > 0 && older(aspect, list[at - 1]!) > 0) at--;
  list.splice(at, 0, aspect);
  if (list.length > limit) list.pop();
}
