/**
 * Multinomial logistic regression for the classical baselines:
 *   p(y | x) = softmax(x W + b),   W [D, C], b [C]
 *   minimise f(W, b) = (1/N) sum_n CE(p(. | x_n), y_n) + (l2 / 2) ||W||^2
 * A strictly convex problem (for l2 > 0), so the baseline is its optimum, not
 * an early-stopped approximation: each L2 strength is solved to convergence by
 * full-batch L-BFGS (src/baselines/lbfgs.ts, float64 on the host) until
 *   ||grad||_2 <= gtol * l2 * max(1, ||W||_2)   (gtol = 1e-2)
 * or the relative loss change of an iteration is <= ftol = 1e-10, at most
 * maxIterations = 1000 iterations. Why relative to l2: f is l2-strongly convex
 * in W, so ||W - W*||_2 <= ||grad||_2 / l2, and the test bounds the distance to
 * the optimum by 1% of ||W||. An absolute test (max |grad| <= 1e-5) was met at
 * l2 = 1e-7 by the warm start itself, 0 iterations, far from that optimum
 * (emoji text: validation 0.788 instead of 0.795). l2 = 0 uses 1e-9 in the test. The grid is solved from the strongest
 * penalty down, each point warm-started from the previous solution (the
 * regularisation path), and the point with the best validation accuracy wins,
 * ties broken by validation cross-entropy, then by the stronger penalty. Test
 * rows are never seen.
 *
 * The loss and gradient are float64 on the host except the two products with
 * X (X W and X^T R, ~99% of the work), which src/baselines/design.ts computes
 * per feature block: sparse or small blocks (TF-IDF) on the host in float64,
 * large dense blocks (pixels) in the engine in float32 (~10x faster than the
 * host loop). The float32 products limit how flat the loss can be resolved, which is why
 * the "line-search" stop exists (lbfgs.ts); the fit records which rule stopped it.
 */
import { designFor, type Block, type Design } from "./design.ts";
import { lbfgsDefaults, minimiseLbfgs, type LbfgsStop } from "./lbfgs.ts";

export type LogisticOptions = {
  numClasses: number;
  /** L2 strengths tried; the one with the best validation accuracy wins */
  l2Grid: number[];
  maxIterations: number;
  gtol: number;
  ftol: number;
  /** where X W and X^T R are computed, per feature block: "auto" = the engine for dense, large blocks (src/baselines/design.ts) */
  products?: "auto" | "host" | "engine";
  /** column blocks of the features (one per modality); default: one block */
  blocks?: Block[];
};

export const logisticDefaults = { l2Grid: [1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2], maxIterations: lbfgsDefaults.maxIterations, gtol: 1e-2, ftol: lbfgsDefaults.ftol };

export type GridPoint = { l2: number; valAccuracy: number; valLoss: number; iterations: number; evaluations: number; stop: LbfgsStop; gradMax: number; ms: number };

export type LogisticFit = {
  w: Float32Array;
  b: Float32Array;
  dim: number;
  l2: number;
  /** L-BFGS iterations of the chosen grid point */
  iterations: number;
  stop: LbfgsStop;
  /** true when the chosen fit ran out of iterations before meeting the tolerance */
  hitCap: boolean;
  valAccuracy: number;
  /** every grid point, in the order solved (strongest penalty first) */
  grid: GridPoint[];
  /** where each block's products ran */
  products: string;
};

/**
 * f(W, b) and its gradient over theta = [W row-major (D*C), b (C)], float64:
 *   S = X W + b, P = softmax(S), f = -(1/N) sum log P[n, y_n] + (l2/2)||W||^2
 *   dW = X^T (P - Y) / N + l2 W, db = sum_n (P - Y)[n] / N
 */
export function logisticObjective(design: Design, y: Float32Array, n: number, dim: number, C: number, l2: number) {
  return (theta: Float64Array): { f: number; g: Float64Array } => {
    const w = theta.subarray(0, dim * C);
    const b = theta.subarray(dim * C);
    const s = design.scores(w, C);
    let loss = 0;
    for (let r = 0; r < n; r++) {
      const o = r * C;
      let max = -Infinity;
      for (let c = 0; c < C; c++) max = Math.max(max, (s[o + c]! += b[c]!));
      let z = 0;
      for (let c = 0; c < C; c++) z += Math.exp(s[o + c]! - max);
      const label = y[r]!;
      loss += max + Math.log(z) - s[o + label]!;
      // s becomes the residual (P - Y) / N
      for (let c = 0; c < C; c++) s[o + c] = (Math.exp(s[o + c]! - max) / z - (c === label ? 1 : 0)) / n;
    }
    const g = new Float64Array(theta.length);
    g.set(design.adjoint(s, C));
    let penalty = 0;
    for (let i = 0; i < dim * C; i++) {
      penalty += w[i]! * w[i]!;
      g[i]! += l2 * w[i]!;
    }
    for (let r = 0; r < n; r++) for (let c = 0; c < C; c++) g[dim * C + c]! += s[r * C + c]!;
    return { f: loss / n + (l2 / 2) * penalty, g };
  };
}

