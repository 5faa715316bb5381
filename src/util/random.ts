/**
 * mulberry32: a small, fast, seedable PRNG with uniform floats in [0, 1). The same seed
 * gives the same sequence, so a seeded run (the in-memory network's jitter, chaos and
 * fuzz tests) replays exactly.
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
