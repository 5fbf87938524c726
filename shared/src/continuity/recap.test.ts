import { describe, expect, it } from "vitest";
import type { Turn } from "../turn.ts";
import { saltMarches, turnFixture } from "./fixtures.ts";
import { buildRecap, recapBytes, RECAP_LIMITS, type RecapInput } from "./recap.ts";
import { selectWhileAway } from "./timeline.ts";

/** The same value with every object's keys in reverse order, recursively. */
function reverseKeys<T>(value: T): T {
  if (Array.isArray(value)) return value.map(reverseKeys) as T;
  if (value === null || typeof value !== "object") return value;
  const entries = Object.entries(value as Record<string, unknown>).reverse();
  return Object.fromEntries(entries.map(([key, member]) => [key, reverseKeys(member)])) as T;
}

/** Mara's run: turns 41..60 of hers, with a session start, an undone turn and a hidden roll. */
function maraTurns(): Turn[] {
  const turns: Turn[] = [];
  for (let position = 41; position <= 60; position++) {
    turns.push(turnFixture({ position, characterId: "mara", text: `Mara acts at ${position}` }));
  }
  turns[19] = turnFixture({
    position: 60,
    characterId: "mara",
    text: "Mara rings the bell",
    status: "undone",
  });
  turns[18] = turnFixture({ position: 59, characterId: "mara", kind: "session_start", text: "session" });
  turns[17] = turnFixture({
    position: 58,
    characterId: "mara",
    events: [
      { type: "roll", description: "Mara reads the tide", major: false, hidden: false, data: {} },
      { type: "secret", description: "The GM's secret roll", major: false, hidden: true, data: {} },
    ],
  });
  return turns;
}

function othersSince(): Turn[] {
  return [
    turnFixture({ position: 31, characterId: "kest", text: "Kest sinks the ferry", major: true }),
    turnFixture({ position: 33, characterId: "kest", text: "Kest ties a knot", major: false }),
    turnFixture({ position: 35, characterId: null, text: "A storm floods the lower town", major: true }),
    turnFixture({
      position: 36,
      characterId: "kest",
      text: "Kest learns Wick's secret",
      major: true,
      hidden: true,
    }),
    turnFixture({
      position: 37,
      characterId: "kest",
      text: "Kest burns the ledger",
      major: true,
      status: "undone",
    }),
    turnFixture({ position: 38, characterId: "mara", text: "Mara's own major turn", major: true }),
    turnFixture({ position: 39, characterId: "kest", text: "Kest duels Grue", major: true }),
  ];
}

function input(overrides: Partial<RecapInput> = {}): RecapInput {
  return {
    state: saltMarches(),
    characterId: "mara",
    runTurns: maraTurns(),
    othersSince: othersSince(),
    previousSessionEnd: 30,
    previousSummary: "Mara found the bell tower and bargained with Sela for passage.",
    head: 60,
    ...overrides,
  };
}

