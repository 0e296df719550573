/**
 * The classical baselines' solver: L-BFGS reaches the optimum of the convex
 * logistic-regression objective (checked against Newton's method in float64),
 * the engine's float32 products agree with the host's float64 ones, the
 * regularisation path reports why each grid point stopped, and an iteration
 * cap is reported as not converged.
 */
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startEngine } from "../../src/engine/backend.ts";
import { HostRng } from "../../src/engine/random.ts";
import { minimiseLbfgs } from "../../src/baselines/lbfgs.ts";
import { designFor } from "../../src/baselines/design.ts";
import { fitLogistic, logisticObjective } from "../../src/baselines/logistic.ts";

before(startEngine);

/** n rows of d features, a noisy linear rule over `classes` classes. */
function problem(seed: number, n: number, d: number, classes: number) {
  const rng = new HostRng(seed);
  const x = new Float32Array(n * d);
  const y = new Float32Array(n);
  const truth = Array.from({ length: d * classes }, () => rng.normal());
  for (let r = 0; r < n; r++) {
    for (let j = 0; j < d; j++) x[r * d + j] = rng.normal();
    let best = 0;
    let bestScore = -Infinity;
    for (let c = 0; c < classes; c++) {
      let s = 2 * rng.normal();
      for (let j = 0; j < d; j++) s += x[r * d + j]! * truth[j * classes + c]!;
      if (s > bestScore) [best, bestScore] = [c, s];
    }
    y[r] = best;
  }
  return { x, y };
}

/** Solves 2x2.. systems by Gaussian elimination with partial pivoting (float64). */
function solve(a: number[][], b: number[]): number[] {
  const n = b.length;
  const m = a.map((row, i) => [...row, b[i]!]);
  for (let k = 0; k < n; k++) {
    let p = k;
    for (let i = k + 1; i < n; i++) if (Math.abs(m[i]![k]!) > Math.abs(m[p]![k]!)) p = i;
    [m[k], m[p]] = [m[p]!, m[k]!];
    for (let i = k + 1; i < n; i++) {
      const f = m[i]![k]! / m[k]![k]!;
      for (let j = k; j <= n; j++) m[i]![j]! -= f * m[k]![j]!;
    }
  }
  const out = new Array<number>(n).fill(0);
  for (let i = n - 1; i >= 0; i--) {
    let s = m[i]![n]!;
    for (let j = i + 1; j < n; j++) s -= m[i]![j]! * out[j]!;
    out[i] = s / m[i]![i]!;
  }
  return out;
}

