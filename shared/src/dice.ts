import { unsafeUniformIntDistribution, xoroshiro128plus } from "pure-rand";
import type { FateDie } from "./turn.ts";

/**
 * Seeded dice. A turn's random source is derived from the universe seed and the turn's position,
 * so re-executing a turn draws exactly the same numbers, and two turns never share a stream.
 */
export interface Random {
  /** A uniformly distributed integer in [min, max], both inclusive. */
  int(min: number, max: number): number;
}

export type FateRoll = [FateDie, FateDie, FateDie, FateDie];

/** murmur3's 32-bit finaliser: every input bit flips each output bit with probability ~1/2. */
function fmix32(value: number): number {
  let h = value | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Splits a safe integer into its low and high 32-bit halves so large seeds keep all their bits. */
function halves(value: number): [number, number] {
  if (!Number.isSafeInteger(value)) throw new RangeError(`not a safe integer: ${value}`);
  const low = value >>> 0;
  const high = Math.floor(value / 0x100000000) >>> 0;
  return [low, high];
}

/** The dice seed of the turn at `position` of a universe: a 32-bit unsigned integer. */
export function turnSeed(universeSeed: number, position: number): number {
  const [seedLow, seedHigh] = halves(universeSeed);
  const [posLow, posHigh] = halves(position);
  let h = fmix32(seedLow ^ 0x5bd1e995);
  h = fmix32(h ^ Math.imul(seedHigh ^ 0x27d4eb2d, 0x165667b1));
  h = fmix32(h + Math.imul(posLow, 0x9e3779b9));
  return fmix32(h ^ Math.imul(posHigh + 0x7f4a7c15, 0x85ebca77));
}

/**
 * The dice of universes created before dice secrets (and of test campaigns): each position's
 * source seeded from a public seed. Anyone who knows the seed predicts every roll; live universes
 * use `diceFor` (fair-dice.ts).
 */
export function seededDice(universeSeed: number): (position: number) => Random {
  return (position) => createRandom(turnSeed(universeSeed, position));
}

/** A random source over xoroshiro128+ (pure-rand); it owns its generator and advances it. */
export function createRandom(seed: number): Random {
  const generator = xoroshiro128plus(seed | 0);
  return {
    int(min: number, max: number): number {
      if (!Number.isSafeInteger(min) || !Number.isSafeInteger(max) || max < min) {
        throw new RangeError(`invalid range [${min}, ${max}]`);
      }
      return unsafeUniformIntDistribution(min, max, generator);
    },
  };
}

/** 4dF: four Fate dice, each −1, 0 or +1 with equal probability (Fate Core p. 8). */
export function rollFate(random: Random): FateRoll {
  return [
    random.int(-1, 1) as FateDie,
    random.int(-1, 1) as FateDie,
    random.int(-1, 1) as FateDie,
    random.int(-1, 1) as FateDie,
  ];
}

export function diceSum(dice: readonly FateDie[]): number {
  let sum = 0;
  for (const die of dice) sum += die;
  return sum;
}
