import { describe, expect, it } from "vitest";
import { absorbHit } from "./stress.ts";

const fresh = () => [false, false, false];

describe("absorbing a hit (Fate Core pp. 160–167)", () => {
  it("given free boxes, when hit for 2, then box 2 takes it", () => {
    expect(absorbHit(fresh(), ["mild", "moderate", "severe"], 2)).toEqual({
      box: 1,
      consequences: [],
      takenOut: false,
    });
  });

  it("given box 2 checked, when hit for 2, then the next higher box takes it", () => {
    expect(absorbHit([false, true, false], [], 2)).toEqual({ box: 2, consequences: [], takenOut: false });
  });

  it("given only box 1 free, when hit for 2, then box 1 cannot take it and a mild consequence does", () => {
    expect(absorbHit([false, true, true], ["mild"], 2)).toEqual({
      box: null,
      consequences: ["mild"],
      takenOut: false,
    });
  });

  it("given a 3-box track, when hit for 5, then a mild consequence takes 2 and box 3 the rest", () => {
    expect(absorbHit(fresh(), ["mild", "moderate", "severe"], 5)).toEqual({
      box: 2,
      consequences: ["mild"],
      takenOut: false,
    });
  });

  it("given no boxes left, when hit for 4, then a moderate consequence alone absorbs it", () => {
    expect(absorbHit([true, true, true], ["mild", "moderate", "severe"], 4)).toEqual({
      box: null,
      consequences: ["moderate"],
      takenOut: false,
    });
  });

  it("given only mild and moderate, when hit for 8, then both plus box 2 absorb it", () => {
    expect(absorbHit([false, false], ["mild", "moderate"], 8)).toEqual({
      box: 1,
      consequences: ["mild", "moderate"],
      takenOut: false,
    });
  });

  it("given a severe consequence free, when hit for 6 with no boxes, then severe takes it rather than two lesser ones", () => {
    expect(absorbHit([true, true], ["mild", "moderate", "severe"], 6)).toEqual({
      box: null,
      consequences: ["severe"],
      takenOut: false,
    });
  });

  it("given nothing that can absorb the whole hit, then the defender is taken out and nothing is checked", () => {
    expect(absorbHit([false, false], [], 3)).toEqual({ box: null, consequences: [], takenOut: true });
    expect(absorbHit([true, true, true], ["mild"], 5)).toEqual({
      box: null,
      consequences: [],
      takenOut: true,
    });
  });

  it("a hit of zero shifts does nothing", () => {
    expect(absorbHit(fresh(), [], 0)).toEqual({ box: null, consequences: [], takenOut: false });
  });
});
