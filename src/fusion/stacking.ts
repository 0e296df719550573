/**
 * Stacking meta-classifier for decision-level (late) fusion: Wolpert, "Stacked
 * generalization", Neural Networks 1992; as a late-fusion combiner, methods.md §3.
 *
 *   features  x = [s_1 (p_1 - 1/C); ...; s_M (p_M - 1/C)]      (length M*C)
 *   g(x)      = softmax(x W + b),   W [M*C, C],  b [C]
 *   fit:      minimise (1/N) sum_n CE(g(x_n), y_n) + (l2/2) ||W||^2
 *             by full-batch Nesterov-accelerated gradient descent on the HOST.
 *
 * p_m are the unimodal predictors' class probabilities, s_m the presence flags.
 * Why centred features: p_m - 1/C is zero for an uninformative (uniform)
 * prediction, and a missing modality is written as exactly zero, so it adds
 * nothing to any class score (it drops out) instead of acting like a vote.
 *
 * The meta-classifier must be fitted on predictions for rows the unimodal
 * models did not train on and that it will not score: fusionkit fits it on
 * out-of-fold predictions of the TRAIN split (k-fold cross-fitting,
 * src/train/crossFit.ts) through FusionMethod.postFit (src/fusion/types.ts),
 * after training, so it gets the same supervision as every other method (train
 * labels; validation only for early stopping); the test split is scored with
 * the fitted W, b. The fit is a pure function of (predictions, labels) it is given.
 */
import { FusionkitError } from "../errors.ts";
import type { HostArray } from "../engine/tensor.ts";

export type StackingParams = { w: HostArray; b: HostArray };

export type StackingOptions = {
  numClasses: number;
  /** per modality, [N] presence flags (1 = present); all present when omitted */
  present?: Float32Array[];
  /** L2 penalty on W (not b); default 1e-3 */
  l2?: number;
  /** gradient steps; default 500 */
  iterations?: number;
};

/** The centred, presence-masked feature matrix [N, M*C] (see the header). */
export function stackingFeatures(probsPerModality: Float32Array[], present: Float32Array[] | undefined, numClasses: number): Float32Array {
  const M = probsPerModality.length;
  const C = numClasses;
  const N = probsPerModality[0]!.length / C;
  const x = new Float32Array(N * M * C);
  for (let n = 0; n < N; n++) {
    for (let m = 0; m < M; m++) {
      const s = present ? present[m]![n]! : 1;
      for (let c = 0; c < C; c++) x[(n * M + m) * C + c] = s * (probsPerModality[m]![n * C + c]! - 1 / C);
    }
  }
  return x;
}

/**
 * Fits the multinomial logistic-regression meta-classifier on held-out
 * probabilities (`valProbsPerModality[m]` is [N, C] row-major: out-of-fold
 * predictions in fusionkit) and their labels [N].
 * Returns W, b (host arrays) and the final training objective.
 */
export function fitStacking(valProbsPerModality: Float32Array[], valLabels: Float32Array, opts: StackingOptions): StackingParams & { loss: number } {
  const C = opts.numClasses;
  const M = valProbsPerModality.length;
  const N = valLabels.length;
  const layer = "late_stacking";
  if (M === 0) throw new FusionkitError("stacking needs the predictions of at least one modality", { layer });
  if (N === 0) throw new FusionkitError("stacking needs at least one row to fit on; give the dataset a non-empty train split", { layer });
  for (const [m, p] of valProbsPerModality.entries()) {
    if (p.length !== N * C) throw new FusionkitError(`modality ${m}: expected ${N} x ${C} held-out probabilities, received ${p.length} values`, { layer });
  }
  for (let n = 0; n < N; n++) {
    const y = valLabels[n]!;
    if (!(Number.isInteger(y) && y >= 0 && y < C)) throw new FusionkitError(`row ${n}: label ${y} is not a class index in [0, ${C})`, { layer });
  }
  const D = M * C;
  const x = stackingFeatures(valProbsPerModality, opts.present, C);
  const l2 = opts.l2 ?? 1e-3;
  const iterations = opts.iterations ?? 500;
  // Step size 1/L with L a bound on the objective's curvature: the softmax
  // cross-entropy Hessian is at most 0.5 * ||[x; 1]||^2 per row (Böhning's bound).
  let maxNormSq = 1;
  for (let n = 0; n < N; n++) {
    let sq = 1;
    for (let d = 0; d < D; d++) sq += x[n * D + d]! ** 2;
    maxNormSq = Math.max(maxNormSq, sq);
  }
  const step = 1 / (0.5 * maxNormSq + l2);

  // theta = [W (D x C); b (C)] as one vector, with Nesterov momentum.
  const size = D * C + C;
  let theta = new Float64Array(size);
  let previous = new Float64Array(size);
  const grad = new Float64Array(size);
  const scores = new Float64Array(C);
  let loss = 0;
  const objective = (at: Float64Array, withGrad: boolean): number => {
    if (withGrad) grad.fill(0);
    let total = 0;
    for (let n = 0; n < N; n++) {
      const row = n * D;
      for (let c = 0; c < C; c++) {
        let z = at[D * C + c]!;
        for (let d = 0; d < D; d++) z += x[row + d]! * at[d * C + c]!;
        scores[c] = z;
      }
      let max = -Infinity;
      for (let c = 0; c < C; c++) max = Math.max(max, scores[c]!);
      let sum = 0;
      for (let c = 0; c < C; c++) sum += Math.exp(scores[c]! - max);
      const lse = max + Math.log(sum);
      const y = valLabels[n]!;
      total += lse - scores[y]!;
      if (!withGrad) continue;
      for (let c = 0; c < C; c++) {
        const r = (Math.exp(scores[c]! - lse) - (c === y ? 1 : 0)) / N;
        if (r === 0) continue;
        for (let d = 0; d < D; d++) grad[d * C + c]! += r * x[row + d]!;
        grad[D * C + c]! += r;
      }
    }
    let penalty = 0;
    for (let i = 0; i < D * C; i++) {
      penalty += at[i]! ** 2;
      if (withGrad) grad[i]! += l2 * at[i]!;
    }
    return total / N + (l2 / 2) * penalty;
  };
  const lookahead = new Float64Array(size);
  for (let k = 1; k <= iterations; k++) {
    const momentum = (k - 1) / (k + 2);
    for (let i = 0; i < size; i++) lookahead[i] = theta[i]! + momentum * (theta[i]! - previous[i]!);
    objective(lookahead, true);
    const next = new Float64Array(size);
    for (let i = 0; i < size; i++) next[i] = lookahead[i]! - step * grad[i]!;
    previous = theta;
    theta = next;
  }
  loss = objective(theta, false);
  return {
    w: { data: Float32Array.from(theta.subarray(0, D * C)), shape: [D, C] },
    b: { data: Float32Array.from(theta.subarray(D * C)), shape: [C] },
    loss,
  };
}
