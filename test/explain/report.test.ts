import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import sharp from "sharp";
import type { ModalitySpec, PreparedDataset } from "../../src/data/types.ts";
import { startEngine } from "../../src/engine/backend.ts";
import { flattenParams, layoutOf, type ParamTree } from "../../src/engine/params.ts";
import { OrtPredictor } from "../../src/export/ortPredictor.ts";
import { getMethod } from "../../src/fusion/registry.ts";
import { HostRng } from "../../src/engine/random.ts";
import { imageDataUri, summariseInput } from "../../src/explain/inputs.ts";
import { explainForReport, headOfSplit, pickSamples } from "../../src/explain/report.ts";
import { earlyFusion } from "../../src/fusion/earlyFusion.ts";
import type { FusionMethod } from "../../src/fusion/types.ts";
import { buildModel } from "../../src/model/model.ts";
import { makeDataset } from "../../bench/fixtures/synthetic.ts";

before(startEngine);

const vocabulary = ["<pad>", "<unk>", "a", "red", "cat", "sits"];
const specs: ModalitySpec[] = [
  { name: "photo", type: "image", shape: [4, 4, 3] },
  { name: "caption", type: "text", shape: [5], vocabSize: vocabulary.length, vocabulary },
  {
    name: "facts",
    type: "tabular",
    shape: [2],
    numericColumns: ["age"],
    categoricalColumns: ["colour"],
    categoricalCardinalities: [3],
    preprocessing: { means: [30], stds: [10], categoryVocabularies: [["<unknown>", "blue", "red"]] },
  },
];

/** Three modalities of three types; the label is random (the tests are about the report's bookkeeping). */
function mixedDataset(): PreparedDataset {
  return makeDataset({
    name: "mixed",
    labelNames: ["left", "right", "middle"],
    modalities: specs,
    sizes: { train: 4, val: 4, test: 40 },
    seed: 8,
    row: (rng) => {
      const length = 1 + rng.int(5);
      const ids = Array.from({ length: 5 }, (_, t) => (t < length ? 1 + rng.int(vocabulary.length - 1) : 0));
      return {
        inputs: { photo: Array.from({ length: 48 }, () => rng.uniform()), caption: ids, facts: [rng.normal(), rng.int(3)] },
        tokenMasks: { caption: ids.map((id) => (id ? 1 : 0)) },
        present: { caption: rng.uniform() < 0.2 ? 0 : 1 },
        label: rng.int(3),
      };
    },
  });
}

describe("inputs summarised for a reader", () => {
  test("an image becomes a PNG data URI that decodes back to the same pixels (nearest-neighbour upscaled)", async () => {
    const values = Float32Array.from({ length: 2 * 3 * 3 }, (_, i) => (i * 37) % 256 / 255);
    const uri = await imageDataUri(values, [2, 3, 3], 6);
    assert.match(uri, /^data:image\/png;base64,/);
    const { data, info } = await sharp(Buffer.from(uri.split(",")[1]!, "base64")).raw().toBuffer({ resolveWithObject: true });
    assert.deepEqual([info.width, info.height, info.channels], [6, 4, 3]);
    for (let y = 0; y < 4; y++)
      for (let x = 0; x < 6; x++)
        for (let c = 0; c < 3; c++) {
          const source = ((Math.floor(y / 2) * 3 + Math.floor(x / 2)) * 3 + c);
          assert.equal(data[(y * 6 + x) * 3 + c], Math.round(values[source]! * 255), `pixel ${x},${y} channel ${c}`);
        }
  });

  test("text is decoded from the vocabulary without padding, tabular cells return to their units and category names", async () => {
    const split = headOfSplit(mixedDataset().splits.test, 1);
    split.inputs.caption!.set([2, 3, 1, 0, 0]);
    split.inputs.facts!.set([1.5, 2]);
    split.present.caption![0] = 1;
    assert.deepEqual(await summariseInput(specs[1]!, split, 0), { type: "text", tokens: ["a", "red", "<unk>"], text: "a red <unk>" });
    assert.deepEqual(await summariseInput(specs[2]!, split, 0), { type: "tabular", numeric: { age: 45 }, categorical: { colour: "red" } });
    split.present.caption![0] = 0;
    assert.deepEqual(await summariseInput(specs[1]!, split, 0), { type: "text", missing: true });
  });
});

