import type { Random } from "../dice.ts";

/**
 * A random source that returns the given numbers in order, for rules tests that need exact dice:
 * `scriptedDice(1, 1, 0, -1)` rolls +1 +1 0 −1 on the next 4dF. Running out, or a value outside
 * the range asked for, is a test bug and throws.
 */
export function scriptedDice(...values: number[]): Random & { remaining(): number } {
  let next = 0;
  return {
    int(min: number, max: number): number {
      if (next >= values.length) throw new Error(`scripted dice ran out after ${values.length} values`);
      const value = values[next++]!;
      if (value < min || value > max) throw new Error(`scripted value ${value} is outside [${min}, ${max}]`);
      return value;
    },
    remaining: () => values.length - next,
  };
}
