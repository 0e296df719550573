/**
 * A small seeded PRNG so splits and batch orders are reproducible across runs
 * and machines (Math.random cannot be seeded).
 *
 * mulberry32: 32-bit state, passes the PractRand tests at the sizes we use
 * (shuffling at most a few million indices); not for cryptography.
 */
export type Random = () => number;

export function seededRandom(seed: number): Random {
  // Fold any JS number (negative, fractional, > 2^32) into a 32-bit state.
  let state = hashNumber(seed) >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fisher–Yates shuffle in place. */
export function shuffleInPlace<T extends { length: number; [i: number]: unknown }>(items: T, random: Random): T {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const swap = items[i];
    items[i] = items[j];
    items[j] = swap;
  }
  return items;
}

function hashNumber(seed: number): number {
  const text = String(seed);
  // FNV-1a over the decimal text: distinct seeds (0, 1, 0.5, -1) get unrelated states.
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash;
}