/** Class scores x W + b for every row, [n, C]. */
export function logisticScores(x: Float32Array, n: number, dim: number, w: Float32Array, b: Float32Array, C: number): Float32Array {
  const out = new Float32Array(n * C);
  for (let r = 0; r < n; r++) {
    const o = r * C;
    for (let c = 0; c < C; c++) out[o + c] = b[c]!;
    for (let d = 0; d < dim; d++) {
      const v = x[r * dim + d]!;
      if (v === 0) continue;
      const row = d * C;
      for (let c = 0; c < C; c++) out[o + c]! += v * w[row + c]!;
    }
  }
  return out;
}

/** Row-wise softmax of scores [n, C]. */
export function softmaxRows(scores: Float32Array, C: number): Float32Array {
  const out = new Float32Array(scores.length);
  for (let r = 0; r < scores.length / C; r++) {
    let max = -Infinity;
    for (let c = 0; c < C; c++) max = Math.max(max, scores[r * C + c]!);
    let sum = 0;
    for (let c = 0; c < C; c++) sum += out[r * C + c] = Math.exp(scores[r * C + c]! - max);
    for (let c = 0; c < C; c++) out[r * C + c]! /= sum;
  }
  return out;
}

function accuracyAndLoss(x: Float32Array, labels: Float32Array, dim: number, w: Float32Array, b: Float32Array, C: number): { accuracy: number; loss: number } {
  const n = labels.length;
  const probs = softmaxRows(logisticScores(x, n, dim, w, b, C), C);
  let hits = 0;
  let loss = 0;
  for (let r = 0; r < n; r++) {
    let best = 0;
    for (let c = 1; c < C; c++) if (probs[r * C + c]! > probs[r * C + best]!) best = c;
    if (best === labels[r]) hits++;
    loss -= Math.log(Math.max(1e-12, probs[r * C + labels[r]!]!));
  }
  return { accuracy: hits / Math.max(1, n), loss: loss / Math.max(1, n) };
}

const norm = (v: Float64Array) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));

/** Solves every grid point to convergence (warm-started along the path); keeps the best on validation. */
export function fitLogistic(
  train: { x: Float32Array; y: Float32Array },
  val: { x: Float32Array; y: Float32Array },
  dim: number,
  options: LogisticOptions,
): LogisticFit {
  const C = options.numClasses;
  const n = train.y.length;
  const design = designFor(train.x, n, dim, options.blocks ?? [{ name: "x", offset: 0, dim }], options.products ?? "auto");
  const fits: (GridPoint & { w: Float32Array; b: Float32Array })[] = [];
  try {
    let theta: Float64Array = new Float64Array(dim * C + C);
    for (const l2 of [...options.l2Grid].sort((a, b) => b - a)) {
      const started = performance.now();
      const result = minimiseLbfgs(logisticObjective(design, train.y, n, dim, C, l2), theta, {
        ftol: options.ftol,
        maxIterations: options.maxIterations,
        gradientTest: (x, g) => norm(g) <= options.gtol * Math.max(l2, 1e-9) * Math.max(1, norm(x.subarray(0, dim * C))),
      });
      theta = result.x;
      const w = Float32Array.from(theta.subarray(0, dim * C));
      const b = Float32Array.from(theta.subarray(dim * C));
      const v = accuracyAndLoss(val.x, val.y, dim, w, b, C);
      fits.push({ l2, w, b, valAccuracy: v.accuracy, valLoss: v.loss, iterations: result.iterations, evaluations: result.evaluations, stop: result.stop, gradMax: result.gradMax, ms: performance.now() - started });
    }
  } finally {
    design.dispose();
  }
  let chosen = fits[0]!;
  for (const f of fits) if (f.valAccuracy > chosen.valAccuracy || (f.valAccuracy === chosen.valAccuracy && f.valLoss < chosen.valLoss)) chosen = f;
  return {
    w: chosen.w,
    b: chosen.b,
    dim,
    l2: chosen.l2,
    iterations: chosen.iterations,
    stop: chosen.stop,
    hitCap: chosen.stop === "iterations",
    valAccuracy: chosen.valAccuracy,
    grid: fits.map(({ w: _w, b: _b, ...point }) => point),
    products: design.where,
  };
}
