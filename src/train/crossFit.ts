/**
 * Out-of-fold predictions of the TRAINING split for a method's second stage
 * (late_stacking's meta-classifier; FusionMethod.postFit). k-fold cross-fitting
 * (Wolpert 1992; the "cross-fitting" of Chernozhukov et al., 2018):
 *   train rows are dealt into k folds by a seeded shuffle; for each fold f a
 *   fresh model is trained on the other k - 1 folds with exactly the main
 *   run's options (same epochs cap, early stopping on validation, seed), and
 *   predicts the rows of fold f, which it never trained on.
 * Every train row so gets a prediction from a model that did not see it, and
 * the second stage is fitted on those predictions and the TRAIN labels. The
 * validation split plays the same part as for every other method (early
 * stopping of each fold model, through its metric) and its labels never reach
 * the second stage: equal supervision for every method in a bench.
 * Cost: k extra trainings on (k - 1)/k of the rows each.
 */
import { gatherRows } from "../data/batches.ts";
import type { PreparedDataset, SplitData } from "../data/types.ts";
import { FusionkitError } from "../errors.ts";
import { flattenParams } from "../engine/params.ts";
import { HostRng } from "../engine/random.ts";
import type { HostArray } from "../engine/tensor.ts";
import type { PostFitData } from "../fusion/types.ts";
import { Predictor } from "./predict.ts";
import type { TrainedModel, TrainOptions } from "./trainer.ts";

export const defaultFolds = 3;

/** The rows `rows` of a split as a split of their own (ids kept). */
export function splitRows(split: SplitData, dataset: Pick<PreparedDataset, "modalities">, rows: number[]): SplitData {
  const batch = gatherRows(split, dataset.modalities, Int32Array.from(rows));
  return { n: rows.length, ids: rows.map((r) => split.ids[r]!), inputs: batch.inputs, tokenMasks: batch.tokenMasks, present: batch.present, labels: batch.labels, fields: {} };
}

/** Fold of each train row (0..k-1), from a shuffle seeded by the run's seed: balanced sizes, no dependence on row order. */
export function foldAssignment(n: number, folds: number, seed: number): Int32Array {
  const order = new HostRng((seed ^ 0x5f3759df) >>> 0).shuffle(Array.from({ length: n }, (_, i) => i));
  const fold = new Int32Array(n);
  order.forEach((row, position) => (fold[row] = position % folds));
  return fold;
}

export type TrainFn = (dataset: PreparedDataset, opts: TrainOptions) => Promise<TrainedModel>;

/**
 * The method's explain outputs for every train row, each from the fold model
 * that did not train on it, in train-row order; with the train labels.
 * `train` must skip its own second stage (the caller passes a trainer that does).
 */
export async function outOfFoldPredictions(dataset: PreparedDataset, opts: TrainOptions, folds: number, train: TrainFn): Promise<PostFitData> {
  const rows = dataset.splits.train;
  if (!(Number.isInteger(folds) && folds >= 2)) throw new FusionkitError(`folds must be an integer >= 2 for cross-fitting, got ${folds}`, { field: "folds" });
  if (rows.n < folds) throw new FusionkitError(`cross-fitting needs at least ${folds} train rows (one per fold); the train split has ${rows.n}`, { field: "folds" });
  const fold = foldAssignment(rows.n, folds, opts.seed ?? 0);
  const parts: Record<string, { rowShape: number[]; data: Float32Array }> = {};
  for (let f = 0; f < folds; f++) {
    const inFold: number[] = [];
    const rest: number[] = [];
    for (let r = 0; r < rows.n; r++) (fold[r] === f ? inFold : rest).push(r);
    const foldData: PreparedDataset = { ...dataset, splits: { ...dataset.splits, train: splitRows(rows, dataset, rest) } };
    const { onEpoch: _ignored, ...quiet } = opts;
    const model = await train(foldData, quiet);
    const predictor = new Predictor(model.model, model.layout, flattenParams(model.params).flat);
    let explain: Record<string, HostArray>;
    try {
      explain = predictor.predict(splitRows(rows, dataset, inFold)).explain ?? {};
    } finally {
      predictor.dispose();
    }
    for (const [name, value] of Object.entries(explain)) {
      const rowShape = value.shape.slice(1);
      const width = rowShape.reduce((a, b) => a * b, 1);
      const part = (parts[name] ??= { rowShape, data: new Float32Array(rows.n * width) });
      inFold.forEach((r, i) => part.data.set(value.data.subarray(i * width, (i + 1) * width), r * width));
    }
  }
  const explain: Record<string, HostArray> = {};
  for (const [name, { rowShape, data }] of Object.entries(parts)) explain[name] = { data, shape: [rows.n, ...rowShape] };
  return { explain, labels: rows.labels };
}
