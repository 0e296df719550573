/**
 * Randomness. Two kinds, kept apart on purpose:
 * - HostRng: a seeded generator on the host for parameter initialisation,
 *   shuffling and splits (deterministic across runs and independent of the engine);
 * - Rng: a jax-js PRNG key inside traced steps (dropout, modality dropout).
 */
import { numpy as np, random } from "@jax-js/jax";
import { adopt, type Tensor } from "./tensor.ts";

/** xoshiro128** seeded through splitmix32: fast, good quality, reproducible. */
export class HostRng {
  private s = new Uint32Array(4);
  constructor(seed: number) {
    let x = seed >>> 0;
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      this.s[i] = (z ^ (z >>> 16)) >>> 0;
    }
  }
  nextUint32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1]!, 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1]! << 9) >>> 0;
    s[2]! ^= s[0]!;
    s[3]! ^= s[1]!;
    s[1]! ^= s[2]!;
    s[0]! ^= s[3]!;
    s[2]! ^= t;
    s[3] = rotl(s[3]!, 11);
    return result;
  }
  /** uniform in [0, 1) */
  uniform(): number {
    return this.nextUint32() / 4294967296;
  }
  normal(): number {
    // Box-Muller; 1 - u avoids log(0).
    const u = 1 - this.uniform();
    const v = this.uniform();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }
  /** A derived, independent generator (for giving each component its own stream). */
  fork(): HostRng {
    return new HostRng(this.nextUint32());
  }
  shuffle<T>(xs: T[]): T[] {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [xs[i], xs[j]] = [xs[j]!, xs[i]!];
    }
    return xs;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/**
 * A raw jax-js key for one step: uint32 [0, seed], exactly what random.key(seed)
 * builds. Built from a typed array on purpose: random.key folds the seed into
 * a constant of a fresh kernel, so calling it with a new seed every step
 * compiled a new wasm module per step (1 ms and ~25 KiB of code space each,
 * an unbounded leak; pinned by test/engine/step.test.ts "memory stays flat").
 */
export function stepKey(seed: number): np.Array {
  return np.array(new Uint32Array([0, seed >>> 0]), { dtype: np.uint32 });
}

/** A PRNG key inside traced code. Split before each use: a key is used once. */
export class Rng {
  constructor(readonly key: Tensor) {}
  split(n: number): Rng[] {
    const keys = adopt(random.split(this.key.borrow, n));
    return Array.from({ length: n }, (_, i) => new Rng(keys.slice(0, i, i + 1).reshape(keys.shape.slice(1))));
  }
  uniform(shape: number[]): Tensor {
    return adopt(random.uniform(this.key.borrow, shape));
  }
  normal(shape: number[]): Tensor {
    return adopt(random.normal(this.key.borrow, shape));
  }
  /** 1 with probability p, else 0, as float32. */
  bernoulli(p: number, shape: number[]): Tensor {
    return this.uniform(shape).less(p);
  }
}

/** One 32-bit step seed from (seed, step): splitmix-style mixing so neighbouring steps get unrelated keys. */
export function stepSeed(seed: number, step: number): number {
  let z = (Math.imul(seed >>> 0, 0x9e3779b1) + Math.imul(step + 1, 0x85ebca6b)) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x7feb352d) >>> 0;
  z = Math.imul(z ^ (z >>> 15), 0x846ca68b) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}
