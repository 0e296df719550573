/**
 * tsx bench/serve.ts — inference speed of exported graphs and of `fusionkit serve`.
 *
 *  1. Per fusion method (every registered method + a unimodal baseline), the
 *     median latency of one onnxruntime-node session run at batch 1 and 32,
 *     next to the jax-js engine's compiled EvalStep on the same batch, for two
 *     input sets: three vectors 300/74/35 (the shape of the hand-built LMF
 *     reference graph, ~30 µs at batch 1 / ~57 µs at batch 32 here) and
 *     vector 300 + text 20 tokens + image 32x32x3. Weights are a fresh init:
 *     latency does not depend on their values.
 *  2. A bounded autocannon load test of the HTTP server on 127.0.0.1 only
 *     (a few seconds per scenario, a fixed number of connections): p50/p99
 *     latency and requests per second.
 *  3. Soak (bench/soak.ts): `fusionkit serve` as its own process, 60 s at 16
 *     connections of 1-row requests then 30 s of maximal requests (1,024 rows
 *     with image, audio and explain), its RSS sampled every second and /health
 *     probed every second: requests/s, p50/p99, errors, the RSS curve and its
 *     growth after warm-up.
 *
 * Usage: tsx bench/serve.ts [--iterations 300] [--duration 3] [--connections 8] [--skip-load] [--skip-methods] [--skip-soak]
 *                           [--soak-small 60] [--soak-max 30] [--soak-connections 16] [--soak-max-connections 4]
 */
// @ts-expect-error autocannon ships no type declarations (and @types/autocannon is not installed)
import autocannon from "autocannon";
import os from "node:os";
import type { ModalitySpec } from "../src/data/types.ts";
import { startEngine } from "../src/engine/backend.ts";
import { flattenParams } from "../src/engine/params.ts";
import { HostRng } from "../src/engine/random.ts";
import { EvalStep, type HostBatch } from "../src/engine/step.ts";
import type { HostArray } from "../src/engine/tensor.ts";
import { lowerTrainedModel } from "../src/export/exportModel.ts";
import { feedsFromSplit } from "../src/export/feeds.ts";
import { createOnnxRunner } from "../src/export/runtime.ts";
import { listMethods } from "../src/fusion/registry.ts";
import type { FusionMethod } from "../src/fusion/types.ts";
import { unimodalMethod } from "../src/fusion/unimodal.ts";
import { buildModel, type ModelBatch, type ModelParams } from "../src/model/model.ts";
import { buildServeApp } from "../src/serve/server.ts";
import { servedModelFixture } from "./fixtures/servedModel.ts";
import { tinyDataset } from "./fixtures/tinyDatasets.ts";

const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1]! : dflt;
};
const iterations = Number(opt("iterations", "300"));
const duration = Number(opt("duration", "3"));
const connections = Number(opt("connections", "8"));

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

const inputSets: { name: string; specs: ModalitySpec[] }[] = [
  {
    name: "vectors 300/74/35",
    specs: [
      { name: "a", type: "vector", shape: [300] },
      { name: "b", type: "vector", shape: [74] },
      { name: "c", type: "vector", shape: [35] },
    ],
  },
  {
    name: "vector+text+image",
    specs: [
      { name: "vec", type: "vector", shape: [300] },
      { name: "txt", type: "text", shape: [20], vocabSize: 1000 },
      { name: "img", type: "image", shape: [32, 32, 3] },
    ],
  },
];

