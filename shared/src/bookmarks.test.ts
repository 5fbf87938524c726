import { describe, expect, it } from "vitest";
import { bookmarkOf, bookmarksOf } from "./bookmarks.ts";
import type { Turn } from "./turn.ts";

function turn(position: number, fields: Partial<Turn>): Turn {
  return {
    universeId: "u",
    position,
    id: `t${position}`,
    runId: null,
    characterId: null,
    playerId: null,
    actor: "gm",
    kind: "world_event",
    input: {},
    resolution: null,
    events: [],
    deltas: [],
    status: "applied",
    narration: null,
    createdAt: "2026-01-01T00:00:00.000Z",
    ...fields,
  };
}

const event = (description: string, major: boolean) => ({
  type: "world",
  description,
  major,
  hidden: false,
  data: {},
});

describe("bookmarks", () => {
  it("marks session starts, scenes, quests, milestones and major events; nothing else", () => {
    const turns = [
      turn(1, { kind: "session_start", actor: "player" }),
      turn(2, { input: { kind: "scene", title: "The drowned pier" } }),
      turn(3, { input: { kind: "quest", op: "start", title: "Find the ferryman" } }),
      turn(4, { input: { kind: "milestone", level: "major" } }),
      turn(5, { input: { kind: "world_event" }, events: [event("The ferry burns", true)] }),
      turn(6, { input: { kind: "world_event" }, events: [event("Rain", false)] }),
      turn(7, { kind: "action", actor: "player", input: { kind: "action" } }),
    ];
    expect(bookmarksOf([...turns].reverse()).map((m) => `${m.position} ${m.kind} ${m.label}`)).toEqual([
      "1 session_start session start #1",
      "2 scene scene: The drowned pier",
      "3 quest quest start: Find the ferryman",
      "4 milestone major milestone",
      "5 major_event The ferry burns",
    ]);
  });

  it("an undone turn, and a hidden one as a player receives it, mark nothing", () => {
    expect(bookmarkOf(turn(2, { input: { kind: "scene", title: "Gone" }, status: "undone" }))).toBeNull();
    // visibility.ts leaves a hidden turn its kind and `hidden`, nothing else
    expect(bookmarkOf(turn(3, { input: { kind: "world_event", hidden: true }, events: [] }))).toBeNull();
  });

  it("a long label is cut to 60 characters", () => {
    const mark = bookmarkOf(turn(2, { input: { kind: "scene", title: "x".repeat(100) } }));
    expect(mark?.label).toHaveLength(60);
    expect(mark?.label.endsWith("…")).toBe(true);
  });
});
