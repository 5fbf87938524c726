import { npcPath, questPath } from "../world-records.ts";
import { describe, expect, it } from "vitest";
import { applyDeltas, invertDeltas, pointer } from "../delta.ts";
import type { UniverseState } from "../state.ts";
import { saltMarches, turnFixture } from "./fixtures.ts";
import { SESSION_SUMMARY_LIMITS, summarizeSession, summaryDeltas, untoldDeltas } from "./session-summary.ts";

/** The end of Mara's session: the bell quest resolved, Wick warmed to her, a mild consequence. */
function afterSession(before: UniverseState): UniverseState {
  return applyDeltas(before, [
    { op: "set", path: questPath("bell", "state"), value: "resolved", prev: "active" },
    {
      op: "set",
      path: npcPath("wick", "attitudes", "mara"),
      value: "friendly",
      prev: "wary",
    },
    { op: "set", path: npcPath("grue", "attitudes", "mara"), value: "hostile" },
    {
      op: "set",
      path: npcPath("wick", "attitudes", "kest"),
      value: "hostile",
      prev: "friendly",
    },
    { op: "set", path: pointer("characters", "mara", "stress", "physical", 0), value: true, prev: false },
    {
      op: "set",
      path: pointer("characters", "mara", "consequences", "mild"),
      value: { aspect: "Bruised ribs", freeInvokes: 1, sourcePosition: 63 },
      prev: null,
    },
  ]);
}

const sessionTurns = [
  turnFixture({ position: 61, characterId: "mara", kind: "session_start" }),
  turnFixture({ position: 62, characterId: "mara", text: "Mara climbs the tower" }),
  turnFixture({ position: 63, characterId: "mara", kind: "combat", text: "Mara fights the bell-ghost" }),
  turnFixture({ position: 64, characterId: "kest", text: "Kest waits below", major: true }),
  turnFixture({ position: 65, characterId: "mara", text: "Mara rings the drowned bell", major: true }),
  turnFixture({ position: 66, characterId: "mara", text: "Mara falls", major: true, status: "undone" }),
  turnFixture({ position: 67, characterId: "mara", kind: "undo" }),
];

describe("summarizeSession", () => {
  const before = saltMarches();
  const summary = summarizeSession({
    state: afterSession(before),
    before,
    characterId: "mara",
    sessionTurns,
  });

  it("given a session's turns, when summarised, then it counts Mara's applied story turns by kind", () => {
    expect(summary.turns).toEqual({
      total: 3,
      byKind: { action: 2, combat: 1 },
      first: 62,
      last: 65,
      notable: [{ position: 65, text: "Mara rings the drowned bell" }],
    });
  });

  it("given a quest resolved during the session, when summarised, then it is among the quests advanced", () => {
    expect(summary.questsAdvanced).toEqual([
      { id: "bell", title: "The Drowned Bell", from: "active", to: "resolved" },
    ]);
  });

  it("given attitudes that changed, when summarised, then only those toward Mara are reported", () => {
    expect(summary.relationshipsChanged).toEqual([
      { npcId: "grue", name: "Grue", from: null, to: "hostile" },
      { npcId: "wick", name: "Old Wick", from: "wary", to: "friendly" },
    ]);
  });

  it("given the end state, when summarised, then stress and consequences are Mara's current ones", () => {
    expect(summary.stress).toEqual({ physical: [true, false, false], mental: [false, false] });
    expect(summary.consequences).toEqual([{ severity: "mild", aspect: "Bruised ribs" }]);
  });

  it("given the summary, when rendered, then the text tells it in sentences", () => {
    expect(summary.text).toBe(
      "Mara Vell played 3 turns (2 actions, 1 conflict turn). Mara rings the drowned bell. " +
        'Quest "The Drowned Bell" is now resolved (was active). Grue is now hostile toward Mara Vell (was indifferent). ' +
        "Old Wick is now friendly toward Mara Vell (was wary). Stress: physical 1 of 3, mental 0 of 2. " +
        'Consequences: mild "Bruised ribs".',
    );
  });

  it("given no turns of the character, when summarised, then it tells nothing", () => {
    const quiet = summarizeSession({ state: before, before, characterId: "mara", sessionTurns: [] });
    expect(quiet.text).toBe("");
    expect(quiet.turns.total).toBe(0);
    expect(quiet.questsAdvanced).toEqual([]);
    expect(quiet.relationshipsChanged).toEqual([]);
  });

  it("given many notable events, when summarised, then the text stays within the command limit", () => {
    const long = Array.from({ length: 40 }, (_, i) =>
      turnFixture({
        position: 100 + i,
        characterId: "mara",
        text: `${"A very long deed. ".repeat(20)}${i}`,
        major: true,
      }),
    );
    const busy = summarizeSession({ state: before, before, characterId: "mara", sessionTurns: long });
    expect(busy.turns.notable).toHaveLength(SESSION_SUMMARY_LIMITS.notable);
    expect(busy.text.length).toBeLessThanOrEqual(SESSION_SUMMARY_LIMITS.textChars);
  });
});

