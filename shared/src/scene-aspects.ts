import { compareCodeUnits } from "./continuity/text.ts";
import { keepFirst, newestFirst } from "./ranked.ts";
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
    keepFirst(aspect.boost ? boosts : situation, aspect, limit, newestFirst);
    total++;
  }
  const shown = [...situation, ...boosts]
    .slice(0, limit)
    .sort((a, b) => a.sourcePosition - b.sourcePosition || compareCodeUnits(a.id, b.id));
  return { shown, omitted: total - shown.length };
}
