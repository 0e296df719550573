/** Seeded splits: groups never span two splits, classes keep their share, the seed decides. */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { loadDataset } from "../../src/data/load.ts";
import { assignSeededSplit } from "../../src/data/split.ts";
import type { SplitName } from "../../src/data/types.ts";
import { writeDataset } from "../../bench/fixtures/datasetFiles.ts";

/** 60 patients x 1..4 visits each, 3 classes by patient. */
function visits(): Record<string, unknown>[] {
  const rows: Record<string, unknown>[] = [];
  for (let patient = 0; patient < 60; patient++) {
    for (let visit = 0; visit <= patient % 4; visit++) {
      rows.push({ id: `p${patient}v${visit}`, patient: `p${patient}`, label: ["flu", "cold", "fine"][patient % 3], note: `visit ${visit} of patient ${patient}` });
    }
  }
  return rows;
}

const groupedConfig = {
  task: "classification",
  label: "label",
  split: { seed: 7, fractions: { train: 0.6, val: 0.2, test: 0.2 }, groupBy: "patient" },
  keepFields: ["patient"],
  modalities: [{ name: "note", type: "text", field: "note" }],
};

test("a group never spans two splits", async () => {
  const ds = await loadDataset(writeDataset({ config: groupedConfig, rows: visits() }), { cache: false });
  const splitOfPatient = new Map<string, SplitName>();
  for (const name of ["train", "val", "test"] as SplitName[]) {
    for (const patient of ds.splits[name].fields.patient) {
      assert.equal(splitOfPatient.get(patient) ?? name, name, `patient ${patient} is in ${splitOfPatient.get(patient)} and ${name}`);
      splitOfPatient.set(patient, name);
    }
  }
  assert.equal(splitOfPatient.size, 60);
  // stratified by class: each class has 20 patients -> positions (k + 0.5) / 20 give 12 train, 4 val, 4 test
  const patientsIn = (name: SplitName) => [...splitOfPatient.values()].filter((split) => split === name).length;
  assert.deepEqual([patientsIn("train"), patientsIn("val"), patientsIn("test")], [36, 12, 12]);
});

test("each split carries its rows' groups (the bench's significance test resamples whole groups), kept through the cache; none without groupBy", async () => {
  const dir = writeDataset({ config: groupedConfig, rows: visits() });
  const cacheDir = mkdtempSync(join(tmpdir(), "fusionkit-groups-cache-"));
  const first = await loadDataset(dir, { cacheDir });
  const cached = await loadDataset(dir, { cacheDir });
  for (const ds of [first, cached]) {
    for (const name of ["train", "val", "test"] as SplitName[]) assert.deepEqual(ds.splits[name].groups, ds.splits[name].fields.patient);
  }
  const ungrouped = await loadDataset(writeDataset({ config: { ...groupedConfig, split: { seed: 7, fractions: { train: 0.6, val: 0.2, test: 0.2 } } }, rows: visits() }), { cache: false });
  assert.equal(ungrouped.splits.test.groups, undefined);
  rmSync(cacheDir, { recursive: true, force: true });
});

test("the split depends on the seed, not on row order", () => {
  const items = Array.from({ length: 200 }, (_, i) => ({ group: `g${i % 50}`, stratum: `c${i % 2}` }));
  const a = assignSeededSplit(items, { train: 0.7, val: 0.15, test: 0.15 }, 1);
  const reversed = assignSeededSplit([...items].reverse(), { train: 0.7, val: 0.15, test: 0.15 }, 1).reverse();
  const otherSeed = assignSeededSplit(items, { train: 0.7, val: 0.15, test: 0.15 }, 2);
  assert.deepEqual(a, reversed);
  assert.notDeepEqual(a, otherSeed);
  assert.deepEqual(assignSeededSplit(items, { train: 0.7, val: 0.15, test: 0.15 }, 1), a);
});

test("every class with a row has one in train, so val/test never hold a class train lacks", () => {
  const items = [{ group: "only", stratum: "rare" }, ...Array.from({ length: 30 }, (_, i) => ({ group: `g${i}`, stratum: "common" }))];
  for (let seed = 0; seed < 20; seed++) assert.equal(assignSeededSplit(items, { train: 0.5, val: 0.25, test: 0.25 }, seed)[0], "train");
});

test("loadDataset's seed option overrides the seed in dataset.json", async () => {
  const dir = writeDataset({ config: groupedConfig, rows: visits() });
  const seven = await loadDataset(dir, { cache: false });
  const eight = await loadDataset(dir, { cache: false, seed: 8 });
  const sevenAgain = await loadDataset(dir, { cache: false, seed: 7 });
  assert.notDeepEqual(seven.splits.test.ids, eight.splits.test.ids);
  assert.deepEqual(seven.splits.test.ids, sevenAgain.splits.test.ids);
});

test("a row without a group value is an error, since it could leak", async () => {
  const rows = visits();
  delete rows[4].patient;
  await assert.rejects(loadDataset(writeDataset({ config: groupedConfig, rows }), { cache: false }), /data\.jsonl:5, field "patient": missing group value/);
});