describe("summaryDeltas", () => {
  it("given a summary, when its deltas apply, then the recent summary is replaced and the long one grows", () => {
    const state = saltMarches();
    state.canon.summaryLong = "Turn 30. Mara arrived in Saltmere.";
    const deltas = summaryDeltas(state, { text: "Mara rang the bell." }, 68);
    const after = applyDeltas(state, deltas);
    expect(after.canon.summaryRecent).toBe("Mara rang the bell.");
    expect(after.canon.summaryLong).toBe(
      "Turn 30. Mara arrived in Saltmere.\n\nTurn 68. Mara rang the bell.",
    );
    expect(applyDeltas(after, invertDeltas(deltas))).toEqual(state);
  });

  it("given a long summary near its bound, when another session is added, then the oldest paragraphs go", () => {
    const state = saltMarches();
    const paragraphs = Array.from(
      { length: 30 },
      (_, i) => `Turn ${i + 1}. ${"Something happened. ".repeat(8).trim()}`,
    );
    state.canon.summaryLong = paragraphs.join("\n\n");
    const after = applyDeltas(state, summaryDeltas(state, { text: "The newest session." }, 999));
    expect(after.canon.summaryLong.length).toBeLessThanOrEqual(SESSION_SUMMARY_LIMITS.longChars);
    expect(after.canon.summaryLong.startsWith("Turn ")).toBe(true);
    expect(after.canon.summaryLong.endsWith("Turn 999. The newest session.")).toBe(true);
  });

  it("given one paragraph longer than the bound, when trimmed, then it is cut where a sentence starts", () => {
    const state = saltMarches();
    state.canon.summaryLong = Array.from({ length: 400 }, (_, i) => `Sentence ${i}.`).join(" ");
    const long = applyDeltas(state, summaryDeltas(state, { text: "Latest." }, 5)).canon.summaryLong;
    expect(long.length).toBeLessThanOrEqual(SESSION_SUMMARY_LIMITS.longChars);
    expect(long).toMatch(/^Sentence \d+\. /);
  });

  it("given an empty summary or an unchanged one, when deltas are built, then nothing changes needlessly", () => {
    const state = saltMarches();
    expect(summaryDeltas(state, { text: "  " }, 5)).toEqual([]);
    state.canon.summaryRecent = "Same.";
    const deltas = summaryDeltas(state, { text: "Same." }, 5);
    expect(deltas.map((delta) => delta.path)).toEqual(["/canon/summaryLong"]);
  });
});

describe("untoldDeltas", () => {
  /** Mara's session ended at 68 with her bell told; Kest's at 80 with his climb. */
  function twoSessions() {
    let state = saltMarches();
    state.canon.summaryLong = "";
    state.canon.summaryRecent = "";
    const bell = turnFixture({
      position: 65,
      characterId: "mara",
      text: "Mara rings the drowned bell",
      major: true,
    });
    const climb = turnFixture({
      position: 75,
      characterId: "kest",
      text: "Kest climbs the sea wall",
      major: true,
    });
    const mara = summarizeSession({ state, before: state, characterId: "mara", sessionTurns: [bell] });
    state = applyDeltas(state, summaryDeltas(state, mara, 68));
    const kest = summarizeSession({ state, before: state, characterId: "kest", sessionTurns: [climb] });
    state = applyDeltas(state, summaryDeltas(state, kest, 80));
    return { state, bell, climb };
  }

  it("given a session's notable turn undone after it ended, then the summaries no longer tell it, and the undo's inverse restores them", () => {
    const { state, bell } = twoSessions();
    expect(state.canon.summaryLong).toContain("Mara rings the drowned bell.");
    const deltas = untoldDeltas(state, bell);
    const after = applyDeltas(state, deltas);
    expect(after.canon.summaryLong).not.toContain("drowned bell");
    expect(after.canon.summaryLong).toContain("Turn 68. Mara Vell played 1 turn");
    expect(after.canon.summaryLong).toContain("Kest climbs the sea wall.");
    // the recent summary is Kest's session: untouched
    expect(after.canon.summaryRecent).toBe(state.canon.summaryRecent);
    expect(applyDeltas(after, invertDeltas(deltas))).toEqual(state);
  });

  it("given the latest session's notable turn undone, then the recent summary loses it too", () => {
    const { state, climb } = twoSessions();
    const after = applyDeltas(state, untoldDeltas(state, climb));
    expect(after.canon.summaryRecent).not.toContain("sea wall");
    expect(after.canon.summaryRecent).toMatch(/^Kest played 1 turn/);
    expect(after.canon.summaryLong).not.toContain("sea wall");
    expect(after.canon.summaryLong).toContain("Mara rings the drowned bell.");
  });

  it("given a turn no ended session told (still in play, or not notable), then nothing changes", () => {
    const { state } = twoSessions();
    const later = turnFixture({
      position: 90,
      characterId: "mara",
      text: "Mara rings the drowned bell",
      major: true,
    });
    expect(untoldDeltas(state, later)).toEqual([]);
    const minor = turnFixture({ position: 65, characterId: "mara", text: "Mara rings the drowned bell" });
    expect(untoldDeltas(state, minor)).toEqual([]);
  });
});
