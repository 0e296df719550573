/**
 * A bench job for a classical `linear:` row: fit the logistic regression
 * (src/baselines/linear.ts) and measure it as the neural rows are measured:
 * test metrics, each modality missing, Gaussian noise of each level (the same
 * seeded draws as src/bench/evaluate.ts), per-row test predictions for the
 * paired significance test, and latency. Latency here is the time to score
 * one row's features (x W + b on the host), feature extraction excluded.
 */
import type { PreparedDataset } from "../data/types.ts";
import { HostRng } from "../engine/random.ts";
import { fitLinearBaseline, linearMetrics, linearProbsOn, noisySplit, predictedClasses, withoutModality } from "../baselines/linear.ts";
import { logisticScores } from "../baselines/logistic.ts";
import { noisyModalities } from "./evaluate.ts";
import type { BenchJob, JobOutput } from "./job.ts";
import type { NoiseRecord, RunResult } from "./results.ts";
import { percentile } from "./summary.ts";

function noiseSeed(seed: number, modality: number, level: number): number {
  return ((seed + 1) * 1_000_003 + modality * 1009 + level * 17) >>> 0;
}

export function runLinearJob(dataset: PreparedDataset, job: BenchJob): JobOutput {
  const run = fitLinearBaseline(dataset, job.method, job.methodConfig ?? {});
  const test = dataset.splits.test;
  const C = dataset.labelNames.length;
  const missing: Record<string, Record<string, number>> = {};
  for (const m of dataset.modalities) missing[m.name] = linearMetrics(dataset, linearProbsOn(dataset, job.method, run, withoutModality(test, m.name)), test);
  const noise: NoiseRecord[] = [];
  noisyModalities(dataset).forEach((modality, mi) =>
    job.noiseLevels.forEach((sigma, li) => {
      const probs = linearProbsOn(dataset, job.method, run, noisySplit(dataset, test, modality, sigma, noiseSeed(job.seed, mi, li)));
      noise.push({ modality, sigma, metrics: linearMetrics(dataset, probs, test) });
    }),
  );
  const rng = new HostRng(job.seed + 7919);
  const dim = run.features.dim;
  const times: number[] = [];
  for (let i = 0; i <= job.latencySamples && test.n > 0; i++) {
    const row = rng.int(test.n);
    const started = performance.now();
    logisticScores(run.features.splits.test.subarray(row * dim, (row + 1) * dim), 1, dim, run.fit.w, run.fit.b, C);
    if (i > 0) times.push(performance.now() - started);
  }
  const { fit } = run;
  const result: RunResult = {
    seed: job.seed,
    metrics: linearMetrics(dataset, run.testProbs, test),
    testPredictions: predictedClasses(run.testProbs, C),
    robustness: { missing, noise },
    latencyMs: { p50: percentile(times, 0.5), p95: percentile(times, 0.95), samples: times.length, engine: "linear" },
    bestValMetric: fit.valAccuracy,
    // a convex fit has no epochs: both count the chosen grid point's L-BFGS iterations
    bestEpoch: fit.iterations,
    epochsRun: fit.iterations,
    stoppedBy: fit.hitCap ? "iterations" : fit.stop === "line-search" ? "no-progress" : "converged",
    trainMs: run.trainMs,
    paramCount: fit.w.length + fit.b.length,
    history: [],
    chosen: { l2: fit.l2, grid: fit.grid, features: dim, iterations: fit.iterations, stop: fit.stop, products: fit.products },
  };
  return { result };
}
