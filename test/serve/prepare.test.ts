/** Request rows are encoded exactly as the training data was, on both preparation paths serve can take. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { loadDataset } from "../../src/data/load.ts";
import { readRowsFile } from "../../src/data/rows.ts";
import { datasetModalityConfigs } from "../../src/model/prepareRows.ts";
import { checkFilePaths, prepareRequestRows, RequestError } from "../../src/serve/prepare.ts";
import { modalityFields } from "../../src/serve/rowSchema.ts";
import { writeDataset } from "../../bench/fixtures/datasetFiles.ts";

const config = {
  task: "classification",
  label: "label",
  split: { field: "split" },
  modalities: [
    { name: "embedding", type: "vector", field: "v" },
    { name: "facts", type: "tabular", numeric: ["age", "height"], categorical: ["city"] },
    { name: "caption", type: "text", field: "caption", maxTokens: 4 },
    { name: "track", type: "sequence", field: "track", maxLength: 3, dim: 2 },
  ],
};

test("request rows encode to the prepared arrays, through the data layer's pipelines and through the fallback for older models", async () => {
  const rows = Array.from({ length: 16 }, (_, i) => ({
    id: `r${i}`,
    split: i < 10 ? "train" : i < 13 ? "val" : "test",
    label: i % 2 ? "a" : "b",
    v: i % 5 === 3 ? null : [i, -i / 2],
    age: i % 4 === 1 ? null : 20 + i,
    height: 150 + 3 * i,
    city: ["Oslo", "Rome", null, "Lima"][i % 4],
    caption: i % 6 === 5 ? null : `word${i % 3} other ${i % 2 ? "cat" : "dog"} tail extra`,
    track: i % 3 === 2 ? null : Array.from({ length: 1 + (i % 4) }, (_, t) => [t, i]),
  }));
  const dir = writeDataset({ config, rows });
  const ds = await loadDataset(dir, { cache: false });
  const { rows: raw } = readRowsFile(join(dir, "data.jsonl"), "data.jsonl");
  const testRows = raw.filter((r) => r.values!.split === "test").map((r) => r.values!);
  const expected = ds.splits.test;

  const current = modalityFields({ modalities: ds.modalities });
  // an older model: specs without their dataset.json entry, field names from the checkpoint's modalityConfigs
  const older = modalityFields({ modalities: ds.modalities.map(({ config: _c, ...spec }) => spec), modalityConfigs: datasetModalityConfigs(dir) ?? [] });
  for (const [path, fields] of [["pipelines", current], ["fallback", older]] as const) {
    const data = await prepareRequestRows(testRows, fields, dir);
    for (const spec of ds.modalities) {
      assert.deepEqual(data.inputs[spec.name], expected.inputs[spec.name], `${path}: ${spec.name} inputs`);
      assert.deepEqual(data.present[spec.name], expected.present[spec.name], `${path}: ${spec.name} present`);
      assert.deepEqual(data.tokenMasks[spec.name], expected.tokenMasks[spec.name], `${path}: ${spec.name} token mask`);
    }
  }
});

test("a path outside the root is a request error naming the row and field", async () => {
  const fields = modalityFields({ modalities: [{ name: "photo", type: "image", shape: [2, 2, 3], config: { name: "photo", type: "image", field: "picture" } }] });
  await assert.rejects(
    checkFilePaths([{ picture: null }, { picture: "../../x.png" }], fields, "/tmp"),
    (error: unknown) => error instanceof RequestError && error.field === "rows[1].picture" && /leaves the model directory/.test(error.message),
  );
});