describe("L-BFGS on the logistic-regression objective", () => {
  test("2 classes: the L-BFGS optimum equals Newton's method in float64 (the binary problem in u = w1 - w0, c = b1 - b0)", () => {
    const n = 80, d = 3, l2 = 0.05;
    const { x, y } = problem(1, n, d, 2);
    const design = designFor(x, n, d, [{ name: "x", offset: 0, dim: d }], "host");
    const result = minimiseLbfgs(logisticObjective(design, y, n, d, 2, l2), new Float64Array(2 * d + 2), { gtol: 1e-9, ftol: 1e-16 });
    assert.equal(result.stop, "gradient");
    assert.ok(result.gradMax < 1e-6, `max |gradient| ${result.gradMax}`);
    // With the penalty on W the optimum has w0 = -w1, so the multinomial problem is the binary
    // one in u = w1 - w0 with penalty (l2 / 4)|u|^2: minimise mean logloss(sigmoid(x.u + c)) + (l2/4)|u|^2.
    let theta = new Array<number>(d + 1).fill(0);
    for (let it = 0; it < 50; it++) {
      const g = new Array<number>(d + 1).fill(0);
      const h = Array.from({ length: d + 1 }, () => new Array<number>(d + 1).fill(0));
      for (let r = 0; r < n; r++) {
        const row = [...Array.from(x.subarray(r * d, (r + 1) * d)), 1];
        const p = 1 / (1 + Math.exp(-row.reduce((s, v, j) => s + v * theta[j]!, 0)));
        for (let i = 0; i <= d; i++) {
          g[i]! += ((p - y[r]!) * row[i]!) / n;
          for (let j = 0; j <= d; j++) h[i]![j]! += (p * (1 - p) * row[i]! * row[j]!) / n;
        }
      }
      for (let i = 0; i < d; i++) {
        g[i]! += (l2 / 2) * theta[i]!;
        h[i]![i]! += l2 / 2;
      }
      const step = solve(h, g);
      theta = theta.map((t, i) => t - step[i]!);
      if (Math.max(...step.map(Math.abs)) < 1e-14) break;
    }
    const w = result.x;
    for (let j = 0; j < d; j++) {
      assert.ok(Math.abs(w[j * 2 + 1]! - w[j * 2]! - theta[j]!) < 1e-6, `u[${j}]: ${w[j * 2 + 1]! - w[j * 2]!} vs Newton ${theta[j]}`);
      assert.ok(Math.abs(w[j * 2 + 1]! + w[j * 2]!) < 1e-6, "w0 = -w1 at the optimum");
    }
    assert.ok(Math.abs(w[2 * d + 1]! - w[2 * d]! - theta[d]!) < 1e-6, `c: ${w[2 * d + 1]! - w[2 * d]!} vs Newton ${theta[d]}`);
  });

  test("the objective's gradient matches central finite differences", () => {
    const n = 30, d = 4, C = 3;
    const { x, y } = problem(2, n, d, C);
    const f = logisticObjective(designFor(x, n, d, [{ name: "x", offset: 0, dim: d }], "host"), y, n, d, C, 0.1);
    const rng = new HostRng(3);
    const theta = Float64Array.from({ length: d * C + C }, () => rng.normal());
    const { g } = f(theta);
    for (let i = 0; i < theta.length; i++) {
      const plus = Float64Array.from(theta), minus = Float64Array.from(theta);
      plus[i]! += 1e-6;
      minus[i]! -= 1e-6;
      const numeric = (f(plus).f - f(minus).f) / 2e-6;
      assert.ok(Math.abs(numeric - g[i]!) < 1e-7, `d/dtheta[${i}]: ${g[i]} vs ${numeric}`);
    }
  });

  test("engine products (float32) match the host's float64 ones, block by block", () => {
    const n = 50, d = 12, C = 3;
    const { x } = problem(4, n, d, C);
    const blocks = [{ name: "a", offset: 0, dim: 7 }, { name: "b", offset: 7, dim: 5 }];
    const host = designFor(x, n, d, blocks, "host");
    const engine = designFor(x, n, d, blocks, "engine");
    assert.equal(engine.where, "a: engine, b: engine");
    const rng = new HostRng(5);
    const w = Float64Array.from({ length: d * C }, () => rng.normal());
    const r = Float64Array.from({ length: n * C }, () => rng.normal());
    const close = (a: Float64Array, b: Float64Array) => a.every((v, i) => Math.abs(v - b[i]!) < 1e-4 * (1 + Math.abs(b[i]!)));
    assert.ok(close(engine.scores(w, C), host.scores(w, C)), "X W");
    assert.ok(close(engine.adjoint(r, C), host.adjoint(r, C)), "X^T R");
    engine.dispose();
  });

  test("the regularisation path: every grid point converges, warm-started, and the engine fit agrees with the host fit", () => {
    const n = 200, d = 10, C = 3;
    const train = problem(6, n, d, C);
    const val = problem(7, 100, d, C);
    // gtol is relative (||g|| <= gtol * l2 * max(1, ||W||) bounds ||W - W*|| by gtol * ||W||): W within 1e-4 of its norm
    const options = { numClasses: C, l2Grid: [1e-3, 1e-1, 1e-2], maxIterations: 500, gtol: 1e-4, ftol: 1e-16 };
    const host = fitLogistic(train, val, d, { ...options, products: "host" });
    assert.deepEqual(host.grid.map((p) => p.l2), [1e-1, 1e-2, 1e-3], "strongest penalty first");
    for (const p of host.grid) {
      assert.equal(p.stop, "gradient", `l2 ${p.l2}`);
      // the relative test is not met by the warm start from the previous (stronger) penalty
      assert.ok(p.iterations >= 1, `l2 ${p.l2}: ${p.iterations} iterations`);
    }
    assert.equal(host.hitCap, false);
    const best = Math.max(...host.grid.map((p) => p.valAccuracy));
    assert.equal(host.valAccuracy, best);
    const engine = fitLogistic(train, val, d, { ...options, products: "engine", gtol: 1e-3, ftol: 1e-12 });
    assert.equal(engine.l2, host.l2);
    for (let i = 0; i < host.w.length; i++) assert.ok(Math.abs(engine.w[i]! - host.w[i]!) < 1e-3, `w[${i}] ${engine.w[i]} vs ${host.w[i]}`);
  });

  test("a fit that runs out of iterations before the tolerance is reported as such", () => {
    const n = 200, d = 10, C = 3;
    const fit = fitLogistic(problem(8, n, d, C), problem(9, 50, d, C), d, { numClasses: C, l2Grid: [1e-4], maxIterations: 3, gtol: 1e-6, ftol: 1e-16, products: "host" });
    assert.equal(fit.stop, "iterations");
    assert.equal(fit.hitCap, true);
    assert.equal(fit.iterations, 3);
  });
});
