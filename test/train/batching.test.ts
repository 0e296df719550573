/**
 * paddedBatch refilling an earlier batch's arrays (src/train/batching.ts `into`):
 * the same values as a freshly allocated batch, in the same arrays, and a short
 * batch after a full one still weighs its padding rows 0.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { paddedBatch } from "../../src/train/batching.ts";
import { imageSpec, tabularSpec, textSpec, tinyDataset } from "../../bench/fixtures/tinyDatasets.ts";

describe("paddedBatch into an earlier batch", () => {
  it("refills the same arrays with what a fresh batch holds, padding included", () => {
    const dataset = tinyDataset([imageSpec, textSpec, tabularSpec]);
    const split = dataset.splits.train;
    const specs = dataset.modalities;
    const full = paddedBatch(split, specs, "classification", 3, [0, 1, 2, 3, 4, 5], 6);
    const arrays = [full.inputs.img!.data, full.tokenMasks.txt!.data, full.present.tab!.data, full.labels.data, full.rowWeight.data];
    const short = paddedBatch(split, specs, "classification", 3, [9, 7], 6, full);
    const fresh = paddedBatch(split, specs, "classification", 3, [9, 7], 6);
    assert.deepEqual(short, fresh);
    assert.deepEqual([short.inputs.img!.data, short.tokenMasks.txt!.data, short.present.tab!.data, short.labels.data, short.rowWeight.data].map((a, i) => a === arrays[i]), [true, true, true, true, true]);
    assert.deepEqual(Array.from(short.rowWeight.data), [1, 1, 0, 0, 0, 0]);
  });
});
