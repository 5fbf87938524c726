import { describe, expect, it } from "vitest";
import { createRandom, diceSum, rollFate, turnSeed } from "./dice.ts";

/** The number of the 81 ordered 4dF outcomes summing to −4 … +4, counted by hand from the trinomial. */
const FOUR_DF_COUNTS = [1, 4, 10, 16, 19, 16, 10, 4, 1];

describe("turnSeed", () => {
  it("is a deterministic unsigned 32-bit integer", () => {
    expect(turnSeed(42, 7)).toBe(turnSeed(42, 7));
    for (const [seed, position] of [
      [0, 0],
      [42, 1],
      [2 ** 40 + 3, 99_999],
      [Number.MAX_SAFE_INTEGER, 1],
    ] as const) {
      const value = turnSeed(seed, position);
      expect(Number.isInteger(value) && value >= 0 && value < 2 ** 32).toBe(true);
    }
  });

  it("gives every position of a universe its own seed", () => {
    const seen = new Set<number>();
    for (let position = 1; position <= 20_000; position++) seen.add(turnSeed(1234, position));
    expect(seen.size).toBe(20_000);
  });

  it("keeps the high bits of large universe seeds and positions", () => {
    expect(turnSeed(5, 1)).not.toBe(turnSeed(5 + 2 ** 32, 1));
    expect(turnSeed(5, 1)).not.toBe(turnSeed(5, 1 + 2 ** 32));
  });

  it("mixes well: neighbouring positions differ in about half their bits", () => {
    let flipped = 0;
    const pairs = 2000;
    for (let position = 1; position <= pairs; position++) {
      let x = (turnSeed(77, position) ^ turnSeed(77, position + 1)) >>> 0;
      while (x) {
        flipped += x & 1;
        x >>>= 1;
      }
    }
    const mean = flipped / pairs;
    expect(mean).toBeGreaterThan(15);
    expect(mean).toBeLessThan(17);
  });

  it("rejects seeds that are not safe integers", () => {
    expect(() => turnSeed(1.5, 1)).toThrow(RangeError);
    expect(() => turnSeed(1, Number.NaN)).toThrow(RangeError);
  });
});

describe("createRandom", () => {
  it("repeats its sequence for the same seed and differs for another", () => {
    const draw = (seed: number) => {
      const random = createRandom(seed);
      return Array.from({ length: 32 }, () => random.int(0, 1_000_000));
    };
    expect(draw(9)).toEqual(draw(9));
    expect(draw(9)).not.toEqual(draw(10));
  });

  it("stays inside inclusive bounds and reaches both ends", () => {
    const random = createRandom(3);
    const seen = new Set<number>();
    for (let i = 0; i < 2000; i++) {
      const value = random.int(-2, 3);
      expect(value >= -2 && value <= 3 && Number.isInteger(value)).toBe(true);
      seen.add(value);
    }
    expect([...seen].sort((a, b) => a - b)).toEqual([-2, -1, 0, 1, 2, 3]);
  });

  it("refuses an empty or non-integer range", () => {
    const random = createRandom(1);
    expect(() => random.int(2, 1)).toThrow(RangeError);
    expect(() => random.int(0, 1.5)).toThrow(RangeError);
  });
});

describe("rollFate", () => {
  it("rolls four dice of −1, 0 or +1", () => {
    const random = createRandom(11);
    for (let i = 0; i < 500; i++) {
      const dice = rollFate(random);
      expect(dice).toHaveLength(4);
      for (const die of dice) expect([-1, 0, 1]).toContain(die);
    }
  });

  it("matches the exact 4dF distribution over many seeded rolls (chi-square, fixed seeds)", () => {
    // Given 200 universes' turn seeds and 400 rolls each (80,000 rolls, all fixed: no flake)
    const observed = new Array<number>(9).fill(0);
    let rolls = 0;
    for (let universe = 1; universe <= 200; universe++) {
      const random = createRandom(turnSeed(universe, 1));
      for (let i = 0; i < 400; i++) {
        observed[diceSum(rollFate(random)) + 4]! += 1;
        rolls += 1;
      }
    }
    // Then the totals −4 … +4 follow 1, 4, 10, 16, 19, 16, 10, 4, 1 out of 81
    let chiSquare = 0;
    FOUR_DF_COUNTS.forEach((count, index) => {
      const expected = (rolls * count) / 81;
      chiSquare += (observed[index]! - expected) ** 2 / expected;
    });
    // 8 degrees of freedom: P(χ² > 26.12) = 0.001
    expect(chiSquare).toBeLessThan(26.12);
  });

  it("the chi-square check would catch a biased die", () => {
    // A die that shows +1 a third more often than it should must fail the same bound.
    const biased = {
      int: (() => {
        let i = 0;
        return () => [1, 0, -1, 1][i++ % 4]!;
      })(),
    };
    const observed = new Array<number>(9).fill(0);
    const rolls = 80_000;
    for (let i = 0; i < rolls; i++) observed[diceSum(rollFate(biased)) + 4]! += 1;
    let chiSquare = 0;
    FOUR_DF_COUNTS.forEach((count, index) => {
      const expected = (rolls * count) / 81;
      chiSquare += (observed[index]! - expected) ** 2 / expected;
    });
    expect(chiSquare).toBeGreaterThan(26.12);
  });

  it("the 81 outcomes of four Fate dice give the counts the distribution check uses", () => {
    const counts = new Array<number>(9).fill(0);
    for (const a of [-1, 0, 1])
      for (const b of [-1, 0, 1])
        for (const c of [-1, 0, 1]) for (const d of [-1, 0, 1]) counts[a + b + c + d + 4]! += 1;
    expect(counts).toEqual(FOUR_DF_COUNTS);
  });
});
