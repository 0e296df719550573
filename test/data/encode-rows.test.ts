/** New rows encoded with stored preprocessing come out exactly as training prepared them. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { FusionkitError } from "../../src/errors.ts";
import { encodeRawRows } from "../../src/data/encodeRows.ts";
import { loadDataset } from "../../src/data/load.ts";
import { readRowsFile } from "../../src/data/rows.ts";
import { sineWav, solidPng, writeDataset } from "../../bench/fixtures/datasetFiles.ts";

const config = {
  task: "classification",
  label: "label",
  split: { field: "split" },
  modalities: [
    { name: "embedding", type: "vector", field: "v" },
    { name: "facts", type: "tabular", numeric: ["age"], categorical: ["city"] },
    { name: "caption", type: "text", field: "caption", maxTokens: 5 },
    { name: "photo", type: "image", field: "photo", size: 3 },
    { name: "clip", type: "audio", field: "clip", sampleRate: 8000, nMels: 6, frames: 4, fftSize: 128 },
    { name: "track", type: "sequence", field: "track", maxLength: 3, dim: 2 },
  ],
};

test("encodeRawRows reproduces the prepared arrays of the same rows, for every modality type", async () => {
  const files = {
    "red.png": await solidPng([255, 0, 0, 255], 6, 6),
    "half.png": await solidPng([0, 0, 255, 128], 5, 9),
    "low.wav": sineWav(300, 8000, 0.1),
    "high.wav": sineWav(2000, 16000, 0.3),
  };
  const rows = Array.from({ length: 12 }, (_, i) => ({
    id: `row${i}`,
    split: ["train", "train", "val", "test"][i % 4],
    label: i % 3 ? "x" : "y",
    v: i % 5 ? [i, -i, i / 2] : null,
    age: i % 4 ? i * 1.5 : null,
    city: ["Oslo", "Rome", null][i % 3],
    caption: i % 6 ? `caption number ${i} about ${["cats", "dogs"][i % 2]}` : null,
    photo: i % 7 ? (i % 2 ? "red.png" : "half.png") : null,
    clip: i % 3 ? (i % 2 ? "low.wav" : "high.wav") : null,
    track: i % 4 ? Array.from({ length: i % 5 }, (_, t) => [t, i]) : null,
  }));
  const dir = writeDataset({ config, rows, files });
  const ds = await loadDataset(dir, { cache: false });
  const { rows: raw } = readRowsFile(join(dir, "data.jsonl"), "data.jsonl");
  for (const split of ["train", "val", "test"] as const) {
    const splitRows = raw.filter((row) => row.values!.split === split);
    const { data, skipped } = await encodeRawRows(splitRows, ds.modalities, { baseDir: dir });
    assert.deepEqual(skipped, []);
    const prepared = ds.splits[split];
    assert.deepEqual(data.ids, prepared.ids);
    for (const spec of ds.modalities) {
      assert.deepEqual(data.inputs[spec.name], prepared.inputs[spec.name], `${split} ${spec.name} inputs`);
      assert.deepEqual(data.present[spec.name], prepared.present[spec.name], `${split} ${spec.name} present`);
      assert.deepEqual(data.tokenMasks[spec.name], prepared.tokenMasks[spec.name], `${split} ${spec.name} mask`);
    }
  }
});

test("a bad new row is reported with file, line and field, or skipped", async () => {
  const dir = writeDataset({
    config: { task: "regression", label: "y", split: { field: "split" }, modalities: [{ name: "embedding", type: "vector", field: "v" }] },
    rows: [
      { split: "train", y: 1, v: [1, 2] },
      { split: "val", y: 2, v: [3, 4] },
      { split: "test", y: 3, v: [5, 6] },
    ],
  });
  const ds = await loadDataset(dir, { cache: false });
  const newRows = [
    { file: "new.jsonl", line: 1, index: 0, textual: false, values: { v: [7, 8] } },
    { file: "new.jsonl", line: 2, index: 1, textual: false, values: { v: [7, 8, 9] } },
  ];
  await assert.rejects(encodeRawRows(newRows, ds.modalities, { baseDir: dir }), (error: FusionkitError) => {
    assert.match(error.message, /^new\.jsonl:2, field "v": vector has length 3, expected 2/);
    return true;
  });
  const { data, skipped } = await encodeRawRows(newRows, ds.modalities, { baseDir: dir, skipBadRows: true });
  assert.deepEqual([...data.inputs.embedding], [7, 8]);
  assert.deepEqual(skipped.map((row) => [row.line, row.field]), [[2, "v"]]);
});
