/**
 * Everything measured on a trained model after training: test metrics,
 * robustness (each modality missing in turn; Gaussian noise of each level on
 * each modality, the MultiBench protocol of Liang et al., NeurIPS 2021) and
 * single-row inference latency.
 *
 * Noise is not applied to text: its inputs are token ids, where Gaussian
 * noise has no meaning (the predictor refuses it); text robustness is
 * measured by missingness only. Every method sees the same noise draws: the
 * noise seed depends on the run's seed, modality and level, not on the method.
 */
import { subsetSplit } from "../align/filters.ts";
import type { PreparedDataset, SplitData } from "../data/types.ts";
import { flattenParams } from "../engine/params.ts";
import { HostRng } from "../engine/random.ts";
import { argmaxRows, taskMetrics } from "../eval/metrics.ts";
import { Predictor, type PredictOptions } from "../train/predict.ts";
import type { SplitPredictor } from "../export/trainBackend.ts";
import { outDimOf } from "../model/spec.ts";
import type { TrainedModel } from "../train/trainer.ts";
import type { Metrics, NoiseRecord, RunResult } from "./results.ts";
import { percentile } from "./summary.ts";
import { timePhase } from "../train/phaseTimes.ts";

export type EvaluationOptions = {
  noiseLevels: number[];
  latencySamples: number;
  /** the run's seed: picks the latency rows and the noise draws */
  seed: number;
  batchSize: number;
};

export type Evaluation = Pick<RunResult, "metrics" | "robustness" | "latencyMs" | "testPredictions">;

/** Modalities Gaussian noise is defined on (everything but token ids). */
export function noisyModalities(dataset: Pick<PreparedDataset, "modalities">): string[] {
  return dataset.modalities.filter((m) => m.type !== "text").map((m) => m.name);
}

function noiseSeed(seed: number, modality: number, level: number): number {
  return ((seed + 1) * 1_000_003 + modality * 1009 + level * 17) >>> 0;
}

export async function evaluateTrained(trained: TrainedModel, dataset: PreparedDataset, options: EvaluationOptions): Promise<Evaluation> {
  const test = dataset.splits.test;
  const outDim = outDimOf(dataset);
  const { flat } = flattenParams(trained.params);
  const score = async (predictor: SplitPredictor, split: SplitData, perturbation: PredictOptions = {}): Promise<Metrics> =>
    taskMetrics(dataset.task, (await predictor.predict(split, perturbation)).probs, split.labels, outDim);

  // on the engine the steps ran on (ONNX Runtime unless --backend jax; trainBackend.ts)
  const { openSplitPredictor, requestedBackend } = await import("../export/trainBackend.ts");
  const backend = requestedBackend() === "jax" ? "jax" : "ort";
  const predictor = await openSplitPredictor(backend, trained.model, trained.layout, flat, test, options.batchSize, undefined, "evaluating");
  let metrics: Metrics;
  let testPredictions: number[] | undefined;
  const missing: Record<string, Metrics> = {};
  const noise: NoiseRecord[] = [];
  try {
    const { probs } = await predictor.predict(test);
    metrics = taskMetrics(dataset.task, probs, test.labels, outDim);
    if (dataset.task === "classification") testPredictions = Array.from(argmaxRows(probs, test.n, outDim));
    for (const m of dataset.modalities) missing[m.name] = await score(predictor, test, { presentOverride: { [m.name]: 0 } });
    const noisy = noisyModalities(dataset);
    for (const [mi, modality] of noisy.entries()) {
      for (const [li, sigma] of options.noiseLevels.entries()) {
        noise.push({ modality, sigma, metrics: await score(predictor, test, { noise: { modality, sigma, seed: noiseSeed(options.seed, mi, li) } }) });
      }
    }
  } finally {
    await predictor.dispose();
  }
  const single = await openSplitPredictor(backend, trained.model, trained.layout, flat, test, 1, undefined, "timing single rows of", 1);
  const latencyMs = await timePhase("latency (in test evaluation)", () => measureLatency(single, dataset, options));
  return { metrics, ...(testPredictions ? { testPredictions } : {}), robustness: { missing, noise }, latencyMs };
}

/**
 * Wall time of predicting one row at a time, as a server would: gather the
 * row, run the batch-1 forward pass, read the scores back. One warm-up row
 * first, then `latencySamples` rows drawn from the test split with the run's
 * seed. On ONNX Runtime, the engine `fusionkit serve` and an exported model
 * run on (jax-js with --backend jax, or where the forward pass has no ONNX
 * lowering); `engine` says which. Disposes `single`.
 */
async function measureLatency(single: SplitPredictor, dataset: PreparedDataset, options: EvaluationOptions): Promise<RunResult["latencyMs"]> {
  const test = dataset.splits.test;
  const engine = single instanceof Predictor ? "jax-js" : "onnxruntime";
  try {
    if (test.n === 0) return { p50: NaN, p95: NaN, samples: 0, engine };
    const rng = new HostRng(options.seed + 7919);
    const rows = Array.from({ length: options.latencySamples }, () => rng.int(test.n));
    const times: number[] = [];
    await single.predict(subsetSplit(test, [rows[0]!]));
    for (const row of rows) {
      const started = performance.now();
      await single.predict(subsetSplit(test, [row]));
      times.push(performance.now() - started);
    }
    return { p50: percentile(times, 0.5), p95: percentile(times, 0.95), samples: times.length, engine };
  } finally {
    await single.dispose();
  }
}
