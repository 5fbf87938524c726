import { describe, expect, it } from "vitest";
import { selectWhileAway, visibleText } from "./timeline.ts";
import { turnFixture } from "./fixtures.ts";

describe("a turn's visible text", () => {
  const event = (description: string, hidden = false) => ({
    type: "action",
    description,
    major: false,
    hidden,
    data: {},
  });

  it("given several events, when read as one line, then each ends as a sentence before the next", () => {
    const turn = turnFixture({
      position: 3,
      characterId: "mara",
      events: [
        event("Mara overcomes the stair with Athletics, rolling Fair +2: success"),
        event("Mara creates an advantage!"),
        event("The tide turns"),
      ],
    });
    expect(visibleText(turn)).toBe(
      "Mara overcomes the stair with Athletics, rolling Fair +2: success. Mara creates an advantage! The tide turns",
    );
  });

  it("given one event, when read, then it is the event's own words", () => {
    expect(visibleText(turnFixture({ position: 4, characterId: "mara", text: "Mara sinks the ferry" }))).toBe(
      "Mara sinks the ferry",
    );
  });
});

describe("while you were away", () => {
  it("given a game master's major turn on the character, when she comes back, then it is news to her", () => {
    const own = turnFixture({ position: 2, characterId: "mara", major: true, text: "Mara rings the bell" });
    const milestone = {
      ...turnFixture({
        position: 3,
        characterId: "mara",
        major: true,
        text: "Mara reaches a major milestone",
      }),
      runId: null,
      playerId: null,
      actor: "gm" as const,
      kind: "system" as const,
    };
    const other = turnFixture({ position: 4, characterId: "ilse", major: true });
    expect(selectWhileAway([own, milestone, other], "mara", 1).map((turn) => turn.position)).toEqual([3, 4]);
  });
});
