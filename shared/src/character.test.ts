import { describe, expect, it } from "vitest";
import {
  characterLimitsOf,
  DEFAULT_CHARACTER_LIMITS,
  conceptAfterName,
  nameWithConcept,
  overCharacterLimits,
  pyramidGaps,
} from "./character.ts";

describe("a new character's limits", () => {
  it("are Fate Core's where a universe's settings hold none, or none that parse", () => {
    expect(DEFAULT_CHARACTER_LIMITS).toEqual({ skillCap: 4, skillPoints: 20, refresh: 3, pyramid: false });
    for (const settings of [
      {},
      { characterLimits: null },
      { characterLimits: { skillCap: 4 } },
      { characterLimits: { skillCap: 99, skillPoints: 20, refresh: 3 } },
    ])
      expect(characterLimitsOf(settings), JSON.stringify(settings)).toEqual(DEFAULT_CHARACTER_LIMITS);
    const set = { skillCap: 6, skillPoints: 30, refresh: 5 };
    // limits stored before the pyramid could be required do not require it
    expect(characterLimitsOf({ gms: ["p1"], characterLimits: set })).toEqual({ ...set, pyramid: false });
    const shaped = { ...set, pyramid: true };
    expect(characterLimitsOf({ characterLimits: shaped })).toEqual(shaped);
  });

  it("count only ratings above Mediocre as skill points, and say each thing over", () => {
    const limits = { skillCap: 4, skillPoints: 6, refresh: 3, pyramid: false };
    expect(
      overCharacterLimits({ skills: { Fight: 4, Notice: 2, Will: -2, Lore: 0 }, refresh: 3 }, limits),
    ).toEqual([]);
    expect(overCharacterLimits({ skills: { Fight: 5, Notice: 2 }, refresh: 4 }, limits)).toEqual([
      "Fight at Superb +5 is over the skill cap, Great +4",
      "the skills add up to 7 points, over the 6 a new character has",
      "a refresh of 4 is over the 3 a new character starts with",
    ]);
  });

  it("hold the skills to the pyramid's shape only where the game master asks for it", () => {
    const fiveGreats = { skills: { A: 4, B: 4, C: 4, D: 4, E: 4 }, refresh: 3 };
    expect(overCharacterLimits(fiveGreats, DEFAULT_CHARACTER_LIMITS)).toEqual([]);
    const pyramid = { ...DEFAULT_CHARACTER_LIMITS, pyramid: true };
    expect(overCharacterLimits(fiveGreats, pyramid)).toEqual([
      "5 skills at Great (+4) but 0 at Good (+3): this universe's skills form a pyramid, at least as many one step below",
    ]);
    const fateCore = { A: 4, B: 3, C: 3, D: 2, E: 2, F: 2, G: 1, H: 1, I: 1, J: 1 };
    expect(overCharacterLimits({ skills: fateCore, refresh: 3 }, pyramid)).toEqual([]);
    // Mediocre and below are no part of the shape
    expect(overCharacterLimits({ skills: { A: 2, B: 1, C: 0, D: -1 }, refresh: 3 }, pyramid)).toEqual([]);
    expect(pyramidGaps([3, 3, 2, 1, 1, 1])).toEqual(["2 skills at Good (+3) but 1 at Fair (+2)"]);
    expect(pyramidGaps([2, 2, 1, 3])).toEqual(["2 skills at Fair (+2) but 1 at Average (+1)"]);
  });
});

describe("a character introduced", () => {
  it("by name and high concept, the name once when the high concept starts with it", () => {
    expect(nameWithConcept("Kest", "Wandering salt-witch")).toBe("Kest, Wandering salt-witch");
    expect(nameWithConcept("Mara", "Mara, disgraced cartographer")).toBe("Mara, disgraced cartographer");
    expect(nameWithConcept("Mara", "mara the Bold")).toBe("mara the Bold");
    expect(nameWithConcept("Mara", "  Mara  ")).toBe("Mara");
    expect(nameWithConcept("Mara", "Marauder of the reefs")).toBe("Mara, Marauder of the reefs");
    expect(conceptAfterName("Mara", "Mara, disgraced cartographer")).toBe("disgraced cartographer");
    expect(conceptAfterName("Mara", "mara the Bold")).toBe("the Bold");
    expect(conceptAfterName("Mara", " Mara ")).toBe("");
    expect(conceptAfterName("Mara", "Marauder of the reefs")).toBe("Marauder of the reefs");
  });
});
