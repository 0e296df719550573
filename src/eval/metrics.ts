/**
 * Evaluation metrics on host arrays, each the textbook definition:
 *   accuracy  = (1/n) sum_i 1[argmax_c s_ic = y_i]
 *   macro-F1  = (1/C) sum_c 2 P_c R_c / (P_c + R_c)   (F1_c = 0 when class c is never predicted nor true)
 *   ROC-AUC   = P(score of a random positive > score of a random negative), ties count 1/2
 *               (the Mann-Whitney U statistic / (n_pos n_neg), computed with average ranks)
 *   micro-F1  = 2 TP / (2 TP + FP + FN) over every (row, label) pair; macro-F1 averages per label
 *   MAE       = (1/n) sum_i |p_i - y_i|
 *   Pearson r = cov(p, y) / (std(p) std(y))
 */
import type { Task } from "../data/types.ts";

/** Index of the largest of each row of a row-major [n, k] matrix. */
export function argmaxRows(scores: ArrayLike<number>, n: number, k: number): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let c = 1; c < k; c++) if (scores[i * k + c]! > scores[i * k + best]!) best = c;
    out[i] = best;
  }
  return out;
}

export function accuracy(predicted: ArrayLike<number>, labels: ArrayLike<number>): number {
  if (labels.length === 0) return NaN;
  let hits = 0;
  for (let i = 0; i < labels.length; i++) if (predicted[i] === labels[i]) hits++;
  return hits / labels.length;
}

function f1(tp: number, fp: number, fn: number): number {
  return tp === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn);
}

/** Macro-F1 over `numClasses` classes (classes absent from both predictions and labels count as 0, as sklearn does with labels=range(C)). */
export function macroF1(predicted: ArrayLike<number>, labels: ArrayLike<number>, numClasses: number): number {
  const tp = new Float64Array(numClasses);
  const fp = new Float64Array(numClasses);
  const fn = new Float64Array(numClasses);
  for (let i = 0; i < labels.length; i++) {
    const p = predicted[i]!;
    const y = labels[i]!;
    if (p === y) tp[y]!++;
    else {
      fp[p]!++;
      fn[y]!++;
    }
  }
  let sum = 0;
  for (let c = 0; c < numClasses; c++) sum += f1(tp[c]!, fp[c]!, fn[c]!);
  return sum / numClasses;
}

/** Binary ROC-AUC of `scores` for 0/1 `labels`; NaN when one class is absent. */
export function rocAuc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  const n = labels.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  const ranks = new Float64Array(n);
  for (let start = 0; start < n; ) {
    let end = start;
    while (end + 1 < n && scores[order[end + 1]!] === scores[order[start]!]) end++;
    const averageRank = (start + end) / 2 + 1; // 1-based ranks, ties share their mean
    for (let k = start; k <= end; k++) ranks[order[k]!] = averageRank;
    start = end + 1;
  }
  let positives = 0;
  let rankSum = 0;
  for (let i = 0; i < n; i++) {
    if (labels[i]! > 0.5) {
      positives++;
      rankSum += ranks[i]!;
    }
  }
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) return NaN;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/** Micro- and macro-F1 of 0/1 predictions against 0/1 labels, both row-major [n, L]. */
export function multilabelF1(predicted: ArrayLike<number>, labels: ArrayLike<number>, numLabels: number): { micro: number; macro: number } {
  const n = labels.length / numLabels;
  let tpAll = 0, fpAll = 0, fnAll = 0, macro = 0;
  for (let l = 0; l < numLabels; l++) {
    let tp = 0, fp = 0, fn = 0;
    for (let i = 0; i < n; i++) {
      const p = predicted[i * numLabels + l]! > 0.5;
      const y = labels[i * numLabels + l]! > 0.5;
      if (p && y) tp++;
      else if (p) fp++;
      else if (y) fn++;
    }
    tpAll += tp;
    fpAll += fp;
    fnAll += fn;
    macro += f1(tp, fp, fn);
  }
  return { micro: f1(tpAll, fpAll, fnAll), macro: macro / numLabels };
}

export function meanAbsoluteError(predicted: ArrayLike<number>, targets: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < targets.length; i++) sum += Math.abs(predicted[i]! - targets[i]!);
  return sum / targets.length;
}

/** Pearson correlation; NaN when either side is constant. */
export function pearson(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const n = x.length;
  let mx = 0, my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i]!;
    my += y[i]!;
  }
  mx /= n;
  my /= n;
  let sxy = 0, sxx = 0, syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i]! - mx;
    const dy = y[i]! - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  return sxx === 0 || syy === 0 ? NaN : sxy / Math.sqrt(sxx * syy);
}

export type MetricSet = Record<string, number>;

/** The metric model selection and early stopping use, and which way is better. */
export function primaryMetric(task: Task): { name: string; higherIsBetter: boolean } {
  switch (task) {
    case "classification":
      return { name: "accuracy", higherIsBetter: true };
    case "multilabel":
      return { name: "microF1", higherIsBetter: true };
    case "regression":
      return { name: "mae", higherIsBetter: false };
  }
}

/**
 * Every metric of a task from model outputs `scores` [n, outDim] (probabilities
 * for classification and multilabel, predictions for regression) and the SplitData labels.
 */
export function taskMetrics(task: Task, scores: Float32Array, labels: Float32Array, outDim: number): MetricSet {
  const n = scores.length / outDim;
  switch (task) {
    case "classification": {
      const predicted = argmaxRows(scores, n, outDim);
      const out: MetricSet = { accuracy: accuracy(predicted, labels), macroF1: macroF1(predicted, labels, outDim) };
      if (outDim === 2) out.rocAuc = rocAuc(Float32Array.from({ length: n }, (_, i) => scores[i * 2 + 1]!), labels);
      return out;
    }
    case "multilabel": {
      const predicted = scores.map((p) => (p > 0.5 ? 1 : 0));
      const { micro, macro } = multilabelF1(predicted, labels, outDim);
      return { microF1: micro, macroF1: macro };
    }
    case "regression":
      return { mae: meanAbsoluteError(scores, labels), pearson: pearson(scores, labels) };
  }
}
