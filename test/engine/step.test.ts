/**
 * The compiled train step end to end: it learns real data, it is deterministic,
 * and it does not leak engine memory over 1000+ steps.
 */
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import v8 from "node:v8";
import vm from "node:vm";
import { startEngine, kernelInstanceStats } from "../../src/engine/backend.ts";
import { HostRng, stepKey } from "../../src/engine/random.ts";
import { random } from "@jax-js/jax";
import { dropout, initMlp, mlp } from "../../src/engine/layers.ts";
import { flattenParams, type ParamTree } from "../../src/engine/params.ts";
import { EvalStep, TrainStep, type HostBatch } from "../../src/engine/step.ts";
import { softmaxCrossEntropy } from "../../src/engine/losses.ts";
import type { HostArray, Tensor } from "../../src/engine/tensor.ts";

before(startEngine);

// A real collection before each reading, with or without --expose-gc on the command line.
v8.setFlagsFromString("--expose-gc");
const collectGarbage = vm.runInNewContext("gc") as () => void;

/** Palmer penguins (vega-datasets): species from 4 body measurements, standardised. */
function penguins(): { x: Float32Array; y: Float32Array; n: number } {
  const path = join(dirname(createRequire(import.meta.url).resolve("vega-datasets")), "..", "data", "penguins.json");
  const rows = (JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>[]).filter((r) =>
    ["Beak Length (mm)", "Beak Depth (mm)", "Flipper Length (mm)", "Body Mass (g)"].every((k) => typeof r[k] === "number"),
  );
  const cols = ["Beak Length (mm)", "Beak Depth (mm)", "Flipper Length (mm)", "Body Mass (g)"];
  const species = [...new Set(rows.map((r) => r.Species as string))].sort();
  const n = rows.length;
  const x = new Float32Array(n * 4);
  cols.forEach((c, j) => {
    const v = rows.map((r) => r[c] as number);
    const mean = v.reduce((a, b) => a + b) / n;
    const std = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / n);
    v.forEach((val, i) => (x[i * 4 + j] = (val - mean) / std));
  });
  const y = Float32Array.from(rows.map((r) => species.indexOf(r.Species as string)));
  return { x, y, n };
}

function classifier(seed: number) {
  const tree = { mlp: initMlp(new HostRng(seed), [4, 16, 3]) };
  const { layout, flat } = flattenParams(tree);
  const logits = (p: any, b: any, rng?: any) => mlp(p.mlp, b.x, { dropout: rng ? 0.1 : 0, rng });
  const loss = (p: any, b: any, rng: any) => {
    const l = logits(p, b, rng);
    const correct: Tensor = l.argmax(-1).sub(b.y).abs().less(0.5).mean();
    return { loss: softmaxCrossEntropy(l, b.y), metrics: { accuracy: correct } };
  };
  return { layout, flat, loss, logits };
}

function batchOf(x: Float32Array, y: Float32Array, idx: number[]): HostBatch {
  const bx = new Float32Array(idx.length * 4);
  idx.forEach((r, i) => bx.set(x.subarray(r * 4, r * 4 + 4), i * 4));
  return { x: { data: bx, shape: [idx.length, 4] }, y: { data: Float32Array.from(idx.map((r) => y[r]!)), shape: [idx.length] } };
}

