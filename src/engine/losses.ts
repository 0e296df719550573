/**
 * Losses, each the mean over the batch (weighted by `rowWeight` when given,
 * e.g. to ignore padding rows of a last partial batch).
 */
import { logSigmoid, logSoftmax, oneHot, type Tensor } from "./tensor.ts";

function weightedMean(perRow: Tensor, rowWeight?: Tensor): Tensor {
  if (!rowWeight) return perRow.mean();
  return perRow.mul(rowWeight).sum().div(rowWeight.sum().add(1e-12));
}

/** Softmax cross-entropy of logits [B, C] against integer-valued labels [B]. Max-shifted log-sum-exp. */
export function softmaxCrossEntropy(logits: Tensor, labels: Tensor, rowWeight?: Tensor): Tensor {
  const C = logits.shape[logits.ndim - 1]!;
  const nll = logSoftmax(logits, -1).mul(oneHot(labels, C)).sum(-1).neg();
  return weightedMean(nll, rowWeight);
}

/** Binary cross-entropy with logits [B, L] against 0/1 targets [B, L], stable for any logit. */
export function binaryCrossEntropyWithLogits(logits: Tensor, targets: Tensor, rowWeight?: Tensor): Tensor {
  // -[t log s(x) + (1 - t) log s(-x)]
  const perEntry = targets.mul(logSigmoid(logits)).add(targets.neg().add(1).mul(logSigmoid(logits.neg()))).neg();
  return weightedMean(perEntry.mean(-1), rowWeight);
}

export function meanSquaredError(pred: Tensor, target: Tensor, rowWeight?: Tensor): Tensor {
  const perRow = pred.sub(target).square();
  return weightedMean(perRow.ndim > 1 ? perRow.mean(-1) : perRow, rowWeight);
}

export function meanAbsoluteError(pred: Tensor, target: Tensor, rowWeight?: Tensor): Tensor {
  const perRow = pred.sub(target).abs();
  return weightedMean(perRow.ndim > 1 ? perRow.mean(-1) : perRow, rowWeight);
}
