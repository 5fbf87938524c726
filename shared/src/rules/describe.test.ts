import { describe, expect, it } from "vitest";
import type { Resolution } from "../turn.ts";
import { readDeed, readObject } from "../deed.ts";
import { describeRoll } from "./describe.ts";

function resolution(action: Resolution["action"]): Resolution {
  return {
    action,
    skill: "Athletics",
    rating: 1,
    dice: [1, 1, -1, 1],
    rerolls: [],
    invokeBonus: 0,
    total: 3,
    opposition: 2,
    oppositionKind: "passive",
    oppositionDice: null,
    shifts: 1,
    outcome: "success",
    hidden: false,
  };
}

/** The sentence up to " with <skill>": who does what. */
function head(action: Resolution["action"], target: string | null, words: string): string {
  const told = describeRoll("Tamsin", resolution(action), { target, words });
  expect(told).toMatch(/ with Athletics \(Average \+1\) against Fair \+2, rolling Good \+3: success$/);
  return told.slice(0, told.indexOf(" with Athletics"));
}

describe("a roll in one sentence", () => {
  it("makes the player's words its object when they are one", () => {
    expect(head("overcome", null, "the locked gate")).toBe("Tamsin overcomes the locked gate");
    expect(head("defend", null, "A hail of arrows.")).toBe("Tamsin defends against a hail of arrows");
    expect(head("create_advantage", null, "the crowd")).toBe("Tamsin creates an advantage against the crowd");
  });

  it("quotes words that are no object after the action, rather than defending against a verb", () => {
    expect(head("defend", null, "duck behind the crates")).toBe('Tamsin defends ("duck behind the crates")');
    expect(head("overcome", null, "I climb the wall")).toBe('Tamsin tries to overcome ("I climb the wall")');
    expect(head("create_advantage", null, "Tamsin hides in the fog.")).toBe(
      'Tamsin tries to create an advantage ("Tamsin hides in the fog.")',
    );
  });

  it("names an attack's target, its words the means, never the foe", () => {
    expect(head("attack", "Old Brannoc", "a sparring jab")).toBe(
      'Tamsin attacks Old Brannoc ("a sparring jab")',
    );
    expect(head("attack", null, "a sparring jab")).toBe('Tamsin attacks ("a sparring jab")');
    expect(head("attack", "Old Brannoc", "")).toBe("Tamsin attacks Old Brannoc");
  });

  it("takes words that are an object before the target, and quotes other words beside it", () => {
    expect(head("overcome", "Sister Ash", "a tangle of fishing nets")).toBe(
      "Tamsin overcomes a tangle of fishing nets",
    );
    expect(head("defend", "Marsh Bandit", "duck behind the crates")).toBe(
      'Tamsin defends against Marsh Bandit ("duck behind the crates")',
    );
    expect(head("create_advantage", "the scene", "")).toBe("Tamsin creates an advantage against the scene");
  });

  it("says what kind of thing it was when nothing names it", () => {
    expect(head("overcome", null, "")).toBe("Tamsin overcomes an obstacle");
    expect(head("defend", null, "   ")).toBe("Tamsin defends against a threat");
    expect(head("attack", null, "")).toBe("Tamsin attacks a foe");
  });
});

describe("readObject, the first word's shortcut", () => {
  it("says what readDeed says of a noun phrase, for every form and edge of punctuation", () => {
    const samples = [
      "",
      "   ",
      " … ",
      ".!?",
      "the locked gate",
      "  The   locked gate. ",
      "the.",
      "the…",
      "the…, gate",
      "that, then",
      "Those!",
      "a",
      "An iron door…",
      "their boat",
      "I climb the wall",
      "i the gate",
      "duck behind the crates",
      "wades across",
      "Tamsin hides",
      "The Tamsin",
      "quietly slip past",
      "theirs",
      "anthem",
      "\tthe\u00a0gate",
    ];
    for (const words of samples) {
      const full = readDeed(words, "Tamsin");
      const expected = full.form === "noun" || full.form === "none" ? full : { form: "other" };
      expect({ words, ...readObject(words, "Tamsin") }).toMatchObject({ words, ...expected });
    }
  });
});
