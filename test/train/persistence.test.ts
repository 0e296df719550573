import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startEngine } from "../../src/engine/backend.ts";
import { decodeSafetensors, encodeSafetensors } from "../../src/engine/checkpoint.ts";
import { FusionkitError } from "../../src/errors.ts";
import { predict } from "../../src/train/predict.ts";
import { lowerTrainedModel } from "../../src/export/exportModel.ts";
import { verifyAgainstEngine } from "../../src/export/verify.ts";
import { loadModel, saveModel } from "../../src/train/persistence.ts";
import { trainModel, type TrainedModel } from "../../src/train/trainer.ts";
import { makeDataset } from "../../bench/fixtures/synthetic.ts";
import type { PreparedDataset } from "../../src/data/types.ts";

before(startEngine);

let dir: string;
let ds: PreparedDataset;
let trained: TrainedModel;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "fusionkit-persistence-"));
  ds = makeDataset({
    labelNames: ["a", "b", "c"],
    modalities: [
      { name: "v", type: "vector", shape: [4] },
      { name: "words", type: "text", shape: [5], vocabSize: 9, vocabulary: ["<pad>", "<unk>", "x", "y", "z", "p", "q", "r", "s"] },
      { name: "t", type: "tabular", shape: [2], numericColumns: ["n"], categoricalColumns: ["c"], categoricalCardinalities: [3] },
    ],
    sizes: { train: 96, val: 32, test: 40 },
    seed: 3,
    row: (rng) => ({
      inputs: { v: [rng.normal(), rng.normal(), rng.normal(), rng.normal()], words: [2 + rng.int(7), 2 + rng.int(7), 0, 0, 0], t: [rng.normal(), rng.int(3)] },
      tokenMasks: { words: [1, 1, 0, 0, 0] },
      present: { v: 1, words: rng.uniform() < 0.8 ? 1 : 0, t: 1 },
      label: rng.int(3),
    }),
  });
  trained = await trainModel(ds, { method: "early", seed: 3, epochs: 2, encoderDim: 8, methodConfig: { projectDim: 8, hidden: [8] } });
  saveModel(dir, trained, ds);
});

function freshCopy(name: string): string {
  const copy = join(dir, name);
  saveModel(copy, trained, ds);
  return copy;
}

/** A copy whose weights file has no model fingerprint (as saved before it existed): the structural checks still apply. */
function unfingerprintedCopy(name: string): string {
  const copy = freshCopy(name);
  const file = join(copy, "model.safetensors");
  const { tensors } = decodeSafetensors(readFileSync(file), file);
  writeFileSync(file, encodeSafetensors([...tensors.entries()]));
  return copy;
}