describe("buildRecap", () => {
  it("given others' sessions since hers, then each of the newest is told by its summary among the news; hers, glances, older and later ones are not", () => {
    const end = (position: number, characterId: string, summary: string) => ({
      ...turnFixture({ position, characterId, kind: "session_end" }),
      input: { kind: "session_end", summary },
    });
    const sessions = [
      end(20, "kest", "Kest played 4 turns (4 actions)."),
      end(34, "kest", ""),
      end(40, "mara", "Mara played 2 turns (2 actions)."),
      ...Array.from({ length: 6 }, (_, i) =>
        end(42 + i, "kest", `Kest played ${i + 1} turns (${i + 1} actions).`),
      ),
      end(61, "kest", "Kest played 9 turns (9 actions)."),
    ];
    const recap = buildRecap(input({ othersSessions: sessions }));
    const told = recap.whileYouWereAway.filter((turn) => turn.position >= 20 && turn.text.includes("played"));
    expect(told.map((turn) => [turn.position, turn.characterName, turn.text])).toEqual(
      [43, 44, 45, 46, 47].map((position) => [
        position,
        "Kest",
        `Kest played ${position - 41} turns (${position - 41} actions).`,
      ]),
    );
    // among the major turns, in order; and they count nothing as left out
    const positions = recap.whileYouWereAway.map((turn) => turn.position);
    expect(positions).toEqual([...positions].sort((a, b) => a - b));
    expect(recap.omitted.whileYouWereAway).toBe(buildRecap(input()).omitted.whileYouWereAway);
    expect(recap.text).toContain("Kest played 6 turns (6 actions).");
  });

  it("given the same inputs twice, when built, then the bytes are identical", () => {
    expect(recapBytes(buildRecap(input()))).toBe(recapBytes(buildRecap(input())));
  });

  it("given a state whose object keys come in another order, when built, then the bytes are identical", () => {
    const shuffled = input({ state: reverseKeys(saltMarches()), othersSince: reverseKeys(othersSince()) });
    expect(recapBytes(buildRecap(shuffled))).toBe(recapBytes(buildRecap(input())));
  });

  it("given others' turns in descending order, when built, then the recap is the same", () => {
    const descending = input({ othersSince: othersSince().reverse() });
    expect(recapBytes(buildRecap(descending))).toBe(recapBytes(buildRecap(input())));
  });

  it("given turns after the head, when built, then the recap ignores them", () => {
    const later = turnFixture({
      position: 61,
      characterId: "kest",
      text: "Kest from the future",
      major: true,
    });
    const recap = buildRecap(input({ othersSince: [...othersSince(), later] }));
    expect(recapBytes(recap)).toBe(recapBytes(buildRecap(input())));
  });

  it("given the universe, when built for Mara, then it tells her summary, scene, quests and NPCs", () => {
    const recap = buildRecap(input());
    expect(recap.characterName).toBe("Mara Vell");
    expect(recap.recentSummary).toBe("Mara found the bell tower and bargained with Sela for passage.");
    expect(recap.scene).toEqual({
      title: "The Bell Tower",
      location: "Saltmere",
      summary: "Water laps at the tower's lowest steps.",
      aspects: ["Rising Tide", "Thick Fog"],
    });
    expect(recap.activeQuests.map((quest) => quest.id)).toEqual(["bell", "debt"]);
    expect(recap.keyNpcs.map((npc) => [npc.id, npc.attitude])).toEqual([
      ["sela", "friendly"],
      ["wick", "wary"],
    ]);
    expect(recap.text.startsWith("## Last time on The Salt Marches…\n")).toBe(true);
    expect(recap.text).toContain("- **Old Wick** (wary) — Old Wick keeps the old ways.");
    expect(recap.text).not.toContain("smuggler");
  });

  it("given a run with undone, session and hidden parts, when built, then the last ten story turns show only what the player may see", () => {
    const recap = buildRecap(input());
    expect(recap.lastTurns.map((turn) => turn.position)).toEqual([49, 50, 51, 52, 53, 54, 55, 56, 57, 58]);
    // a turn with a hidden event is hidden whole: its visible-looking events follow from the secret
    expect(recap.lastTurns.at(-1)).toEqual({ position: 58, kind: "action", text: "An action." });
    expect(recap.text).not.toContain("secret roll");
    expect(recap.text).not.toContain("reads the tide");
    expect(recap.text).not.toContain("rings the bell");
  });

  it("given others' turns since the previous session, when built, then only their visible, applied major turns and world events appear", () => {
    const recap = buildRecap(input());
    expect(recap.whileYouWereAway).toEqual([
      { position: 31, characterId: "kest", characterName: "Kest", text: "Kest sinks the ferry" },
      { position: 35, characterId: null, characterName: null, text: "A storm floods the lower town" },
      { position: 39, characterId: "kest", characterName: "Kest", text: "Kest duels Grue" },
    ]);
    expect(recap.omitted.whileYouWereAway).toBe(0);
    expect(recap.text).toContain("- Turn 35, the world: A storm floods the lower town");
  });

  it("given a run's first session, when built, then others' events are what came before it, not while it was away", () => {
    const returning = buildRecap(input()).text;
    expect(returning).toContain("### While you were away\n");
    expect(returning).not.toContain("Before you arrived");
    const first = buildRecap(input({ previousSessionEnd: null })).text;
    expect(first).toContain("### Before you arrived\n\n- Turn 31: Kest sinks the ferry.");
    expect(first).not.toContain("While you were away");
  });

  it("given retcons before and after the previous session, when built, then only the later ones show", () => {
    expect(buildRecap(input()).retcons).toEqual([{ position: 58, note: "The bell is bronze, not iron." }]);
    expect(buildRecap(input({ previousSessionEnd: null })).retcons.map((retcon) => retcon.position)).toEqual([
      25, 58,
    ]);
  });

  it("given 10,000 other turns, when built, then the 20 latest major ones show and the rest are counted", () => {
    const others: Turn[] = [];
    for (let position = 1; position <= 10_000; position++) {
      const characterId = position % 7 === 0 ? null : position % 2 === 0 ? "kest" : "mara";
      others.push(
        turnFixture({ position, characterId, major: position % 5 === 0, hidden: position % 15 === 0 }),
      );
    }
    const recap = buildRecap(input({ othersSince: others, previousSessionEnd: 2_000, head: 10_000 }));
    const expected = others.filter(
      (turn) =>
        turn.position > 2_000 &&
        turn.characterId !== "mara" &&
        turn.position % 5 === 0 &&
        turn.position % 15 !== 0,
    );
    expect(recap.whileYouWereAway).toHaveLength(RECAP_LIMITS.whileYouWereAway);
    expect(recap.whileYouWereAway.map((turn) => turn.position)).toEqual(
      expected.slice(-20).map((turn) => turn.position),
    );
    expect(recap.omitted.whileYouWereAway).toBe(expected.length - 20);
    expect(recap.text).toContain(`…and ${expected.length - 20} earlier events.`);
  });
});

