/**
 * Finite-difference gradient checks for Tensor functions: compares the engine's
 * reverse-mode gradient of a scalar function with central differences in float64
 * on the host (float32 engine arithmetic, so tolerances are relative ~1e-2).
 */
import assert from "node:assert/strict";
import { numpy as np } from "@jax-js/jax";
import { compile, valueAndGrad } from "../../src/engine/transforms.ts";
import type { Tensor } from "../../src/engine/tensor.ts";

export function checkGradient(
  f: (x: Tensor) => Tensor,
  x0: Float32Array,
  shape: number[],
  opts: GradCheckOptions = {},
): void {
  checkGradientAgainst(f, f, x0, shape, opts);
}

/**
 * piecewise: the function has kinks (ReLU, max): where the central difference misses,
 * the analytic gradient must lie (within tolerance) between the two one-sided slopes,
 * as it does when a pre-activation sits within eps of its kink (the central difference
 * then averages the two pieces' slopes while the gradient is one of them). A wrong
 * gradient still fails: it lies outside both slopes.
 */
export type GradCheckOptions = { eps?: number; rtol?: number; atol?: number; samples?: number; piecewise?: boolean };

/**
 * Compares the engine's reverse-mode gradient of `actual` at x0 with central
 * finite differences of `reference` (pass the same function for a plain check).
 */
export function checkGradientAgainst(
  actual: (x: Tensor) => Tensor,
  reference: (x: Tensor) => Tensor,
  x0: Float32Array,
  shape: number[],
  opts: GradCheckOptions = {},
): void {
  const eps = opts.eps ?? 1e-2;
  const value = compile((x: Tensor) => reference(x).sum());
  const gradient = compile((x: Tensor) => valueAndGrad((y: Tensor) => [actual(y).sum(), {}], x).grad);
  const at = (data: Float32Array) => value(np.array(data).reshape(shape)).dataSync()[0] as number;
  const g = gradient(np.array(x0.slice()).reshape(shape)).dataSync() as Float32Array;
  const n = x0.length;
  const count = Math.min(n, opts.samples ?? 24);
  let largest = 0;
  for (let s = 0; s < count; s++) {
    const i = Math.floor((s * n) / count);
    const plus = x0.slice();
    const minus = x0.slice();
    plus[i]! += eps;
    minus[i]! -= eps;
    const [up, down] = [at(plus), at(minus)];
    const numeric = (up - down) / (2 * eps);
    largest = Math.max(largest, Math.abs(numeric));
    const tol = (opts.atol ?? 2e-3) + (opts.rtol ?? 3e-2) * Math.abs(numeric);
    if (Math.abs(numeric - g[i]!) <= tol) continue;
    let between = false;
    if (opts.piecewise) {
      const here = at(x0.slice());
      const [left, right] = [(here - down) / eps, (up - here) / eps];
      between = g[i]! >= Math.min(left, right) - tol && g[i]! <= Math.max(left, right) + tol;
    }
    assert.ok(between, `gradient mismatch at index ${i}: analytic ${g[i]}, finite difference ${numeric}`);
  }
  // A check over a function that ignores its input would pass vacuously.
  assert.ok(largest > 1e-4, `every sampled finite difference is ~0 (largest ${largest}): the check would pass vacuously`);
}

export function randomArray(n: number, seed: number, scale = 1): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    out[i] = ((s / 4294967296) * 2 - 1) * scale;
  }
  return out;
}