function trainPenguins(seed: number, epochs: number) {
  const { x, y, n } = penguins();
  const order = new HostRng(99).shuffle([...Array(n).keys()]);
  const train = order.slice(0, Math.floor(n * 0.7));
  const test = order.slice(Math.floor(n * 0.7));
  const m = classifier(seed);
  const step = new TrainStep(m.layout, m.flat, m.loss, { optimizer: { kind: "adam" } });
  const shuffler = new HostRng(seed);
  const losses: number[] = [];
  let t = 0;
  for (let e = 0; e < epochs; e++) {
    const perm = shuffler.shuffle(train.slice());
    for (let i = 0; i + 16 <= perm.length; i += 16) losses.push(step.step(batchOf(x, y, perm.slice(i, i + 16)), 0.01, seed * 100000 + t++).loss!);
  }
  const evaluate = new EvalStep(m.layout, step.currentParams(), (p, b) => m.logits(p, b));
  const out = evaluate.run(batchOf(x, y, test)) as HostArray;
  let correct = 0;
  test.forEach((r, i) => {
    const row = out.data.subarray(i * 3, i * 3 + 3);
    if (row.indexOf(Math.max(...row)) === y[r]) correct++;
  });
  step.dispose();
  evaluate.dispose();
  return { accuracy: correct / test.length, losses };
}

describe("compiled train step", () => {
  test("an MLP learns penguin species from body measurements to >= 95% test accuracy", () => {
    const { accuracy } = trainPenguins(1, 15);
    assert.ok(accuracy >= 0.95, `test accuracy ${accuracy}`);
  });

  test("same seed, same data: identical losses at every step (dropout included)", () => {
    const a = trainPenguins(7, 2).losses;
    const b = trainPenguins(7, 2).losses;
    const c = trainPenguins(8, 2).losses;
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
  });

  test("memory stays flat over 1200 train steps", () => {
    const { x, y, n } = penguins();
    const m = classifier(3);
    const step = new TrainStep(m.layout, m.flat, m.loss, { optimizer: { kind: "adamw" }, clipNorm: 1 });
    const rng = new HostRng(5);
    const run = (k: number, offset: number) => {
      for (let i = 0; i < k; i++) step.step(batchOf(x, y, Array.from({ length: 32 }, () => rng.int(n))), 1e-3, offset + i);
    };
    run(500, 0);
    // two windows of 1200 steps: a leak grows in both, while a one-off growth of the wasm heap
    // (it grows in 16 MiB chunks) lands in at most one, so the smaller growth is the one to bound
    collectGarbage();
    const usage = [process.memoryUsage()];
    for (const offset of [500, 1700]) {
      run(1200, offset);
      collectGarbage();
      usage.push(process.memoryUsage());
    }
    step.dispose();
    const growth = (key: "rss" | "heapUsed") => Math.min(usage[1]![key] - usage[0]![key], usage[2]![key] - usage[1]![key]) / 2 ** 20;
    const rss = growth("rss");
    const heap = growth("heapUsed");
    // Before the stepKey fix this grew by ~30 MiB of RSS and ~2 MiB of heap per 1200 steps.
    assert.ok(rss < 16, `RSS grew by ${rss.toFixed(1)} MiB over 1200 steps`);
    assert.ok(heap < 1, `JS heap grew by ${heap.toFixed(2)} MiB over 1200 steps`);
  });

  test("kernel instances are reused across steps (backend workaround in src/engine/backend.ts)", () => {
    const beforeStats = kernelInstanceStats();
    trainPenguins(2, 1);
    const after = kernelInstanceStats();
    assert.ok(after.reused - beforeStats.reused > 10 * (after.created - beforeStats.created), JSON.stringify({ beforeStats, after }));
  });
});

describe("step keys", () => {
  test("stepKey(seed) is the same key as jax-js random.key(seed)", () => {
    for (const seed of [0, 1, 123456, 2 ** 32 - 1]) {
      const a = Array.from(stepKey(seed).dataSync());
      const b = Array.from(random.key(seed).dataSync());
      assert.deepEqual(a, b);
    }
  });
});

describe("dropout", () => {
  test("is the identity in eval mode", () => {
    const m = classifier(1);
    const e = new EvalStep<ParamTree, { x: Tensor }>(m.layout, m.flat, (p, b) => dropout(b.x, 0.5, undefined));
    const data = Float32Array.from({ length: 8 }, (_, i) => i);
    assert.deepEqual(Array.from((e.run({ x: { data, shape: [2, 4] } }) as HostArray).data), Array.from(data));
    e.dispose();
  });
});
