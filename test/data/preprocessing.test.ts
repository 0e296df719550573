/**
 * Preprocessing: fitted on train only (no leak from val/test), missing
 * modalities zero-filled with present = 0, and each transform checked against
 * a number worked out by hand.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { hzToMel, LogMelExtractor, melCentres, melFilterbank, melToHz } from "../../src/data/audio.ts";
import { decodeImage } from "../../src/data/image.ts";
import { loadDataset } from "../../src/data/load.ts";
import { parseNpy } from "../../src/data/npy.ts";
import { tokenise } from "../../src/data/text.ts";
import type { PreparedDataset } from "../../src/data/types.ts";
import { sineWav, writeDataset } from "../../bench/fixtures/datasetFiles.ts";
import { join } from "node:path";
import { writeFileSync } from "node:fs";
import sharp from "sharp";

const leakConfig = {
  task: "classification",
  label: "label",
  split: { field: "split" },
  modalities: [
    { name: "caption", type: "text", field: "caption", maxTokens: 4 },
    { name: "facts", type: "tabular", numeric: ["age"], categorical: ["city"] },
    { name: "track", type: "sequence", field: "track", maxLength: 3, dim: 1 },
  ],
};

const leakRows = [
  { split: "train", label: "a", caption: "red cat", age: 1, city: "Oslo", track: [[1], [3]] },
  { split: "train", label: "b", caption: "blue dog", age: 2, city: "Rome", track: [[5]] },
  { split: "train", label: "a", caption: "red dog", age: 3, city: "Oslo", track: [[1], [1], [1], [99]] },
  { split: "val", label: "b", caption: "blue cat", age: 2, city: "Rome", track: [[2]] },
  { split: "test", label: "a", caption: "zebra cat", age: 1000, city: "Atlantis", track: [[500]] },
];

async function loadLeakDataset(): Promise<PreparedDataset> {
  return loadDataset(writeDataset({ config: leakConfig, rows: leakRows }), { cache: false });
}

describe("statistics and vocabularies come from train only", () => {
  test("a word only in test is unknown (id 1) and not in the vocabulary", async () => {
    const ds = await loadLeakDataset();
    const caption = ds.modalities.find((m) => m.name === "caption")!;
    assert.deepEqual(caption.vocabulary, ["<pad>", "<unk>", "dog", "red", "blue", "cat"]);
    assert.ok(!caption.vocabulary!.includes("zebra"));
    // test row: "zebra cat" -> [unk, cat, pad, pad]
    assert.deepEqual([...ds.splits.test.inputs.caption], [1, 5, 0, 0]);
    assert.deepEqual([...ds.splits.test.tokenMasks.caption], [1, 1, 0, 0]);
  });

  test("numeric mean/std ignore the test value; a test-only category gets code 0", async () => {
    const ds = await loadLeakDataset();
    const facts = ds.modalities.find((m) => m.name === "facts")!;
    const std = Math.sqrt(2 / 3); // population std of 1, 2, 3
    assert.deepEqual(facts.preprocessing!.means, [2]);
    assert.ok(Math.abs((facts.preprocessing!.stds as number[])[0] - std) < 1e-12);
    assert.deepEqual(facts.categoricalCardinalities, [3]); // unknown + Oslo + Rome
    const [age, city] = ds.splits.test.inputs.facts;
    assert.ok(Math.abs(age - (1000 - 2) / std) < 1e-2);
    assert.equal(city, 0);
    assert.deepEqual(facts.unseenCells!.test, [0, 1]);
    assert.deepEqual([...ds.splits.train.inputs.facts].filter((_, i) => i % 2 === 1), [1, 2, 1]); // Oslo=1, Rome=2
  });

  test("sequence standardisation uses real train steps only, cut at maxLength", async () => {
    const ds = await loadLeakDataset();
    const track = ds.modalities.find((m) => m.name === "track")!;
    // train real steps: 1, 3 | 5 | 1, 1, 1 (99 is past maxLength 3) -> mean 2, population std sqrt(14/6)
    assert.deepEqual(track.preprocessing!.means, [2]);
    const std = Math.sqrt((1 + 1 + 9 + 1 + 1 + 1) / 6);
    assert.ok(Math.abs((track.preprocessing!.stds as number[])[0] - std) < 1e-12);
    assert.deepEqual([...ds.splits.train.tokenMasks.track], [1, 1, 0, 1, 0, 0, 1, 1, 1]);
    assert.ok(Math.abs(ds.splits.test.inputs.track[0] - (500 - 2) / std) < 1e-3);
  });
});

describe("missing values", () => {
  test("a missing modality is zero-filled with present = 0; a missing cell is imputed with the train mean", async () => {
    const rows = [
      { split: "train", label: "a", caption: "red cat", age: 1, city: "Oslo", track: [[1]] },
      { split: "train", label: "b", caption: null, age: 3, city: "Rome", track: [] },
      { split: "train", label: "a", caption: "...", age: null, city: null, track: null },
      { split: "val", label: "b", caption: "cat", age: null, city: "Rome", track: [[2]] },
      { split: "test", label: "a", age: 5, track: [[3]] },
    ];
    const ds = await loadDataset(writeDataset({ config: leakConfig, rows }), { cache: false });
    const { train, val } = ds.splits;
    // row 1 has no caption, row 2's caption has no word: both missing; row 2's tabular cells are all null: missing too.
    assert.deepEqual([...train.present.caption], [1, 0, 0]);
    assert.deepEqual([...train.present.facts], [1, 1, 0]);
    assert.deepEqual([...train.present.track], [1, 0, 0]);
    assert.deepEqual([...train.inputs.caption.subarray(4, 12)], new Array(8).fill(0));
    assert.deepEqual([...train.tokenMasks.caption.subarray(4, 12)], new Array(8).fill(0));
    // train ages 1 and 3: mean 2, std 1. The val row's null age is imputed with 2 -> standardised 0.
    assert.deepEqual([...val.inputs.facts], [0, 2]);
    assert.deepEqual(ds.modalities[1].missingCells, { train: [0, 0], val: [1, 0], test: [0, 1] });
  });
});

describe("transforms against hand-worked values", () => {
  test("tokenising keeps words of any script whole and lowercases", () => {
    assert.deepEqual(tokenise("Grüße, naïve CAFÉ! 東京 नमस्ते 42x—done", true), ["grüße", "naïve", "café", "東京", "नमस्ते", "42x", "done"]);
    // "é" as e + combining accent is the same token as the precomposed "é"
    assert.deepEqual(tokenise("cafe\u0301", true), tokenise("café", true));
    assert.deepEqual(tokenise("Keep Case", false), ["Keep", "Case"]);
  });

  test("transparency is flattened onto white: alpha a over white gives c*a + 255*(1-a)", async () => {
    const dir = writeDataset({});
    const path = join(dir, "pixels.png");
    // red opaque, transparent black, blue at alpha 51/255 = 0.2, grey opaque
    const pixels = Buffer.from([255, 0, 0, 255, 0, 0, 0, 0, 0, 0, 255, 51, 128, 128, 128, 255]);
    writeFileSync(path, await sharp(pixels, { raw: { width: 2, height: 2, channels: 4 } }).png().toBuffer());
    const image = await decodeImage(path, { size: 2, channels: 3 });
    const expected = [1, 0, 0, 1, 1, 1, 0.8, 0.8, 1, 128 / 255, 128 / 255, 128 / 255];
    image.forEach((value, i) => assert.ok(Math.abs(value - expected[i]) <= 1.5 / 255, `channel ${i}: ${value} vs ${expected[i]}`));
  });

  test("mel scale round-trips and the triangular filters sum to 1 between the first and last centre", () => {
    assert.ok(Math.abs(hzToMel(700) - 2595 * Math.log10(2)) < 1e-9);
    assert.ok(Math.abs(melToHz(hzToMel(1234.5)) - 1234.5) < 1e-9);
    const sampleRate = 16000;
    const fftSize = 512;
    const filters = melFilterbank(sampleRate, 26, fftSize);
    const centres = melCentres(sampleRate, 26);
    for (let k = 0; k <= fftSize / 2; k++) {
      const hz = (k * sampleRate) / fftSize;
      if (hz < centres[0] || hz > centres[25]) continue;
      const sum = filters.reduce((total, filter) => total + filter[k], 0);
      assert.ok(Math.abs(sum - 1) < 1e-9, `bin ${k} (${hz} Hz): sum ${sum}`);
    }
  });

  test("a pure tone peaks in the mel band whose centre is nearest its frequency", () => {
    const sampleRate = 8000;
    const nMels = 20;
    const extractor = new LogMelExtractor({ sampleRate, nMels, fftSize: 512, hopLength: 80, frames: 5 });
    const centres = melCentres(sampleRate, nMels);
    for (const frequency of [300, 1000, 2500]) {
      const n = 2000;
      const samples = Float64Array.from({ length: n }, (_, i) => Math.sin((2 * Math.PI * frequency * i) / sampleRate));
      const { values, realFrames } = extractor.extract(samples);
      assert.equal(realFrames, 5);
      const frame = values.subarray(0, nMels);
      const peak = frame.indexOf(Math.max(...frame));
      const nearest = centres.reduce((best, centre, m) => (Math.abs(centre - frequency) < Math.abs(centres[best] - frequency) ? m : best), 0);
      assert.ok(Math.abs(peak - nearest) <= 1, `${frequency} Hz peaked in band ${peak}, nearest centre is band ${nearest}`);
    }
  });

  test("audio frames: a short clip is padded and masked; train frames standardise to mean 0", async () => {
    // 400 samples, fft 256, hop 80 -> 1 + ceil((400 - 256) / 80) = 3 real frames
    const short = sineWav(440, 8000, 0.05);
    const long = sineWav(880, 8000, 0.5);
    const config = { task: "classification", label: "label", split: { field: "split" }, modalities: [{ name: "clip", type: "audio", field: "clip", sampleRate: 8000, nMels: 10, frames: 6, fftSize: 256, hopLength: 80 }] };
    const rows = [
      { split: "train", label: "a", clip: "short.wav" },
      { split: "train", label: "b", clip: "long.wav" },
      { split: "val", label: "a", clip: "short.wav" },
      { split: "test", label: "b", clip: "long.wav" },
    ];
    const ds = await loadDataset(writeDataset({ config, rows, files: { "short.wav": short, "long.wav": long } }), { cache: false });
    const { train } = ds.splits;
    assert.deepEqual([...train.tokenMasks.clip], [1, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1, 1]);
    for (let m = 0; m < 10; m++) {
      let sum = 0;
      for (let t = 0; t < 12; t++) if (train.tokenMasks.clip[t]) sum += train.inputs.clip[t * 10 + m];
      assert.ok(Math.abs(sum / 9) < 1e-4, `band ${m} train mean ${sum / 9}`);
    }
    assert.deepEqual([...train.inputs.clip.subarray(30, 60)], new Array(30).fill(0), "padding frames stay 0");
  });

  test("a .npy matrix supplies one vector per data row", async () => {
    const header = "{'descr': '<f4', 'fortran_order': False, 'shape': (4, 2), }";
    const padded = header.padEnd(118 - 1, " ") + "\n"; // 10-byte prefix + header = 128
    const prefix = Buffer.concat([Buffer.from([0x93]), Buffer.from("NUMPY"), Buffer.from([1, 0]), Buffer.from(new Uint16Array([padded.length]).buffer), Buffer.from(padded, "latin1")]);
    const data = Buffer.from(new Float32Array([0, 1, 10, 11, 20, 21, 30, 31]).buffer);
    const npy = Buffer.concat([prefix, data]);
    assert.deepEqual(parseNpy(npy).shape, [4, 2]);
    const config = { task: "regression", label: "y", split: { field: "split" }, modalities: [{ name: "embedding", type: "vector", file: "emb.npy" }] };
    const rows = [
      { split: "train", y: 1 },
      { split: "val", y: 2 },
      { split: "train", y: 3 },
      { split: "test", y: 4.5 },
    ];
    const ds = await loadDataset(writeDataset({ config, rows, files: { "emb.npy": npy } }), { cache: false });
    assert.deepEqual([...ds.splits.train.inputs.embedding], [0, 1, 20, 21]);
    assert.deepEqual([...ds.splits.test.inputs.embedding], [30, 31]);
    assert.deepEqual([...ds.splits.test.labels], [4.5]);
    assert.deepEqual(ds.labelNames, []);
  });

  test("multilabel labels are a 0/1 matrix over the train classes; CSV cells split on |", async () => {
    const csv = ["split,tags,note", 'train,cat|outdoor,"a cat, outside"', "train,dog,a dog", "val,dog|outdoor,x", "test,cat,y"].join("\n");
    const config = { task: "multilabel", label: "tags", rows: "rows.csv", split: { field: "split" }, modalities: [{ name: "note", type: "text", field: "note" }] };
    const ds = await loadDataset(writeDataset({ config, files: { "rows.csv": csv } }), { cache: false });
    assert.deepEqual(ds.labelNames, ["cat", "dog", "outdoor"]);
    assert.deepEqual([...ds.splits.train.labels], [1, 0, 1, 0, 1, 0]);
    assert.deepEqual([...ds.splits.val.labels], [0, 1, 1]);
    assert.ok(ds.splits.train.ids[0].endsWith("rows.csv:2"), "rows without an id are named file:line");
  });
});
