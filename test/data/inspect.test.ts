/** The inspect report counts rows, classes and missing values, and warns about what would mislead training. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { inspectDataset, runDataInspect, summariseDataset } from "../../src/data/inspect.ts";
import { loadDataset } from "../../src/data/load.ts";
import { writeDataset } from "../../bench/fixtures/datasetFiles.ts";

const config = {
  task: "classification",
  label: "label",
  split: { field: "split" },
  modalities: [
    { name: "facts", type: "tabular", numeric: ["height", "version"], categorical: ["colour"] },
    { name: "caption", type: "text", field: "caption" },
  ],
};

/** train: 30 "common" + 5 "rare" (6:1), val 10 rows, test 25 rows; "version" is 1 in every train row. */
function rows(): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  const add = (split: string, label: string, i: number) =>
    out.push({ split, label, height: i % 7, version: split === "train" ? 1 : i, colour: i % 3 ? "red" : null, caption: i % 4 ? `item ${i}` : null });
  for (let i = 0; i < 30; i++) add("train", "common", i);
  for (let i = 0; i < 5; i++) add("train", "rare", i);
  for (let i = 0; i < 10; i++) add("val", i % 2 ? "common" : "rare", i);
  for (let i = 0; i < 25; i++) add("test", i % 2 ? "common" : "rare", i);
  return out;
}

test("counts per split and class, and missing values per modality and column", async () => {
  const summary = summariseDataset(await loadDataset(writeDataset({ config, rows: rows() }), { cache: false }));
  assert.deepEqual(summary.rows, { train: 35, val: 10, test: 25 });
  assert.deepEqual(summary.perLabel, { common: { train: 30, val: 5, test: 12 }, rare: { train: 5, val: 5, test: 13 } });
  // caption null when i % 4 == 0: train i = 0..29 -> 8, i = 0..4 -> 2; val 0..9 -> 3; test 0..24 -> 7
  assert.deepEqual(summary.modalities[1].missing, { train: 10, val: 3, test: 7 });
  // colour null when i % 3 == 0: train 10 + 2, val 4, test 9
  assert.deepEqual(summary.modalities[0].missingCells!.colour, { train: 12, val: 4, test: 9 });
});

test("warns about imbalance over 5:1, a split under 20 rows and a constant column", async () => {
  const ds = await loadDataset(writeDataset({ config, rows: rows() }), { cache: false });
  const { warnings } = summariseDataset(ds);
  assert.equal(warnings.length, 3, warnings.join("\n"));
  assert.match(warnings[0], /class imbalance 6\.0:1 in train \("common" 30 rows vs "rare" 5\)/);
  assert.match(warnings[1], /the val split has only 10 rows/);
  assert.match(warnings[2], /modality "facts": constant in train.*: version$/);
  const text = inspectDataset(ds);
  assert.match(text, /^rows\s+35\s+10\s+25\s+70$/m);
  assert.match(text, /facts \(tabular\) shape \[3\]/);
});

test("runDataInspect loads by directory or name and returns the report", async () => {
  const text = await runDataInspect(writeDataset({ config, rows: rows() }), { cache: false });
  assert.match(text, /^dataset fusionkit-data-\w+: classification, label "label"/);
});
