import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startEngine } from "../../src/engine/backend.ts";
import { loadDataset } from "../../src/data/load.ts";
import { FusionkitError } from "../../src/errors.ts";
import { evaluateAligned } from "../../src/align/evaluation.ts";
import { parseRowFilter } from "../../src/align/filters.ts";
import { resolvePair, trainAlignment } from "../../src/align/trainer.ts";
import { toyPairs } from "./synthetic.ts";

let cacheDir: string;
before(async () => {
  await startEngine();
  cacheDir = mkdtempSync(join(tmpdir(), "fusionkit-align-"));
});
after(() => rmSync(cacheDir, { recursive: true, force: true }));

test("the temperature is clamped at 100 during training when the loss pushes it higher", async () => {
  const options = { pair: ["shape", "caption"], matchField: "concept", batchSize: 32, encoderDim: 16, embedDim: 16, patience: 10 };
  // aligned first, so every positive outscores its negatives and the loss keeps asking for a sharper softmax
  const aligned = await trainAlignment(toyPairs(2, 0.02), { ...options, epochs: 2, lr: 0.01 });
  (aligned.params as unknown as { logitScale: { data: Float32Array } }).logitScale.data[0] = Math.log(98);
  const scales: number[] = [];
  const continued = await trainAlignment(toyPairs(2, 0.02), { ...options, epochs: 10, patience: 20, lr: 0.01, initialParams: aligned.params, onStep: (m) => scales.push(m.logitScale) });
  assert.ok(Math.max(...scales) <= 100 + 1e-3, `max scale ${Math.max(...scales)}`);
  // The loss keeps pushing t up (the scale climbs from its post-jump dip to 100), then the
  // scale sits at exactly exp(ln 100) for the rest of the run: the clamp is holding it, since a
  // freely moving t would not stop at 100.0000 to float precision for dozens of Adam steps.
  const plateau = scales.slice(-20);
  assert.ok(plateau.every((s) => Math.abs(s - 100) < 1e-4), `last scales ${plateau.map((s) => s.toFixed(4)).join(" ")}`);
  assert.ok(Math.min(...scales) < 99, "the scale started below the clamp and was pushed up to it");
  assert.ok(continued.history.length === 10);
});

test("on toy pairs retrieval is near perfect and zero-shot prompts classify the shapes", async () => {
  const dataset = toyPairs(0);
  const aligned = await trainAlignment(dataset, { pair: ["shape", "caption"], matchField: "concept", epochs: 8, batchSize: 32, encoderDim: 16, embedDim: 16, lr: 5e-3 });
  const evaluation = evaluateAligned(aligned, dataset, { templates: ["{}", "a {}"] });
  // distinct captions ("a red circle", "the red circle", ...: up to 24) against 48 vectors, 4 true matches each: chance R@1 = 4/48
  const t2v = evaluation.test["caption->shape"]!;
  assert.ok(t2v.queries > 12 && t2v.queries <= 24 && t2v.candidates === 48, `${t2v.queries} x ${t2v.candidates}`);
  console.log(`toy: caption->shape R@1 ${t2v.recall["1"]} (chance ${t2v.chance["1"]!.toFixed(3)}), zero-shot ${evaluation.zeroShot!.accuracy}`);
  assert.ok(t2v.recall["1"]! >= 0.9, `caption->shape R@1 ${t2v.recall["1"]}`);
  assert.ok(evaluation.zeroShot!.accuracy >= 0.9, `zero-shot accuracy ${evaluation.zeroShot!.accuracy}`);
  assert.deepEqual(evaluation.zeroShot!.unknownWords, { circle: [], square: [], star: [] });
});

test("pairing a modality the dataset lacks is refused, naming the dataset's modalities", () => {
  const dataset = toyPairs(0);
  assert.throws(
    () => resolvePair(dataset, ["shape", "audio"]),
    (e: unknown) => e instanceof FusionkitError && /no modality "audio"/.test(e.message) && /shape \(vector\), caption \(text\)/.test(e.message),
  );
  assert.throws(() => resolvePair(dataset, ["shape"]), /at least two modalities/);
  assert.throws(() => resolvePair(dataset, ["shape", "shape"]), /twice/);
});

/**
 * The emoji run: 2400 generated rows (600 emoji x 2 vendors x 2 languages,
 * sampled across categories), split by emoji so every test emoji is unseen.
 * Test text -> image: each text has 2 true pictures (twitter, google) among
 * the test pictures; chance Recall@10 ~ 1 - (1 - 10/N)^2 with N pictures.
 */
test("emoji: text-to-image Recall@10 on unseen emoji is well above chance", async () => {
  const dataset = await loadDataset("emoji", { maxRows: 2400, cacheDir });
  const aligned = await trainAlignment(dataset, { pair: ["image", "text"], matchField: "emoji", epochs: 10, batchSize: 64, seed: 0 });
  const evaluation = evaluateAligned(aligned, dataset);
  const t2i = evaluation.test["text->image"]!;
  const i2t = evaluation.test["image->text"]!;
  console.log(
    `emoji (${aligned.trainRows} train pairs, ${(aligned.trainMs / 1000).toFixed(1)} s): text->image R@10 ${t2i.recall["10"]!.toFixed(3)} ` +
      `(chance ${t2i.chance["10"]!.toFixed(3)}, ${t2i.queries} queries x ${t2i.candidates} pictures), image->text R@10 ${i2t.recall["10"]!.toFixed(3)} (chance ${i2t.chance["10"]!.toFixed(3)})`,
  );
  assert.ok(t2i.candidates > 100);
  // measured 0.410 with seed 0: 166 text queries x 182 test pictures; chance 10/N = 10/182 = 0.055 for one
  // true picture, 0.119 averaged over the queries with their 2 (twitter + google) true pictures
  assert.ok(t2i.recall["10"]! >= 0.3, `text->image R@10 ${t2i.recall["10"]}`);
  assert.ok(t2i.recall["10"]! >= 2.5 * t2i.chance["10"]!, `R@10 ${t2i.recall["10"]} vs chance ${t2i.chance["10"]}`);
});

test("emoji: a test filter evaluates the other vendor's pictures only", async () => {
  const dataset = await loadDataset("emoji", { maxRows: 400, cacheDir });
  const aligned = await trainAlignment(dataset, { pair: ["image", "text"], matchField: "emoji", epochs: 1, batchSize: 32, trainFilters: [parseRowFilter("vendor=twitter")] });
  assert.ok(aligned.trainRows > 0 && aligned.trainRows < dataset.splits.train.n * 0.6);
  const evaluation = evaluateAligned(aligned, dataset, { testFilters: [parseRowFilter("vendor=google")] });
  assert.deepEqual(evaluation.testFilters, ["vendor=google"]);
  assert.ok(evaluation.inDomain, "a train filter adds the training-domain figures");
  assert.throws(() => evaluateAligned(aligned, dataset, { testFilters: [parseRowFilter("vendor=apple")] }), /no test rows pass the filter vendor=apple/);
});
