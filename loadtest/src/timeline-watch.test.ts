import { describe, expect, it } from "vitest";
import { TimelineWatch } from "./timeline-watch.ts";

describe("timeline watch", () => {
  it("counts gaps, duplicates and reordered turns, and answers what it saw where", () => {
    for (const keepIds of [false, true]) {
      const watch = new TimelineWatch(keepIds);
      watch.observe(5, "t5");
      watch.observe(6, "t6");
      watch.observe(6, "t6"); // the same turn again
      watch.observe(9, "t9"); // 7 and 8 never arrived
      watch.observe(7, "late"); // behind the head, and not what was at 7
      expect({ gaps: watch.gaps, duplicates: watch.duplicates, reordered: watch.reordered }).toEqual({
        gaps: 2,
        duplicates: 1,
        reordered: 1,
      });
      expect([watch.first, watch.last, watch.count]).toEqual([5, 9, 5]);
      expect(watch.sawAt(6, "t6")).toBe(true);
      expect(watch.sawAt(6, "t5")).toBe(false);
      expect(watch.sawAt(8, "t8")).toBeUndefined();
      expect(watch.sawAt(10, "t10")).toBeUndefined();
    }
  });

  it("keeps the ids themselves only when asked to", () => {
    const gm = new TimelineWatch(true);
    gm.observe(1, "a");
    gm.observe(3, "c");
    expect([gm.idAt(1), gm.idAt(2), gm.idAt(3)]).toEqual(["a", undefined, "c"]);
    expect(() => new TimelineWatch().idAt(1)).toThrow();
  });
});
