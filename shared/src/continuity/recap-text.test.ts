import { describe, expect, it } from "vitest";
import type { Recap } from "./recap.ts";
import { renderRecap } from "./recap-text.ts";

/** A recap with nothing in it but what a test gives. */
function recap(overrides: Partial<Omit<Recap, "text">> = {}): Omit<Recap, "text"> {
  return {
    universeName: "The Salt Marches",
    head: 60,
    previousSessionEnd: 30,
    characterId: "mara",
    characterName: "Mara Vell",
    recentSummary: "",
    scene: { title: "The Bell Tower", location: null, summary: "", aspects: [] },
    activeQuests: [],
    keyNpcs: [],
    lastTurns: [],
    whileYouWereAway: [],
    retcons: [],
    omitted: { activeQuests: 0, keyNpcs: 0, whileYouWereAway: 0, retcons: 0, sceneAspects: 0 },
    awayCountCapped: false,
    ...overrides,
  };
}

describe("renderRecap", () => {
  it("given others' turns that name their character first, when rendered, then the name is said once", () => {
    const text = renderRecap(
      recap({
        whileYouWereAway: [
          { position: 31, characterId: "kest", characterName: "Kest Arden", text: "Kest sinks the ferry" },
          { position: 33, characterId: "kest", characterName: "Kest Arden", text: 'Kest Arden: "I hum."' },
          { position: 34, characterId: "kest", characterName: "Kest Arden", text: "A ferry sinks" },
          { position: 35, characterId: null, characterName: null, text: "A storm floods the lower town" },
        ],
      }),
    );
    expect(text).toContain(
      [
        "### While you were away",
        "",
        "- Turn 31: Kest sinks the ferry.",
        '- Turn 33: Kest Arden: "I hum."',
        "- Turn 34, Kest Arden: A ferry sinks.",
        "- Turn 35, the world: A storm floods the lower town.",
      ].join("\n"),
    );
  });

  it("given turn texts and notes without a final stop, when rendered, then each line ends as a sentence", () => {
    const text = renderRecap(
      recap({
        lastTurns: [
          { position: 57, kind: "action", text: "Mara reads the tide" },
          { position: 58, kind: "action", text: "An action." },
          { position: 59, kind: "custom", text: 'Mara Vell: "Who rang it?"' },
        ],
        retcons: [{ position: 58, note: "The bell is bronze" }],
      }),
    );
    expect(text).toContain(
      '- Turn 57: Mara reads the tide.\n- Turn 58: An action.\n- Turn 59: Mara Vell: "Who rang it?"\n',
    );
    expect(text).toContain("- Turn 58: The bell is bronze.\n");
  });

  it("given NPCs and retcons left out, when rendered, then the recap says how many", () => {
    const text = renderRecap(
      recap({
        keyNpcs: [{ id: "wick", name: "Old Wick", attitude: "wary", notes: "", lastSeenPosition: 40 }],
        retcons: [{ position: 58, note: "The bell is bronze." }],
        omitted: { activeQuests: 0, keyNpcs: 3, whileYouWereAway: 0, retcons: 2, sceneAspects: 0 },
      }),
    );
    expect(text).toContain("### Who you know\n\n- **Old Wick** (wary)\n- …and 3 others.\n");
    expect(text).toContain("### Retcons\n\n- …and 2 earlier retcons.\n- Turn 58: The bell is bronze.\n");
  });
});
