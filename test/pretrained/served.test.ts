/**
 * Train on pretrained embeddings, then predict and serve from raw rows: the
 * fusion model learns the task through the frozen tiny encoders, `fusionkit
 * predict` and POST /predict run the encoder + fusion graph on raw text and
 * image paths and agree, the export metadata names the encoders and their
 * identities, and a model whose encoder files changed since training is refused.
 */
import assert from "node:assert/strict";
import { cpSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { runPredict } from "../../src/cli/actions/predict.ts";
import { loadDataset } from "../../src/data/load.ts";
import { closeEncoders } from "../../src/data/pretrained/pipeline.ts";
import type { PreparedDataset } from "../../src/data/types.ts";
import { startEngine } from "../../src/engine/backend.ts";
import { buildServeApp, type ServeApp } from "../../src/serve/server.ts";
import { saveModel } from "../../src/train/persistence.ts";
import { evaluateSplit, trainModel } from "../../src/train/trainer.ts";
import { Predictor } from "../../src/train/predict.ts";
import { flattenParams } from "../../src/engine/params.ts";
import { tempDir } from "../../bench/fixtures/datasetFiles.ts";
import { writePretrainedFixture, type PretrainedFixture } from "./fixture.ts";
import { writeTinyTextModel } from "../../bench/fixtures/tinyModels.ts";
import { words } from "./fixture.ts";

let fx: PretrainedFixture;
let dataset: PreparedDataset;
let modelDir: string;
let testProbs: Float32Array;
let served: ServeApp | undefined;

before(async () => {
  await startEngine();
  fx = await writePretrainedFixture(80);
  dataset = await loadDataset(fx.dataDir, { cacheDir: fx.cacheDir, encoders: { caption: fx.text.dir, photo: { model: fx.image.dir, output: "tokens" } } });
  const trained = await trainModel(dataset, { method: "early", epochs: 25, batchSize: 16, encoderDim: 16, lr: 1e-2, seed: 0 });
  const predictor = new Predictor(trained.model, trained.layout, flattenParams(trained.params).flat, 32);
  try {
    const metrics = evaluateSplit(predictor, dataset.splits.test, dataset);
    assert.ok(metrics.accuracy! >= 0.9, `test accuracy ${metrics.accuracy} on pretrained embeddings`);
    testProbs = predictor.predict(dataset.splits.test).probs;
  } finally {
    predictor.dispose();
  }
  modelDir = join(tempDir("fusionkit-pretrained-served-"), "model");
  mkdirSync(modelDir, { recursive: true });
  saveModel(modelDir, trained, dataset, {});
  cpSync(join(fx.dataDir, "img"), join(modelDir, "img"), { recursive: true });
});

after(async () => {
  await served?.app.close();
  await closeEncoders();
});

describe("pretrained encoders in predict and serve", () => {
  it("serves raw rows through encoder + fusion graph with the same probabilities as fusionkit predict", async () => {
    // the test split's raw rows: predict must give what the prepared test split gave, serve what predict gives
    const test = dataset.splits.test;
    const rows = test.ids.map((id) => {
      const { caption, photo } = fx.rows.find((r) => r.id === id)!;
      return { id, caption, photo };
    });
    const rowsFile = join(modelDir, "rows.jsonl");
    writeFileSync(rowsFile, rows.map((r) => JSON.stringify(r)).join("\n") + "\n");
    const outFile = join(modelDir, "predictions.jsonl");
    await runPredict({ model: modelDir, rows: rowsFile, out: outFile });
    const predicted = readFileSync(outFile, "utf8").trim().split("\n").map((line) => JSON.parse(line) as { id: string; prediction: string; probabilities: Record<string, number> });
    assert.equal(predicted.length, test.n);
    predicted.forEach((p, i) => {
      dataset.labelNames.forEach((label, c) => assert.ok(Math.abs(p.probabilities[label]! - testProbs[i * dataset.labelNames.length + c]!) < 1e-5, `${p.id} ${label}`));
    });

    served = await buildServeApp({ modelDir });
    const response = await served.app.inject({ method: "POST", url: "/predict", payload: { rows } });
    assert.equal(response.statusCode, 200, response.body);
    const body = response.json() as { predictions: { prediction: string; probabilities: Record<string, number> }[] };
    body.predictions.forEach((p, i) => {
      assert.equal(p.prediction, predicted[i]!.prediction);
      for (const [label, prob] of Object.entries(predicted[i]!.probabilities)) assert.ok(Math.abs(p.probabilities[label]! - prob) < 1e-5, `${rows[i]!.id} ${label}: served ${p.probabilities[label]} vs predict ${prob}`);
    });

    const info = (await served.app.inject({ method: "GET", url: "/model" })).json() as { encoders: { modality: string; identity: string; modelType: string }[] };
    const identities = Object.fromEntries(dataset.modalities.map((m) => [m.name, (m.preprocessing as { encoder: { identity: string } }).encoder.identity]));
    assert.deepEqual(
      info.encoders.map((e) => [e.modality, e.modelType, e.identity]),
      [
        ["photo", "vit", identities.photo],
        ["caption", "bert", identities.caption],
      ],
    );
    const metadata = JSON.parse(readFileSync(join(modelDir, "model.onnx.json"), "utf8")) as { encoders: { identity: string }[] };
    assert.equal(metadata.encoders.length, 2);

    // a text value of the wrong type is a 400 naming the row field, as for plain text modalities
    const bad = await served.app.inject({ method: "POST", url: "/predict", payload: { rows: [{ caption: 3, photo: null }] } });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.json().error, /^rows\[0\]\.caption: /);
    // image paths stay inside the model directory
    const outside = await served.app.inject({ method: "POST", url: "/predict", payload: { rows: [{ caption: "a", photo: "../../etc/passwd" }] } });
    assert.equal(outside.statusCode, 400);
  });

  it("refuses to predict with an encoder whose files changed since training", async () => {
    await closeEncoders();
    writeTinyTextModel(fx.text.dir, { words, seed: 99 });
    const rowsFile = join(modelDir, "rows.jsonl");
    await assert.rejects(runPredict({ model: modelDir, rows: rowsFile, out: join(modelDir, "p2.jsonl") }), /tiny-bert: the encoder of modality "caption" is not the one the model was trained with \(changed: onnx\/model\.onnx\); put the original files back, or train again/);
  });
});