describe("explainForReport", () => {
  test("bars are shares summing to 1, classes partition the rows, samples carry inputs and attribution", async () => {
    const dataset = mixedDataset();
    const model = buildModel({ modalities: specs, task: "classification", outDim: 3, method: earlyFusion as unknown as FusionMethod, methodConfig: { projectDim: 8, hidden: [16], dropout: 0 }, encoderDim: 8, dropout: 0 });
    const params = model.init(new HostRng(2));
    const trained = { model, params, layout: layoutOf(params), labelNames: dataset.labelNames, options: { seed: 0, epochs: 0, batchSize: 16, lr: 0, weightDecay: 0, patience: 0 } };
    const report = await explainForReport(trained, dataset, { maxRows: 30, samples: 4 });
    // it must survive JSON (the report embeds it)
    const roundTrip = JSON.parse(JSON.stringify(report));
    assert.deepEqual(roundTrip, report);
    assert.equal(report.rows, 30);
    assert.deepEqual(report.modalities, ["photo", "caption", "facts"]);
    const shareSum = report.bar.reduce((s, b) => s + b.share, 0);
    assert.ok(Math.abs(shareSum - 1) < 1e-5, `shares sum to ${shareSum}`);
    assert.equal(report.perClass.reduce((s, c) => s + c.rows, 0), 30);
    for (const c of report.perClass) assert.ok(Math.abs(c.bar.reduce((s, b) => s + b.share, 0) - 1) < 1e-5);
    assert.equal(report.samples.length, 4);
    const predicted = new Set(report.samples.map((s) => s.prediction));
    assert.equal(predicted.size, Math.min(4, report.perClass.length), "samples cover the predicted classes first");
    for (const sample of report.samples) {
      const phi = Object.values(sample.attribution).reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(phi - (sample.full - sample.empty)) < 1e-5, `efficiency in sample ${sample.id}`);
      assert.match((sample.inputs.photo as { png: string }).png, /^data:image\/png;base64,/);
      assert.ok(dataset.labelNames.includes(sample.label as string));
      if (sample.missing.includes("caption")) assert.deepEqual(sample.inputs.caption, { type: "text", missing: true });
      else assert.ok((sample.inputs.caption as { tokens: string[] }).tokens.every((t) => vocabulary.includes(t) && t !== "<pad>"));
    }
    // efficiency survives averaging: sum of mean phi = mean v(all) - mean v(none)
    const meanGap = report.meanFull - report.meanEmpty;
    const sumMeanPhi = report.bar.reduce((s, b) => s + b.meanPhi, 0);
    assert.ok(Math.abs(meanGap - sumMeanPhi) < 1e-5, `mean efficiency: ${meanGap} vs ${sumMeanPhi}`);
  });

  test("sample rows are the first of each explained class, then the next rows in order", () => {
    assert.deepEqual(pickSamples(Int32Array.from([1, 1, 0, 1, 2, 0]), 4), [0, 1, 2, 4]);
    assert.deepEqual(pickSamples(Int32Array.from([0, 0, 0]), 2), [0, 1]);
  });
});

describe("explainForReport on ONNX Runtime (the bench's path)", () => {
  /** Every number of `a` and `b` within `tol` of each other, everything else equal. */
  function assertClose(a: unknown, b: unknown, tol: number, at = "report"): void {
    if (typeof a === "number" && typeof b === "number") {
      assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${at}: ${a} vs ${b}`);
    } else if (a && b && typeof a === "object" && typeof b === "object") {
      assert.deepEqual(Object.keys(a).sort(), Object.keys(b).sort(), `${at}: keys`);
      for (const k of Object.keys(a)) assertClose((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], tol, `${at}.${k}`);
    } else {
      assert.deepEqual(a, b, at);
    }
  }

  for (const name of ["cross_attention", "gmu"]) {
    test(`${name}: the Shapley passes on an OrtPredictor and the sample rows' views from a jax-js pass over those rows give the all-jax-js report`, async () => {
      const dataset = mixedDataset();
      const method = getMethod(name, specs);
      const model = buildModel({ modalities: specs, task: "classification", outDim: 3, method, methodConfig: method.defaults, encoderDim: 8, dropout: 0 });
      const params = model.init(new HostRng(3));
      const layout = layoutOf(params);
      const trained = { model, params, layout, labelNames: dataset.labelNames, options: { seed: 0, epochs: 0, batchSize: 16, lr: 0, weightDecay: 0, patience: 0 } };
      const reference = await explainForReport(trained, dataset, { maxRows: 30, samples: 4 });
      const passes: number[] = [];
      const onOrt = await explainForReport(trained, dataset, {
        maxRows: 30,
        samples: 4,
        openPredictor: async (split) => {
          const ort = await OrtPredictor.create(model, layout, flattenParams(params).flat, split, 16);
          return { predict: (s) => (passes.push(s.n), ort.predict(s)), dispose: () => ort.dispose() };
        },
      });
      // 2^3 passes over the 30 rows, none on jax-js
      assert.deepEqual(passes, Array(8).fill(30));
      assert.ok(reference.samples.some((s) => s.views.length > 0), "the method shows views for its sample rows");
      assertClose(onOrt, reference, 1e-4);
    });
  }
});
