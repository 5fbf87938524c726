import { describe, expect, it } from "vitest";
import { formatRating, ladderName, ratingInWords } from "./ladder.ts";
import { formatShifts, outcomeOf } from "./outcome.ts";

describe("the ladder (Fate Core p. 9)", () => {
  it("names every rung from Terrible −2 to Legendary +8", () => {
    const names = [-2, -1, 0, 1, 2, 3, 4, 5, 6, 7, 8].map(ladderName);
    expect(names).toEqual([
      "Terrible",
      "Poor",
      "Mediocre",
      "Average",
      "Fair",
      "Good",
      "Great",
      "Superb",
      "Fantastic",
      "Epic",
      "Legendary",
    ]);
  });

  it("has no name off the ladder", () => {
    expect(ladderName(9)).toBeNull();
    expect(ladderName(-3)).toBeNull();
    expect(ladderName(1.5)).toBeNull();
  });

  it("formats ratings with their sign, and totals off the ladder by the nearest rung", () => {
    expect(formatRating(3)).toBe("Good +3");
    expect(formatRating(0)).toBe("Mediocre 0");
    expect(formatRating(-1)).toBe("Poor \u22121");
    expect(formatRating(11)).toBe("Legendary +11");
    expect(formatRating(-4)).toBe("Terrible \u22124");
  });

  it("writes a rating in prose with its number in parentheses", () => {
    expect(ratingInWords(4)).toBe("Great (+4)");
    expect(ratingInWords(0)).toBe("Mediocre (0)");
    expect(ratingInWords(-2)).toBe("Terrible (\u22122)");
    expect(ratingInWords(9)).toBe("Legendary (+9)");
  });
});

describe("outcomes (Fate Core p. 130)", () => {
  it.each([
    [-3, "fail"],
    [-1, "fail"],
    [0, "tie"],
    [1, "success"],
    [2, "success"],
    [3, "success_with_style"],
    [7, "success_with_style"],
  ] as const)("%i shifts is %s", (shifts, outcome) => {
    expect(outcomeOf(shifts)).toBe(outcome);
  });
});

describe("shifts", () => {
  it("say their sign, and one shift is singular", () => {
    expect([2, 1, 0, -1, -3].map(formatShifts)).toEqual([
      "+2 shifts",
      "+1 shift",
      "0 shifts",
      "\u22121 shift",
      "\u22123 shifts",
    ]);
  });
});
