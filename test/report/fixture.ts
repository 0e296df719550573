/**
 * A hand-made BenchResults: three methods (two fusion, one unimodal), two
 * seeds, with histories and robustness figures. The report reads only this
 * object, so its tests need no training.
 */
import type { BenchResults, MethodResult, RunResult } from "../../src/bench/results.ts";
import { buildLeaderboard, summariseRuns } from "../../src/bench/summary.ts";

function run(seed: number, accuracy: number, paramCount: number, latency: number): RunResult {
  return {
    seed,
    metrics: { accuracy, macroF1: accuracy - 0.05 },
    bestValMetric: accuracy + 0.01,
    bestEpoch: 3,
    epochsRun: 4,
    stoppedBy: "early-stopping",
    trainMs: 1000 + 100 * seed,
    paramCount,
    latencyMs: { p50: latency, p95: latency * 2, samples: 10 },
    robustness: {
      missing: { image: { accuracy: accuracy - 0.3, macroF1: 0.2 }, text: { accuracy: accuracy - 0.1, macroF1: 0.4 } },
      noise: [0.5, 1, 2].map((sigma) => ({ modality: "image", sigma, metrics: { accuracy: accuracy - 0.05 * sigma, macroF1: 0.5 } })),
    },
    history: [1, 2, 3, 4].map((epoch) => ({ epoch, trainLoss: 2 / epoch, valMetric: accuracy * (1 - 0.1 / epoch), ms: 250 })),
  };
}

function method(name: string, family: string, runs: RunResult[], status: MethodResult["status"] = "complete"): MethodResult {
  return {
    name,
    family,
    summary: `${name} <summary>`,
    citation: "Someone et al., Venue 2020",
    config: { hidden: [32] },
    configNotes: family === "hybrid" ? ["modality dropout p = 0.3 during training (part of the method)"] : [],
    status,
    runs,
    ...(runs.length ? { aggregate: summariseRuns(runs, "accuracy") } : {}),
  };
}

export function fixtureResults(options: { complete?: boolean } = {}): BenchResults {
  const complete = options.complete ?? true;
  const methods = [
    method("early", "early", [run(0, 0.8, 50000, 0.5), run(1, 0.82, 50000, 0.6)]),
    method("gmu", "hybrid", [run(0, 0.85, 60000, 0.7), run(1, 0.86, 60000, 0.8)]),
    method("unimodal:text", "unimodal", complete ? [run(0, 0.7, 30000, 0.2), run(1, 0.71, 30000, 0.3)] : [run(0, 0.7, 30000, 0.2)], complete ? "complete" : "partial"),
  ];
  const primaryMetric = { name: "accuracy", higherIsBetter: true };
  return {
    schema: "fusionkit-bench/1",
    complete,
    ...(complete ? {} : { interruption: { reason: "interrupted (Ctrl-C)", at: "2026-01-01T00:01:00.000Z" } }),
    startedAt: "2026-01-01T00:00:00.000Z",
    finishedAt: "2026-01-01T00:01:00.000Z",
    wallMs: 60000,
    command: ["fusionkit", "bench", "--seeds", "2"],
    environment: { node: "v22.0.0", platform: "linux", arch: "x64", cpus: 2, cpuModel: "test cpu", packages: { "@jax-js/jax": "0.1.25" } },
    dataset: {
      name: "fixture</script><b>",
      source: "fixture",
      task: "classification",
      description: "a made-up dataset",
      labelNames: ["a", "b", "c"],
      modalities: [
        { name: "image", type: "image", shape: [8, 8, 3] },
        { name: "text", type: "text", shape: [6] },
      ],
      rows: { train: 70, val: 15, test: 15 },
      cacheKey: "abc",
      loadMs: 100,
      cacheHit: true,
    },
    config: {
      methods: methods.map((m) => m.name),
      seeds: [0, 1],
      epochs: 4,
      timeBudgetS: null,
      perRunBudgetMs: null,
      batchSize: 16,
      lr: 0.001,
      patience: 2,
      encoderDim: 16,
      noiseLevels: [0.5, 1, 2],
      latencySamples: 10,
      workers: 2,
      primaryMetric,
    },
    methods,
    leaderboard: buildLeaderboard(methods, primaryMetric),
    notes: ["a fairness note"],
  };
}
