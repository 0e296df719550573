/**
 * Classical baselines in every bench: `linear:<modality>` and `linear:concat`,
 * a multinomial logistic regression (src/baselines/logistic.ts) on the
 * standardised raw features of one modality or of all of them side by side
 * (src/baselines/features.ts). Same splits as the neural methods; validation
 * chooses the L2 strength; test is only scored. They
 * answer the question a reviewer asks first: does the network beat a linear
 * model on the raw inputs?
 *
 * They are registered as FusionMethods of family "linear" so that the bench's
 * planning, results and report treat them as rows like any other; they have no
 * network, so init/apply refuse and the bench runs them with runLinearJob.
 * Classification only (multinomial logistic regression).
 */
import type { PreparedDataset, SplitData } from "../data/types.ts";
import { FusionkitError } from "../errors.ts";
import { HostRng } from "../engine/random.ts";
import { argmaxRows, taskMetrics } from "../eval/metrics.ts";
import { atLeast, defaultsOf, integer, parseMethodConfig } from "../fusion/config.ts";
import type { FusionMethod } from "../fusion/types.ts";
import { z } from "zod";
import { concatFeatures, modalityFeatures, type FeatureSet } from "./features.ts";
import { fitLogistic, logisticDefaults, logisticScores, softmaxRows, type LogisticFit } from "./logistic.ts";

export const linearPrefix = "linear:";
export const linearConcat = "linear:concat";

const linearConfig = z.strictObject({
  /** L2 strengths tried; the one with the best validation accuracy wins */
  l2Grid: z.array(atLeast(0)).min(1, { error: "must be a non-empty list of numbers >= 0" }).default([...logisticDefaults.l2Grid]),
  /** L-BFGS iterations per grid point before giving up on the tolerance (the fit is then reported as not converged) */
  maxIterations: integer(1).default(logisticDefaults.maxIterations),
  /** converged when ||gradient||_2 <= gtol * l2 * max(1, ||W||_2): W within gtol * ||W|| of the optimum (strong convexity) */
  gtol: z.number().positive({ error: "must be a number > 0" }).default(logisticDefaults.gtol),
  /** or when an iteration lowers the loss by at most this fraction of it */
  ftol: z.number().positive({ error: "must be a number > 0" }).default(logisticDefaults.ftol),
  /** where the products with the design matrix run (auto: the engine for large problems) */
  products: z.enum(["auto", "host", "engine"]).default("auto"),
});
export type LinearConfig = z.infer<typeof linearConfig>;

export function isLinearBaseline(name: string): boolean {
  return name.startsWith(linearPrefix);
}

/** The `linear:` rows a bench adds for a dataset: one per modality, plus concat when there are several. Classification only. */
export function linearBaselineNames(dataset: Pick<PreparedDataset, "modalities" | "task">): string[] {
  if (dataset.task !== "classification") return [];
  const names = dataset.modalities.map((m) => `${linearPrefix}${m.name}`);
  return dataset.modalities.length > 1 ? [...names, linearConcat] : names;
}

const describe = (target: string) =>
  target === "concat" ? "every modality's raw features concatenated" : `the raw features of "${target}" only`;

export function linearBaselineMethod(name: string, modalities: string[]): FusionMethod<LinearConfig> {
  const target = name.slice(linearPrefix.length);
  if (target !== "concat" && (modalities.length === 0 ? false : !modalities.includes(target))) {
    throw new FusionkitError(`method "${name}" names a modality the dataset does not have; valid: ${[...modalities.map((m) => `${linearPrefix}${m}`), linearConcat].join(", ")}`, { field: "method" });
  }
  const refuse = (): never => {
    throw new FusionkitError(`"${name}" is a classical baseline the bench fits directly (logistic regression on raw features); it has no network to train, export or serve`, { field: "method" });
  };
  return {
    name,
    family: "linear",
    summary: `classical baseline: multinomial logistic regression on ${describe(target)} (standardised pixels, log-mel summary statistics, TF-IDF, tabular as is); each L2 solved to convergence by L-BFGS, L2 chosen on validation`,
    citation: "multinomial logistic regression (Cox 1958); the linear-probe-on-raw-features baseline",
    config: linearConfig,
    defaults: defaultsOf(linearConfig),
    init: refuse,
    apply: refuse,
  };
}