async function methodLatencies(): Promise<void> {
  console.log(`\nONNX Runtime (1 intra-op thread) vs jax-js EvalStep, median of ${iterations} runs, µs`);
  console.log(`${"inputs".padEnd(20)} ${"method".padEnd(22)} ${"onnx b1".padStart(9)} ${"onnx b32".padStart(9)} ${"jax b1".padStart(9)} ${"jax b32".padStart(9)}`);
  for (const set of inputSets) {
    const methods: FusionMethod[] = [...listMethods(), unimodalMethod(set.specs[0]!.name) as unknown as FusionMethod];
    // synthetic rows of the right shapes (token ids within the vocabulary)
    const data = tinyDataset(set.specs, 9).splits.test;
    for (const method of methods) {
      const model = buildModel({ modalities: set.specs, task: "classification", outDim: 8, method, methodConfig: { ...method.defaults }, encoderDim: 64, dropout: 0 });
      const params = model.init(new HostRng(1));
      const { bytes } = lowerTrainedModel({ spec: model.spec, model, params, labelNames: Array.from({ length: 8 }, (_, i) => `c${i}`), labelField: "label", datasetName: set.name });
      const runner = await createOnnxRunner(bytes);
      const { layout, flat } = flattenParams(params);
      const step = new EvalStep<ModelParams, ModelBatch>(layout, flat, (p, batch) => model.apply(p, batch, { train: false }).logits);
      const row = [set.name.padEnd(20), method.name.padEnd(22)];
      const onnx: string[] = [];
      const jax: string[] = [];
      for (const B of [1, 32]) {
        const rows = Array.from({ length: B }, (_, i) => i % data.n);
        const feeds = feedsFromSplit(data, set.specs, rows);
        for (let i = 0; i < 20; i++) await runner.run(feeds);
        const times: number[] = [];
        for (let i = 0; i < iterations; i++) {
          const t = performance.now();
          await runner.run(feeds);
          times.push(performance.now() - t);
        }
        onnx.push((median(times) * 1000).toFixed(0).padStart(9));
        const batch = engineBatch(feeds, set.specs);
        for (let i = 0; i < 5; i++) step.run(batch);
        const jaxTimes: number[] = [];
        for (let i = 0; i < Math.max(10, iterations / 10); i++) {
          const t = performance.now();
          step.run(batch);
          jaxTimes.push(performance.now() - t);
        }
        jax.push((median(jaxTimes) * 1000).toFixed(0).padStart(9));
      }
      console.log([...row, ...onnx, ...jax].join(" "));
      step.dispose();
      await runner.release();
    }
  }
}

/** The same feeds in the model's batch layout (labels and row weights are unused by apply). */
function engineBatch(feeds: Record<string, HostArray>, specs: ModalitySpec[]): HostBatch {
  const pick = (prefix: string) =>
    Object.fromEntries(specs.flatMap((s) => (feeds[`${prefix}.${s.name}`] ? [[s.name, feeds[`${prefix}.${s.name}`]!]] : [])));
  return { inputs: pick("inputs"), tokenMasks: pick("tokenMask"), present: pick("present") } as unknown as HostBatch;
}

async function loadTest(): Promise<void> {
  const fixture = await servedModelFixture();
  const { app } = await buildServeApp({ modelDir: fixture.modelDir });
  const address = await app.listen({ port: 0, host: "127.0.0.1" });
  // rows as a client sends them (the dataset's split field is not a model input: serve refuses unknown keys)
  const rows = fixture.rows.map(({ split: _s, ...rest }) => rest);
  const noFiles = rows.map(({ photo: _p, clip: _c, ...rest }) => rest);
  const scenarios = [
    { name: "1 row (vector, tabular, text)", body: { rows: noFiles.slice(0, 1) } },
    { name: "1 row with image + audio files", body: { rows: rows.slice(0, 1) } },
    { name: "32 rows, all modalities", body: { rows: rows.slice(0, 32) } },
    { name: "1 row + explain (2^5 coalitions)", body: { rows: rows.slice(0, 1), explain: true } },
  ];
  console.log(`\nfusionkit serve on ${address} (early fusion, 5 modalities), autocannon ${duration} s x ${connections} connections per scenario`);
  console.log(`${"scenario".padEnd(36)} ${"p50 ms".padStart(8)} ${"p99 ms".padStart(8)} ${"req/s".padStart(8)} ${"rows/s".padStart(8)} ${"errors".padStart(7)}`);
  for (const s of scenarios) {
    const result = await autocannon({
      url: `${address}/predict`,
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(s.body),
      connections,
      duration,
    });
    const errors = result.errors + result.non2xx;
    console.log(
      `${s.name.padEnd(36)} ${result.latency.p50.toFixed(2).padStart(8)} ${result.latency.p99.toFixed(2).padStart(8)} ${result.requests.average.toFixed(0).padStart(8)} ${(result.requests.average * s.body.rows.length).toFixed(0).padStart(8)} ${String(errors).padStart(7)}`,
    );
  }
  await app.close();
}

await startEngine();
console.log(`${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? "?"}), node ${process.version}`);
if (!args.includes("--skip-methods")) await methodLatencies();
if (!args.includes("--skip-load")) await loadTest();
if (!args.includes("--skip-soak")) {
  const { soak } = await import("./soak.ts");
  await soak({
    smallSeconds: Number(opt("soak-small", "60")),
    maxSeconds: Number(opt("soak-max", "30")),
    connections: Number(opt("soak-connections", "16")),
    maxConnections: Number(opt("soak-max-connections", "4")),
  });
}
