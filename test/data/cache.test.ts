/** The prepared-array cache: a second load reads it, any input change misses it, damage is survived. */
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync, truncateSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { before, test } from "node:test";
import { loadDataset } from "../../src/data/load.ts";
import type { PreparedDataset } from "../../src/data/types.ts";
import { solidPng, tempDir, writeDataset } from "../../bench/fixtures/datasetFiles.ts";

const config = {
  task: "classification",
  label: "label",
  split: { seed: 1 },
  modalities: [
    { name: "photo", type: "image", field: "photo", size: 24 },
    { name: "caption", type: "text", field: "caption" },
  ],
};

let dir: string;
before(async () => {
  const files: Record<string, Buffer> = {};
  const rows: Record<string, unknown>[] = [];
  for (let i = 0; i < 150; i++) {
    files[`img/${i}.png`] = await solidPng([i, 255 - i, (i * 7) % 256, 255], 48, 48);
    rows.push({ label: ["warm", "cold"][i % 2], photo: `img/${i}.png`, caption: `colour number ${i}` });
  }
  dir = writeDataset({ config, rows, files });
  // Whole-second mtimes, so a test can put one back exactly (utimes with a Date keeps only milliseconds).
  for (let i = 0; i < 150; i++) utimesSync(join(dir, `img/${i}.png`), 1_700_000_000, 1_700_000_000);
});

function assertSameArrays(a: PreparedDataset, b: PreparedDataset): void {
  for (const name of ["train", "val", "test"] as const) {
    assert.deepEqual(b.splits[name].ids, a.splits[name].ids);
    assert.deepEqual(b.splits[name].labels, a.splits[name].labels);
    for (const modality of Object.keys(a.splits[name].inputs)) {
      assert.deepEqual(b.splits[name].inputs[modality], a.splits[name].inputs[modality]);
      assert.deepEqual(b.splits[name].present[modality], a.splits[name].present[modality]);
    }
    assert.deepEqual(b.splits[name].tokenMasks, a.splits[name].tokenMasks);
  }
  assert.deepEqual(b.modalities, a.modalities);
  assert.deepEqual(b.labelNames, a.labelNames);
}

test("the second load comes from the cache: faster, identical arrays, no file decoded", async () => {
  const cacheDir = tempDir("fusionkit-cache-");
  let start = performance.now();
  const cold = await loadDataset(dir, { cacheDir });
  const coldMs = performance.now() - start;
  start = performance.now();
  const warm = await loadDataset(dir, { cacheDir });
  const warmMs = performance.now() - start;
  assert.equal(warm.cacheKey, cold.cacheKey);
  assertSameArrays(cold, warm);
  assert.ok(warmMs < coldMs, `warm ${warmMs.toFixed(0)} ms should beat cold ${coldMs.toFixed(0)} ms`);
  assert.deepEqual(readdirSync(cacheDir), [`${cold.cacheKey}.fkc`]);

  // Proof that the warm path decodes nothing: garble an image but keep its size and mtime (what the key sees).
  const image = join(dir, "img/0.png");
  const original = readFileSync(image);
  try {
    writeFileSync(image, Buffer.alloc(original.length, 7));
    utimesSync(image, 1_700_000_000, 1_700_000_000);
    const fromCache = await loadDataset(dir, { cacheDir });
    assertSameArrays(cold, fromCache);
    await assert.rejects(loadDataset(dir, { cacheDir, cache: false }), /cannot decode image/);
  } finally {
    writeFileSync(image, original);
    utimesSync(image, 1_700_000_000, 1_700_000_000);
  }
});

test("changing an option, the rows or a referenced file changes the key", async () => {
  const cacheDir = tempDir("fusionkit-cache-");
  const base = await loadDataset(dir, { cacheDir });
  const reseeded = await loadDataset(dir, { cacheDir, seed: 2 });
  assert.notEqual(reseeded.cacheKey, base.cacheKey);
  const image = join(dir, "img/3.png");
  const later = new Date(statSync(image).mtimeMs + 5000);
  utimesSync(image, later, later);
  const touched = await loadDataset(dir, { cacheDir });
  assert.notEqual(touched.cacheKey, base.cacheKey);
  assertSameArrays(base, touched);
});

test("a damaged cache entry is rebuilt, not trusted", async () => {
  const cacheDir = tempDir("fusionkit-cache-");
  const first = await loadDataset(dir, { cacheDir });
  const entry = join(cacheDir, `${first.cacheKey}.fkc`);
  truncateSync(entry, Math.floor(statSync(entry).size / 2));
  const second = await loadDataset(dir, { cacheDir });
  assertSameArrays(first, second);
  assert.ok(statSync(entry).size > 0);
});

test("FUSIONKIT_CACHE sets the default cache directory", async () => {
  const cacheDir = tempDir("fusionkit-env-cache-");
  const previous = process.env.FUSIONKIT_CACHE;
  process.env.FUSIONKIT_CACHE = cacheDir;
  try {
    const ds = await loadDataset(dir, { maxRows: 20 });
    assert.deepEqual(readdirSync(cacheDir), [`${ds.cacheKey}.fkc`]);
  } finally {
    if (previous === undefined) delete process.env.FUSIONKIT_CACHE;
    else process.env.FUSIONKIT_CACHE = previous;
  }
});
