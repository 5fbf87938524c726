import { describe, expect, it } from "vitest";
import { bestSkill, opposingSkills, skillRating, stressTrackFor } from "./skills.ts";

describe("skills", () => {
  const sheet = { Athletics: 2, Fight: 3, Will: 1 };

  it("reads a skill by name, ignoring case", () => {
    expect(skillRating(sheet, "Fight")).toEqual({ skill: "Fight", rating: 3 });
    expect(skillRating(sheet, "athletics")).toEqual({ skill: "Athletics", rating: 2 });
  });

  it("rolls a skill the sheet lacks at Mediocre (+0) (Fate Core p. 88)", () => {
    expect(skillRating(sheet, "Lore")).toEqual({ skill: "Lore", rating: 0 });
  });

  it("never reads prototype members as skills", () => {
    expect(skillRating(sheet, "constructor")).toEqual({ skill: "constructor", rating: 0 });
    expect(skillRating(sheet, "toString")).toEqual({ skill: "toString", rating: 0 });
  });

  it("Provoke attacks the mind, Fight and Shoot the body", () => {
    expect(stressTrackFor("Provoke")).toBe("mental");
    expect(stressTrackFor("Fight")).toBe("physical");
    expect(stressTrackFor("Shoot")).toBe("physical");
  });

  it("defends with the better of Athletics and Fight against a physical attack, with Will against a mental one", () => {
    expect(bestSkill(sheet, opposingSkills("attack", "Fight"))).toEqual({ skill: "Fight", rating: 3 });
    expect(bestSkill({ Athletics: 4, Fight: 1 }, opposingSkills("attack", "Shoot"))).toEqual({
      skill: "Athletics",
      rating: 4,
    });
    expect(bestSkill(sheet, opposingSkills("attack", "Provoke"))).toEqual({ skill: "Will", rating: 1 });
  });

  it("opposes Stealth with Notice and Deceive with Empathy", () => {
    expect(opposingSkills("overcome", "Stealth")).toEqual(["Notice"]);
    expect(opposingSkills("create_advantage", "Deceive")).toEqual(["Empathy"]);
    expect(opposingSkills("overcome", "Athletics")).toEqual(["Athletics"]);
  });
});
