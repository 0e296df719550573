/**
 * writeAvMnist (src/data/avmnist.ts) writes through the one atomic-write
 * helper: a small AV-MNIST directory loads through the ordinary loader with
 * the speaker split, and leaves no temporary file behind.
 */
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { writeAvMnist } from "../../src/data/avmnist.ts";
import { loadDataset } from "../../src/data/load.ts";
import { tempDir } from "../../bench/fixtures/datasetFiles.ts";

test("a 120-row AV-MNIST loads with speakers 0-7 in train, 8-9 in val, 10-11 in test, and no temporary file is left", async () => {
  const root = tempDir("fusionkit-avmnist-");
  const dir = await writeAvMnist(join(root, "avmnist"), { rows: 120 });
  const dataset = await loadDataset(dir, { cacheDir: join(root, "cache") });
  // row i: digit i % 10, speaker floor(i / 10) % 12
  assert.deepEqual([dataset.splits.train.n, dataset.splits.val.n, dataset.splits.test.n], [80, 20, 20]);
  assert.deepEqual(dataset.modalities.map((m) => [m.name, m.type]), [["image", "image"], ["audio", "audio"]]);
  assert.deepEqual(dataset.labelNames, ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]);
  const files = ["", "img", "wav"].flatMap((sub) => readdirSync(join(dir, sub)));
  assert.deepEqual(files.filter((name) => name.endsWith(".tmp")), []);
  assert.equal(files.filter((name) => name.endsWith(".png")).length, 120);
  assert.equal(files.filter((name) => name.endsWith(".wav")).length, 120);
});
