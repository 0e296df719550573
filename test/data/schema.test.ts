/** dataset.json mistakes become one readable message naming dataset.json and the field path. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { FusionkitError } from "../../src/errors.ts";
import { loadDataset } from "../../src/data/load.ts";
import { parseDatasetConfig } from "../../src/data/schema.ts";
import { writeDataset } from "../../bench/fixtures/datasetFiles.ts";

const valid = { task: "classification", label: "label", modalities: [{ name: "caption", type: "text", field: "caption" }] };

function schemaError(config: unknown): FusionkitError {
  try {
    parseDatasetConfig(typeof config === "string" ? config : JSON.stringify(config), "dataset.json");
  } catch (error) {
    assert.ok(error instanceof FusionkitError);
    return error;
  }
  assert.fail("expected the config to be rejected");
}

test("defaults fill in what the user leaves out", () => {
  const config = parseDatasetConfig(JSON.stringify({ ...valid, modalities: [{ name: "photo", type: "image", field: "p" }, { name: "caption", type: "text", field: "c" }] }), "dataset.json");
  assert.equal(config.rows, "data.jsonl");
  assert.deepEqual(config.split, { seed: 0, fractions: { train: 0.7, val: 0.15, test: 0.15 }, stratify: true });
  assert.deepEqual(config.modalities[0], { name: "photo", type: "image", field: "p", size: 32, channels: 3 });
  assert.deepEqual(config.modalities[1], { name: "caption", type: "text", field: "c", maxTokens: 16, lowercase: true, maxVocab: 5000 });
});

test("a wrong type names the field path", () => {
  const error = schemaError({ ...valid, modalities: [{ name: "photo", type: "image", field: "p", size: "big" }] });
  assert.equal(error.where?.field, "modalities[0].size");
  assert.equal(error.message.split(":")[0], "dataset.json, field \"modalities[0].size\"");
  assert.match(error.message, /expected number, got "big"/);
});

test("a misspelt option is an error, not silently ignored", () => {
  const error = schemaError({ ...valid, modalities: [{ name: "caption", type: "text", field: "c", maxTokns: 8 }] });
  assert.equal(error.where?.field, "modalities[0]");
  assert.match(error.message, /unknown key "maxTokns"/);
});

test("an unknown modality type lists the known ones", () => {
  const error = schemaError({ ...valid, modalities: [{ name: "x", type: "video", field: "x" }] });
  assert.equal(error.where?.field, "modalities[0].type");
  assert.match(error.message, /"vector", "tabular", "text", "image", "audio", "sequence", got "video"/);
});

test("split fractions must sum to 1", () => {
  const error = schemaError({ ...valid, split: { seed: 3, fractions: { train: 0.6, val: 0.1, test: 0.1 } } });
  assert.equal(error.where?.field, "split.fractions");
  assert.match(error.message, /must sum to 1/);
});

test("several problems are listed together, each with its path", () => {
  const error = schemaError({ task: "classify", label: 3, modalities: [] });
  assert.match(error.message, /3 problems/);
  assert.match(error.message, /"task": expected one of "classification", "multilabel", "regression", got "classify"/);
  assert.match(error.message, /"label": expected string, got 3/);
  assert.match(error.message, /"modalities": list at least one modality/);
});

test("broken JSON in dataset.json names the file", () => {
  const error = schemaError('{"task": "classification",');
  assert.match(error.message, /^dataset\.json: is not valid JSON/);
});

test("a vector modality needs field or file, and modality names are unique", () => {
  const error = schemaError({ ...valid, modalities: [{ name: "v", type: "vector" }, { name: "v", type: "text", field: "t" }] });
  assert.match(error.message, /"modalities\[0\]": a vector modality needs "field"/);
  assert.match(error.message, /"modalities\[1\].name": duplicate modality name "v"/);
});

test("loading a directory with a malformed dataset.json fails with the file path", async () => {
  const dir = writeDataset({ config: { ...valid, task: "ranking" }, rows: [{ label: "a", caption: "x" }] });
  await assert.rejects(loadDataset(dir, { cache: false }), (error: FusionkitError) => {
    assert.ok(error.where?.file?.endsWith("dataset.json"));
    assert.equal(error.where?.field, "task");
    return true;
  });
});

test("a directory without dataset.json and an unknown name say what to do", async () => {
  const dir = writeDataset({ rows: [{ label: "a" }] });
  await assert.rejects(loadDataset(dir, { cache: false }), /no dataset\.json in .*docs\/data\.md/);
  await assert.rejects(loadDataset("no-such-dataset-anywhere", { cache: false }), /neither a dataset directory nor a built-in dataset.*emoji, movies/);
});
