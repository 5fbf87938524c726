import { describe, expect, it } from "vitest";
import {
  characterLimitsOf,
  DEFAULT_CHARACTER_LIMITS,
  conceptAfterName,
  nameWithConcept,
  overCharacterLimits,
} from "./character.ts";

describe("a new character's limits", () => {
  it("are Fate Core's where a universe's settings hold none, or none that parse", () => {
    expect(DEFAULT_CHARACTER_LIMITS).toEqual({ skillCap: 4, skillPoints: 20, refresh: 3 });
    for (const settings of [
      {},
      { characterLimits: null },
      { characterLimits: { skillCap: 4 } },
      { characterLimits: { skillCap: 99, skillPoints: 20, refresh: 3 } },
    ])
      expect(characterLimitsOf(settings), JSON.stringify(settings)).toEqual(DEFAULT_CHARACTER_LIMITS);
    const set = { skillCap: 6, skillPoints: 30, refresh: 5 };
    expect(characterLimitsOf({ gms: ["p1"], characterLimits: set })).toEqual(set);
  });

  it("count only ratings above Mediocre as skill points, and say each thing over", () => {
    const limits = { skillCap: 4, skillPoints: 6, refresh: 3 };
    expect(
      overCharacterLimits({ skills: { Fight: 4, Notice: 2, Will: -2, Lore: 0 }, refresh: 3 }, limits),
    ).toEqual([]);
    expect(overCharacterLimits({ skills: { Fight: 5, Notice: 2 }, refresh: 4 }, limits)).toEqual([
      "Fight at Superb +5 is over the skill cap, Great +4",
      "the skills add up to 7 points, over the 6 a new character has",
      "a refresh of 4 is over the 3 a new character starts with",
    ]);
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
