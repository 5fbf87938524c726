import { compareCodeUnits } from "./continuity/text.ts";

/** Records told newest first, by the turn that made them; ties by id. */
export const newestFirst = (
  a: { sourcePosition: number; id: string },
  b: { sourcePosition: number; id: string },
): number => b.sourcePosition - a.sourcePosition || compareCodeUnits(a.id, b.id);

/**
 * Adds `item` to `list`, which is kept in `order` and at most `limit` long, if it ranks among the
 * first `limit`: the first `limit` of many in one pass, without sorting them all.
 */
export function keepFirst<T>(list: T[], item: T, limit: number, order: (a: T, b: T) => number): void {
  if (list.length === limit && order(item, list[limit - 1]!) >= 0) return;
  let at = list.length;
  while (at > 0 && order(item, list[at - 1]!) < 0) at--;
  list.splice(at, 0, item);
  if (list.length > limit) list.pop();
}