function featuresFor(dataset: PreparedDataset, target: string): FeatureSet {
  return target === "concat" ? concatFeatures(dataset) : modalityFeatures(dataset, target);
}

export type LinearRun = {
  fit: LogisticFit;
  features: FeatureSet;
  /** test class probabilities [n, C] */
  testProbs: Float32Array;
  trainMs: number;
};

/** Fits the baseline on train, choosing L2 on validation. A convex fit: no seed. */
export function fitLinearBaseline(dataset: PreparedDataset, name: string, config: Partial<LinearConfig> | Record<string, unknown> = {}): LinearRun {
  if (dataset.task !== "classification") throw new FusionkitError(`${name}: the linear baselines are multinomial logistic regressions and need a classification task (this one is ${dataset.task})`, { field: "method" });
  const started = performance.now();
  const C = dataset.labelNames.length;
  const features = featuresFor(dataset, name.slice(linearPrefix.length));
  const o = parseMethodConfig({ name, config: linearConfig }, config);
  const fit = fitLogistic(
    { x: features.splits.train, y: dataset.splits.train.labels },
    { x: features.splits.val, y: dataset.splits.val.labels },
    features.dim,
    { numClasses: C, l2Grid: o.l2Grid, maxIterations: o.maxIterations, gtol: o.gtol, ftol: o.ftol, products: o.products, blocks: features.blocks },
  );
  const trainMs = performance.now() - started;
  const testProbs = softmaxRows(logisticScores(features.splits.test, dataset.splits.test.n, features.dim, fit.w, fit.b, C), C);
  return { fit, features, testProbs, trainMs };
}

/** Test probabilities after replacing the test split (a perturbed copy), with the fitted model and train statistics. */
export function linearProbsOn(dataset: PreparedDataset, name: string, run: LinearRun, test: SplitData): Float32Array {
  const C = dataset.labelNames.length;
  const features = featuresFor({ ...dataset, splits: { ...dataset.splits, test } }, name.slice(linearPrefix.length));
  return softmaxRows(logisticScores(features.splits.test, test.n, features.dim, run.fit.w, run.fit.b, C), C);
}

/** Predicted class per row of probabilities [n, C]. */
export function predictedClasses(probs: Float32Array, C: number): number[] {
  return Array.from(argmaxRows(probs, probs.length / C, C));
}

/** Metrics of probabilities on a split's labels. */
export function linearMetrics(dataset: PreparedDataset, probs: Float32Array, split: SplitData): Record<string, number> {
  return taskMetrics("classification", probs, split.labels, dataset.labelNames.length);
}

/** A copy of `split` with seeded Gaussian noise on one modality's present rows (the same draws as the neural methods' Predictor). */
export function noisySplit(dataset: PreparedDataset, split: SplitData, modality: string, sigma: number, seed: number): SplitData {
  const spec = dataset.modalities.find((m) => m.name === modality)!;
  const width = spec.shape.reduce((a, b) => a * b, 1);
  const noisy = spec.type === "tabular" ? width - (spec.categoricalCardinalities?.length ?? 0) : width;
  const rng = new HostRng(seed);
  const input = Float32Array.from(split.inputs[modality]!);
  const present = split.present[modality]!;
  for (let r = 0; r < split.n; r++) {
    if (present[r]! < 0.5) continue;
    for (let j = 0; j < noisy; j++) input[r * width + j]! += sigma * rng.normal();
  }
  return { ...split, inputs: { ...split.inputs, [modality]: input } };
}

/** A copy of `split` with one modality marked missing on every row. */
export function withoutModality(split: SplitData, modality: string): SplitData {
  return { ...split, present: { ...split.present, [modality]: new Float32Array(split.n) } };
}
