import { before, test } from "node:test";
import assert from "node:assert/strict";
import type { AlignInputs, AlignParamTree } from "../../src/align/alignModel.ts";
import { startEngine } from "../../src/engine/backend.ts";
import { flattenParams } from "../../src/engine/params.ts";
import { HostRng } from "../../src/engine/random.ts";
import { TrainStep } from "../../src/engine/step.ts";
import type { Tensor } from "../../src/engine/tensor.ts";
import { buildAlignModel } from "../../src/align/alignModel.ts";
import { GradCacheStep } from "../../src/align/gradCache.ts";
import { multiModalInfoNCE, pairMask } from "../../src/align/loss.ts";
import { groupIds, pairRows, trainBatch } from "../../src/align/pairs.ts";
import { paddedInputs } from "../../src/train/batching.ts";
import { toyPairs } from "./synthetic.ts";

before(async () => {
  await startEngine();
});

/**
 * One plain-SGD step (lr 1, no momentum, no clipping) moves the parameters by
 * exactly minus the gradient, so equal parameters after the step = equal gradients.
 * The one-graph step sees the 16-row batch at once; GradCache sees it as
 * 4 micro-batches of 4 rows. 14 real rows + 2 padding, and two same-group rows,
 * so padding and the false-negative mask are covered too.
 */
test("GradCache over 4 micro-batches gives the same update as one step over the whole batch", () => {
  const dataset = toyPairs(1);
  const split = dataset.splits.train;
  const specs = dataset.modalities;
  const model = buildAlignModel({ modalities: specs, encoderDim: 8, embedDim: 8, initLogitScale: 10 });
  const { layout, flat } = flattenParams(model.init(new HostRng(0)));
  const sgd = { optimizer: { kind: "sgd" as const, momentum: 0 } };
  const rows = [0, 1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12, 13, 12 + 12];
  const pairs = pairRows(split, specs, "concept");
  assert.equal(pairs.groups[12], pairs.groups[24]); // rows 12 and 24 are the same concept

  const whole = new TrainStep<AlignParamTree, AlignInputs & { pairMask: Tensor; rowWeight: Tensor }>(layout, flat, (p, batch) => {
    const loss = multiModalInfoNCE(model.embed(p, batch), ["shape", "caption"], model.logitScale(p), batch.pairMask, batch.rowWeight);
    return { loss };
  }, sgd);
  const wholeLoss = whole.step(trainBatch(split, specs, pairs, rows, 16), 1, 0).loss!;
  const expected = whole.currentParams();
  whole.dispose();

  const cached = new GradCacheStep(layout, flat, model, sgd);
  const padded = Array.from({ length: 16 }, (_, i) => (i < rows.length ? rows[i]! : rows[0]!));
  const rowWeight = Float32Array.from({ length: 16 }, (_, i) => (i < rows.length ? 1 : 0));
  const groups = groupIds(split, "concept");
  const micro = [0, 1, 2, 3].map((k) => paddedInputs(split, specs, padded.slice(4 * k, 4 * k + 4), 4));
  const metrics = cached.step(micro, rowWeight, pairMask(rowWeight, padded.map((r) => groups[r]!)), 1);
  const actual = cached.currentParams();
  cached.dispose();

  assert.ok(Math.abs(metrics.loss - wholeLoss) < 1e-5, `loss ${metrics.loss} vs ${wholeLoss}`);
  let maxDiff = 0;
  let maxMove = 0;
  for (let i = 0; i < flat.length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(actual[i]! - expected[i]!));
    maxMove = Math.max(maxMove, Math.abs(expected[i]! - flat[i]!));
  }
  assert.ok(maxMove > 1e-2, `the step moved the parameters (max ${maxMove})`);
  assert.ok(maxDiff < 1e-4, `max parameter difference ${maxDiff}`);
  // the temperature got its gradient too (it lives outside the embeddings)
  const t = layout.entries.find((e) => e.name === "logitScale")!.offset;
  assert.ok(Math.abs(actual[t]! - flat[t]!) > 1e-4 && Math.abs(actual[t]! - expected[t]!) < 1e-5);
});
