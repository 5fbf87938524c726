/**
 * mulberry32: a small, fast, seeded source of floats in [0, 1) for simulations, load generators
 * and synthetic data, where the same seed must give the same run. (Game dice use `createRandom`.)
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
