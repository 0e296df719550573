/**
 * Every kind of bad input stops the load with a FusionkitError that names the
 * file, the line and the field, and says what to do, unless skipBadRows is
 * set, in which case the row is dropped and listed in `skipped`.
 */
import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { FusionkitError } from "../../src/errors.ts";
import { inspectDataset } from "../../src/data/inspect.ts";
import { loadDataset } from "../../src/data/load.ts";
import { sineWav, solidPng, splitRows, writeDataset } from "../../bench/fixtures/datasetFiles.ts";

const config = {
  task: "classification",
  label: "label",
  split: { field: "split" },
  modalities: [
    { name: "features", type: "vector", field: "v", length: 2 },
    { name: "photo", type: "image", field: "photo", size: 4 },
    { name: "clip", type: "audio", field: "clip", sampleRate: 8000, nMels: 8, frames: 4, fftSize: 256 },
    { name: "caption", type: "text", field: "caption" },
  ],
};

let png: Buffer;
let wav: Uint8Array;
before(async () => {
  png = await solidPng([255, 0, 0, 255]);
  wav = sineWav(440, 8000, 0.2);
});

/** 10 good rows (train/val/test all populated), then `mutate` breaks some. */
function goodRows(): Record<string, unknown>[] {
  return splitRows(10, (i) => ({ label: i % 2 ? "cat" : "dog", v: [i, 1], photo: "img/red.png", clip: "a/tone.wav", caption: `row ${i}` }));
}

function dataset(rows: Record<string, unknown>[], extraFiles: Record<string, string | Uint8Array> = {}, overrides: Record<string, unknown> = {}): string {
  return writeDataset({ config: { ...config, ...overrides }, rows, files: { "img/red.png": png, "a/tone.wav": wav, ...extraFiles } });
}

async function loadError(dir: string): Promise<FusionkitError> {
  try {
    await loadDataset(dir, { cache: false });
  } catch (error) {
    assert.ok(error instanceof FusionkitError, `expected a FusionkitError, got ${(error as Error).stack}`);
    return error;
  }
  assert.fail("expected the load to fail");
}

function assertNames(error: FusionkitError, file: string, line: number, field: string | undefined, reason: RegExp): void {
  assert.equal(error.where?.line, line, error.message);
  assert.equal(error.where?.field, field, error.message);
  assert.ok(error.where?.file?.endsWith(file), error.message);
  assert.match(error.message, new RegExp(`${file.replace(".", "\\.")}:${line}`));
  if (field) assert.match(error.message, new RegExp(`field "${field}"`));
  assert.match(error.message, reason);
  assert.match(error.message, /--skip-bad-rows/, "says how to go on without the row");
}

