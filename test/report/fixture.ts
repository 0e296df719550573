/**
 * A hand-made BenchResults: three methods (two fusion, one unimodal), two
 * seeds, with histories and robustness figures, explanations (gmu's samples
 * carry an attention map and gate scalars, its runs a gate history) and a
 * retrieval section. The report reads only this object, so its tests need no
 * training.
 */
import type { BenchResults, BenchRetrieval, MethodExplanations, MethodResult, RunResult } from "../../src/bench/results.ts";
import type { ReportExplanation } from "../../src/explain/report.ts";
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

/** A 2x2 red PNG: a real image the browser decodes from the data URI. */
export const tinyPng =
  "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAEElEQVR4nGP4z8AARAwQCgAf7gP9i18U1AAAAABJRU5ErkJggg==";

function explanation(method: string, family: string, shares: [number, number], withViews: boolean): MethodExplanations {
  const bar = (s: [number, number]) => [
    { modality: "image", share: s[0], meanAbsPhi: s[0] * 0.4, meanPhi: s[0] * 0.3 },
    { modality: "text", share: s[1], meanAbsPhi: s[1] * 0.4, meanPhi: s[1] * 0.2 },
  ];
  const samples: ReportExplanation["samples"] = ["a", "b"].map((label, i) => ({
    id: `row${i}`,
    prediction: label,
    probabilities: { a: i ? 0.2 : 0.7, b: i ? 0.7 : 0.2, c: 0.1 },
    explained: label,
    value: "probability",
    full: 0.7,
    empty: 0.33,
    attribution: { image: 0.3 - 0.1 * i, text: 0.07 + 0.1 * i },
    missing: [],
    views: withViews
      ? [
          {
            kind: "attention",
            key: "flamingo/layer0/text<-image",
            query: "text",
            context: ["image"],
            queryLabels: ["smiling", "face", "<pad>"],
            keyLabels: ["image[cell 0,0]", "image[cell 0,1]", "image[cell 1,0]", "image[cell 1,1]"],
            queryMask: [1, 1, 0],
            keyMask: [1, 1, 1, 1],
            weights: [
              [0.7, 0.1, 0.1, 0.1],
              [0.25, 0.25, 0.25, 0.25],
              [0.25, 0.25, 0.25, 0.25],
            ],
            massByModality: { image: 1 },
            noContext: false,
          },
          { kind: "scalar", key: "flamingo/tanh_alpha", value: 0.12 },
          { kind: "modalityWeights", key: "gmu/weights", weights: { image: 0.6, text: 0.4 } },
        ]
      : [],
    label,
    inputs: { image: { type: "image", width: 2, height: 2, channels: 3, png: tinyPng }, text: { type: "text", tokens: ["smiling", "face"], text: "smiling face" } },
  }));
  const report: ReportExplanation = {
    method,
    family,
    split: "test",
    rows: 15,
    value: "probability",
    modalities: ["image", "text"],
    bar: bar(shares),
    meanFull: 0.7,
    meanEmpty: 0.33,
    perClass: [
      { className: "a", rows: 8, bar: bar(shares) },
      { className: "b", rows: 7, bar: bar([shares[1], shares[0]]) },
    ],
    samples,
    gates: withViews ? [{ name: "fusion.layers.0.alpha", values: [0.2], tanh: [0.197375] }] : [],
  };
  return { seed: 0, ms: 120, report };
}

function retrieval(): BenchRetrieval {
  const item = (i: number, image: boolean) => ({ id: `r${i}`, label: ["a", "b", "c"][i % 3]!, ...(image ? { thumbnail: tinyPng } : { text: `word${i} face` }) });
  return {
    pair: ["image", "text"],
    matchField: "emoji",
    seed: 0,
    epochs: 15,
    epochsRun: 9,
    bestEpoch: 5,
    batchSize: 64,
    trainRows: 70,
    trainMs: 4000,
    ms: 4500,
    report: {
      kind: "retrieval",
      dataset: "fixture",
      split: "test",
      pair: ["image", "text"],
      matchField: "emoji",
      filters: [],
      recall: {
        "image->text": { queries: 15, candidates: 12, recall: { "1": 0.2, "5": 0.6, "10": 0.8 }, chance: { "1": 0.08, "5": 0.4, "10": 0.8 }, meanRank: 4, medianRank: 3 },
        "text->image": { queries: 12, candidates: 15, recall: { "1": 0.25, "5": 0.5, "10": 0.75 }, chance: { "1": 0.07, "5": 0.33, "10": 0.67 }, meanRank: 5, medianRank: 4 },
      },
      similarity: {
        rowModality: "image",
        columnModality: "text",
        rows: [0, 1, 2].map((i) => item(i, true)),
        columns: [0, 1, 2].map((i) => item(i, false)),
        values: [
          [0.8, 0.1, -0.2],
          [0.0, 0.7, 0.1],
          [-0.3, 0.2, 0.9],
        ],
      },
      examples: {
        queryModality: "text",
        candidateModality: "image",
        k: 5,
        queries: [0, 1].map((q) => ({ query: item(q, false), hits: [0, 1, 2, 3, 4].map((h) => ({ ...item(h, true), rank: h + 1, score: 0.9 - 0.1 * h, match: h % 3 === q })) })),
      },
    },
  };
}

export function fixtureResults(options: { complete?: boolean } = {}): BenchResults {
  const complete = options.complete ?? true;
  const gated = (r: RunResult): RunResult => ({
    ...r,
    gateHistory: [0, 1, 2, 3, 4].map((epoch) => ({ epoch, tanh: { "fusion.layers.0.alpha": [Math.tanh(0.05 * epoch * (r.seed + 1))], "fusion.layers.0.beta": [Math.tanh(-0.03 * epoch)] } })),
  });
  const methods = [
    method("early", "early", [run(0, 0.8, 50000, 0.5), run(1, 0.82, 50000, 0.6)]),
    method("gmu", "hybrid", [gated(run(0, 0.85, 60000, 0.7)), gated(run(1, 0.86, 60000, 0.8))]),
    method("unimodal:text", "unimodal", complete ? [run(0, 0.7, 30000, 0.2), run(1, 0.71, 30000, 0.3)] : [run(0, 0.7, 30000, 0.2)], complete ? "complete" : "partial"),
  ];
  methods[0]!.explanations = explanation("early", "early", [0.6, 0.4], false);
  methods[1]!.explanations = explanation("gmu", "hybrid", [0.45, 0.55], true);
  methods[2]!.explanations = explanation("unimodal:text", "unimodal", [0, 1], false);
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
      lrGrid: [0.000333, 0.001, 0.003],
      lrTrialEpochs: 2,
      weightDecay: 0.3,
      modalityDropout: 0.3,
      patience: 2,
      encoderDim: 16,
      noiseLevels: [0.5, 1, 2],
      latencySamples: 10,
      workers: 2,
      explain: true,
      retrieval: true,
      primaryMetric,
    },
    methods,
    leaderboard: buildLeaderboard(methods, primaryMetric),
    retrieval: retrieval(),
    notes: ["a fairness note"],
  };
}