describe("model checkpoints", () => {
  test("a saved and reloaded model gives bit-identical predictions", () => {
    const loaded = loadModel(dir);
    assert.equal(loaded.spec.method.name, "early");
    assert.deepEqual(loaded.spec.methodConfig, trained.spec.methodConfig);
    assert.equal(loaded.paramCount, trained.paramCount);
    const before = predict(trained, ds.splits.test);
    const after = predict(loaded, ds.splits.test);
    assert.deepEqual(after.logits, before.logits);
    assert.deepEqual(after.probs, before.probs);
  });

  test("a model trained with unimodal auxiliary heads saves them, records their weight and reloads to bit-identical predictions", async () => {
    const withHeads = await trainModel(ds, { method: "early", seed: 4, epochs: 2, encoderDim: 8, methodConfig: { projectDim: 8, hidden: [8] }, unimodalAuxWeight: 0.5 });
    assert.deepEqual(Object.keys(withHeads.params.unimodalHeads ?? {}), ["v", "words", "t"]);
    const copy = join(dir, "aux");
    saveModel(copy, withHeads, ds);
    assert.equal(JSON.parse(readFileSync(join(copy, "config.json"), "utf8")).unimodalAuxWeight, 0.5);
    const loaded = loadModel(copy);
    assert.equal(loaded.spec.unimodalAuxWeight, 0.5);
    assert.deepEqual(predict(loaded, ds.splits.test).logits, predict(withHeads, ds.splits.test).logits);
    // the exported graph predicts as the engine does (the training-only heads are not in its way)
    const verification = await verifyAgainstEngine(loaded, lowerTrainedModel(loaded).bytes, "probabilities");
    assert.ok(verification.maxError <= verification.tolerance, `ONNX vs jax-js max error ${verification.maxError}`);
  });

  test("config.json records the method, modality specs with vocabularies, labels and the training history", () => {
    const config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
    assert.equal(config.method, "early");
    assert.deepEqual(config.labelNames, ["a", "b", "c"]);
    assert.deepEqual(config.modalities.map((m: { name: string }) => m.name), ["v", "words", "t"]);
    assert.equal(config.modalities[1].vocabulary.length, 9);
    assert.equal(config.training.history.length, trained.history.length);
  });

  test("a truncated weights file is refused with a message naming the file", () => {
    const copy = freshCopy("truncated");
    const file = join(copy, "model.safetensors");
    const bytes = readFileSync(file);
    writeFileSync(file, bytes.subarray(0, bytes.length - 100));
    assert.throws(() => loadModel(copy), (e: unknown) => e instanceof FusionkitError && /model\.safetensors/.test(e.message) && /truncated/.test(e.message));
  });

  test("a tampered weight is refused by the checksum", () => {
    const copy = freshCopy("tampered");
    const file = join(copy, "model.safetensors");
    const bytes = readFileSync(file);
    bytes[bytes.length - 5] ^= 0x40; // flip a bit inside the last tensor's data
    writeFileSync(file, bytes);
    assert.throws(() => loadModel(copy), (e: unknown) => e instanceof FusionkitError && /checksum mismatch/.test(e.message));
  });

  test("an edited config.json is refused by the model fingerprint, naming the field", () => {
    const copy = freshCopy("edited");
    const configFile = join(copy, "config.json");
    const config = JSON.parse(readFileSync(configFile, "utf8"));
    config.encoderDim = 16;
    writeFileSync(configFile, JSON.stringify(config));
    assert.throws(() => loadModel(copy), (e: unknown) => e instanceof FusionkitError && e.message.startsWith(`${configFile}: does not match model.safetensors (field "encoderDim" changed since the model was saved;`));
    // the same content in another layout (key order, indentation) is the same config
    config.encoderDim = trained.spec.encoderDim;
    writeFileSync(configFile, JSON.stringify(Object.fromEntries(Object.entries(config).reverse()), null, 1));
    assert.equal(loadModel(copy).fingerprint, loadModel(dir).fingerprint);
  });

  test("weights that do not belong to the config are refused, naming the parameter", () => {
    const copy = unfingerprintedCopy("mismatched");
    const configFile = join(copy, "config.json");
    const config = JSON.parse(readFileSync(configFile, "utf8"));
    config.encoderDim = 16;
    writeFileSync(configFile, JSON.stringify(config));
    assert.throws(() => loadModel(copy), (e: unknown) => e instanceof FusionkitError && /parameter "encoders\.v\.projection\.w" has shape/.test(e.message));
  });

  test("the text encoder is recorded and reloads; an unknown kind and a version-2 file are refused", async () => {
    assert.equal(JSON.parse(readFileSync(join(dir, "config.json"), "utf8")).textEncoder, "bag");
    const ordered = await trainModel(ds, { method: "early", seed: 3, epochs: 1, encoderDim: 8, methodConfig: { projectDim: 8, hidden: [8] }, textEncoder: "ordered" });
    const copy = join(dir, "ordered-text");
    saveModel(copy, ordered, ds);
    const loaded = loadModel(copy);
    assert.equal(loaded.model.spec.textEncoder, "ordered");
    assert.deepEqual(Array.from(predict(loaded, ds.splits.test).probs), Array.from(predict(ordered, ds.splits.test).probs));
    const file = join(copy, "model.safetensors");
    writeFileSync(file, encodeSafetensors([...decodeSafetensors(readFileSync(file), file).tensors.entries()]));
    const configFile = join(copy, "config.json");
    const config = JSON.parse(readFileSync(configFile, "utf8"));
    config.textEncoder = "bigram";
    writeFileSync(configFile, JSON.stringify(config));
    assert.throws(() => loadModel(copy), (e: unknown) => e instanceof FusionkitError && /unknown text encoder "bigram"/.test(e.message) && /bag, ordered/.test(e.message));
    // a model saved before version 3 read unknown and repeated words differently: refused, not silently changed
    delete config.textEncoder;
    config.version = 2;
    writeFileSync(configFile, JSON.stringify(config));
    assert.throws(() => loadModel(copy), (e: unknown) => e instanceof FusionkitError && /version 2 is not supported/.test(e.message) && /retrain/.test(e.message));
  });

  test("a config with an unknown method is refused with the valid names", () => {
    const copy = unfingerprintedCopy("unknown-method");
    const configFile = join(copy, "config.json");
    const config = JSON.parse(readFileSync(configFile, "utf8"));
    config.method = "telepathy";
    writeFileSync(configFile, JSON.stringify(config));
    assert.throws(() => loadModel(copy), (e: unknown) => e instanceof FusionkitError && /unknown fusion method "telepathy"/.test(e.message) && /early/.test(e.message));
  });

  test("cleanup", () => rmSync(dir, { recursive: true, force: true }));
});
