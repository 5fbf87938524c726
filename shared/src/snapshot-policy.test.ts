import { describe, expect, it } from "vitest";
import {
  SNAPSHOT_EVERY_DELTAS,
  SNAPSHOT_EVERY_TURNS,
  snapshotDue,
  type SnapshotCheck,
} from "./snapshot-policy.ts";

const quiet: SnapshotCheck = {
  position: 42,
  turnsSinceSnapshot: 5,
  deltasSinceSnapshot: 12,
  kind: "action",
  events: [{ type: "roll" }],
};

describe("snapshot policy (DESIGN §3)", () => {
  it("a quiet turn between thresholds needs no snapshot", () => {
    expect(snapshotDue(quiet)).toBeNull();
  });

  it("every 100 turns and every 500 deltas", () => {
    expect(SNAPSHOT_EVERY_TURNS).toBe(100);
    expect(SNAPSHOT_EVERY_DELTAS).toBe(500);
    expect(snapshotDue({ ...quiet, turnsSinceSnapshot: 99 })).toBeNull();
    expect(snapshotDue({ ...quiet, turnsSinceSnapshot: 100 })).toBe("interval_turns");
    expect(snapshotDue({ ...quiet, deltasSinceSnapshot: 499 })).toBeNull();
    expect(snapshotDue({ ...quiet, deltasSinceSnapshot: 500 })).toBe("interval_deltas");
  });

  it("at the story's boundaries: scene end, conflict end, quest completed, session end", () => {
    expect(
      snapshotDue({
        ...quiet,
        kind: "world_event",
        events: [{ type: "scene_ended" }, { type: "scene_started" }],
      }),
    ).toBe("scene_end");
    expect(
      snapshotDue({ ...quiet, kind: "combat", events: [{ type: "taken_out" }, { type: "conflict_ended" }] }),
    ).toBe("conflict_end");
    expect(snapshotDue({ ...quiet, events: [{ type: "quest_resolved" }] })).toBe("quest_completed");
    expect(snapshotDue({ ...quiet, events: [{ type: "quest_failed" }] })).toBe("quest_completed");
    expect(snapshotDue({ ...quiet, kind: "session_end", events: [] })).toBe("session_end");
  });

  it("on request, before anything else", () => {
    expect(snapshotDue({ ...quiet, manual: true, turnsSinceSnapshot: 100 })).toBe("manual");
  });

  it("a story boundary names the snapshot even when an interval is also due", () => {
    expect(snapshotDue({ ...quiet, turnsSinceSnapshot: 150, events: [{ type: "scene_ended" }] })).toBe(
      "scene_end",
    );
  });
});