describe("buildRecap in a long scene", () => {
  it("given a scene of 500 boosts, when built, then its situation aspects and newest boosts show, in order, and the rest are counted", () => {
    const state = saltMarches();
    for (let i = 0; i < 500; i++)
      state.scene.aspects[`boost-${i}`] = {
        id: `boost-${i}`,
        name: `Opening ${i}`,
        freeInvokes: 1,
        boost: true,
        createdBy: "mara",
        sourcePosition: 20 + i,
      };
    const recap = buildRecap(input({ state }));
    const boosts = Array.from({ length: RECAP_LIMITS.sceneAspects - 2 }, (_, i) => `Opening ${490 + i}`);
    // the fixture's two situation aspects (positions 7 and 12), then the newest boosts
    expect(recap.scene.aspects).toEqual(["Rising Tide", "Thick Fog", ...boosts]);
    expect(recap.omitted.sceneAspects).toBe(500 - boosts.length);
    expect(recap.text).toContain(`*Opening 499*, …and ${500 - boosts.length} others`);
    // whatever order the scene's keys come in
    expect(recapBytes(buildRecap(input({ state: reverseKeys(state) })))).toBe(recapBytes(recap));
  });
});

describe("buildRecap from the newest away turns and a count", () => {
  const newest = Array.from({ length: 20 }, (_, i) =>
    turnFixture({ position: 5_000 + i, characterId: "kest", text: `Kest acts ${i}`, major: true }),
  );

  it("given the newest 20 qualifying turns and a total of 500, when built, then the other 480 are counted", () => {
    const recap = buildRecap(
      input({ othersSince: newest, awayTotal: 500, previousSessionEnd: null, head: 6_000 }),
    );
    expect(recap.whileYouWereAway.map((turn) => turn.position)).toEqual(newest.map((t) => t.position));
    expect(recap.omitted.whileYouWereAway).toBe(480);
    expect(recap.awayCountCapped).toBe(false);
    expect(recap.text).toContain("…and 480 earlier events.");
  });

  it("given more than the counted limit, when built, then it says more than that many", () => {
    const total = RECAP_LIMITS.awayCounted + 1;
    const recap = buildRecap(
      input({ othersSince: newest, awayTotal: total, previousSessionEnd: null, head: 6_000 }),
    );
    const shown = RECAP_LIMITS.awayCounted - RECAP_LIMITS.whileYouWereAway;
    expect(recap.omitted.whileYouWereAway).toBe(shown);
    expect(recap.awayCountCapped).toBe(true);
    expect(recap.text).toContain(`…and more than ${shown} earlier events.`);
  });
});

describe("selectWhileAway", () => {
  it("given turns in descending order, when selected, then they come back ascending", () => {
    const picked = selectWhileAway(othersSince().reverse(), "mara", 30);
    expect(picked.map((turn) => turn.position)).toEqual([31, 35, 39]);
  });

  it("given no previous session, when selected, then every qualifying turn counts", () => {
    const early = turnFixture({ position: 3, characterId: "kest", text: "Kest arrives", major: true });
    expect(selectWhileAway([early, ...othersSince()], "mara", null).map((turn) => turn.position)).toEqual([
      3, 31, 35, 39,
    ]);
  });

  it("given a later session boundary, when selected, then turns at or before it are left out", () => {
    expect(selectWhileAway(othersSince(), "mara", 35).map((turn) => turn.position)).toEqual([39]);
  });
});