describe("bad rows stop the load with file, line and field", () => {
  test("the good dataset loads", async () => {
    const ds = await loadDataset(dataset(goodRows()), { cache: false });
    assert.deepEqual([ds.splits.train.n, ds.splits.val.n, ds.splits.test.n], [6, 2, 2]);
  });

  test("a line that is not JSON", async () => {
    const rows = goodRows().map((row) => JSON.stringify(row));
    rows[2] = '{"label": "cat", "v": [1, 2]';
    const dir = writeDataset({ config, rowsText: rows.join("\n"), files: { "img/red.png": png, "a/tone.wav": wav } });
    assertNames(await loadError(dir), "data.jsonl", 3, undefined, /not valid JSON/);
  });

  test("a NaN literal names its field", async () => {
    const rows = goodRows().map((row) => JSON.stringify(row));
    rows[4] = rows[4].replace(/"v":\[[^\]]*\]/, '"v":[1,NaN]');
    const dir = writeDataset({ config, rowsText: rows.join("\n"), files: { "img/red.png": png, "a/tone.wav": wav } });
    assertNames(await loadError(dir), "data.jsonl", 5, "v", /NaN is not a valid value/);
  });

  test("Infinity in a CSV numeric cell", async () => {
    const csv = ["label,split,age,city", "a,train,1,x", "b,train,2,y", "a,val,3,x", "b,test,Infinity,y"].join("\n");
    const dir = writeDataset({
      config: { task: "classification", label: "label", rows: "people.csv", split: { field: "split" }, modalities: [{ name: "facts", type: "tabular", numeric: ["age"], categorical: ["city"] }] },
      files: { "people.csv": csv },
    });
    assertNames(await loadError(dir), "people.csv", 5, "age", /not a finite number/);
  });

  test("a vector of the wrong length", async () => {
    const rows = goodRows();
    rows[3].v = [1, 2, 3];
    assertNames(await loadError(dataset(rows)), "data.jsonl", 4, "v", /length 3, expected 2/);
  });

  test("a missing label", async () => {
    const rows = goodRows();
    delete rows[6].label;
    assertNames(await loadError(dataset(rows)), "data.jsonl", 7, "label", /missing label/);
  });

  test("a class in test that train never has", async () => {
    const rows = goodRows();
    rows[9].label = "zebra"; // row 9 is in test
    assertNames(await loadError(dataset(rows)), "data.jsonl", 10, "label", /"zebra" is in the test split but never in train/);
  });

  test("a truncated PNG", async () => {
    const rows = goodRows();
    rows[1].photo = "img/broken.png";
    const big = await solidPng([0, 0, 255, 128], 64, 64);
    assertNames(await loadError(dataset(rows, { "img/broken.png": big.subarray(0, Math.floor(big.length / 2)) })), "data.jsonl", 2, "photo", /cannot decode image/);
  });

  test("an image file that does not exist", async () => {
    const rows = goodRows();
    rows[5].photo = "img/nowhere.png";
    assertNames(await loadError(dataset(rows)), "data.jsonl", 6, "photo", /image file not found/);
  });

  test("a .wav that is not a WAV", async () => {
    const rows = goodRows();
    rows[8].clip = "a/fake.wav";
    assertNames(await loadError(dataset(rows, { "a/fake.wav": "ID3 this is an mp3 really" })), "data.jsonl", 9, "clip", /cannot decode WAV/);
  });

  test("the first bad file in file order is the one reported, whatever finishes first", async () => {
    const rows = goodRows();
    rows[7].photo = "img/late.png";
    rows[2].clip = "a/early.wav";
    assertNames(await loadError(dataset(rows, { "img/late.png": "x", "a/early.wav": "y" })), "data.jsonl", 3, "clip", /cannot decode WAV/);
  });

  test("a split value that is not train/val/test", async () => {
    const rows = goodRows();
    rows[0].split = "validation";
    assertNames(await loadError(dataset(rows)), "data.jsonl", 1, "split", /"train", "val" or "test"/);
  });

  test("an empty split names dataset.json and the split field", async () => {
    const rows = goodRows().map((row) => ({ ...row, split: row.split === "test" ? "val" : row.split }));
    const error = await loadError(dataset(rows));
    assert.ok(error.where?.file?.endsWith("dataset.json"));
    assert.equal(error.where?.field, "split");
    assert.match(error.message, /the test split is empty/);
  });

  test("a modality field that no row has is reported as a typo", async () => {
    const error = await loadError(dataset(goodRows(), {}, { modalities: [{ name: "caption", type: "text", field: "captoin" }] }));
    assert.ok(error.where?.file?.endsWith("dataset.json"));
    assert.equal(error.where?.field, "captoin");
    assert.match(error.message, /appears in no row/);
  });
});

describe("skipBadRows", () => {
  test("drops each bad row, records file, line, field and reason, and keeps the rest", async () => {
    const rows = goodRows().map((row) => JSON.stringify(row));
    rows[2] = "not json at all";
    rows[3] = rows[3].replace(/"v":\[[^\]]*\]/, '"v":[1,2,3]');
    rows[5] = rows[5].replace("img/red.png", "img/missing.png");
    rows.push(JSON.stringify({ split: "test", label: "unicorn", v: [0, 0], photo: null, clip: null, caption: "new" }));
    const dir = writeDataset({ config, rowsText: rows.join("\n"), files: { "img/red.png": png, "a/tone.wav": wav } });
    const ds = await loadDataset(dir, { cache: false, skipBadRows: true });
    assert.deepEqual(
      ds.skipped.map(({ line, field }) => ({ line, field })),
      [{ line: 3, field: undefined }, { line: 4, field: "v" }, { line: 6, field: "photo" }, { line: 11, field: "label" }],
    );
    assert.ok(ds.skipped.every((row) => row.file.endsWith("data.jsonl") && row.reason.length > 0));
    assert.equal(ds.splits.train.n + ds.splits.val.n + ds.splits.test.n, 10 + 1 - 4);
    const report = inspectDataset(ds);
    assert.match(report, /4 bad rows were skipped/);
    assert.match(report, /data\.jsonl:4 field "v": vector has length 3/);
  });

  test("still fails when skipping leaves a split empty", async () => {
    const rows = goodRows().map((row) => (row.split === "val" ? { ...row, v: "oops" } : row));
    const dir = dataset(rows);
    await assert.rejects(loadDataset(dir, { cache: false, skipBadRows: true }), (error: FusionkitError) => {
      assert.match(error.message, /the val split is empty.*2 rows were skipped as bad/s);
      return true;
    });
  });
});
