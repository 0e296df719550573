import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startEngine } from "../../src/engine/backend.ts";
import { concatFeatures, modalityFeatures } from "../../src/baselines/features.ts";
import { fitLinearBaseline, linearBaselineNames, linearMetrics } from "../../src/baselines/linear.ts";
import { getMethod } from "../../src/fusion/registry.ts";
import { makeDataset } from "../../bench/fixtures/synthetic.ts";

before(startEngine);

/** label = 1[a0 + b0 > 0]: each modality alone is a weak linear predictor, together they are an exact one. */
function additive(seed: number) {
  return makeDataset({
    labelNames: ["neg", "pos"],
    modalities: [
      { name: "a", type: "vector", shape: [3] },
      { name: "b", type: "sequence", shape: [4, 2] },
    ],
    sizes: { train: 300, val: 100, test: 200 },
    seed,
    row: (rng) => {
      const a = [rng.normal(), rng.normal(), rng.normal()];
      const level = rng.normal();
      // b's frames: channel 0 is `level` on every real frame (its mean says it), channel 1 noise
      const frames = Array.from({ length: 4 }, () => [level, rng.normal()]).flat();
      return { inputs: { a, b: frames }, tokenMasks: { b: [1, 1, 1, 0] }, label: a[0]! + level > 0 ? 1 : 0 };
    },
  });
}

describe("raw features of the classical baselines", () => {
  test("sequence summary: per-channel mean, std, min, max over the real frames only, then standardised with train statistics", () => {
    const ds = makeDataset({
      labelNames: ["x", "y"],
      modalities: [{ name: "s", type: "sequence", shape: [3, 1] }],
      sizes: { train: 2, val: 1, test: 1 },
      seed: 1,
      row: (rng) => ({ inputs: { s: [1, 3, 100] }, tokenMasks: { s: [1, 1, 0] }, label: rng.int(2) }),
    });
    ds.splits.train.inputs.s!.set([1, 3, 100, 3, 7, 100]);
    const f = modalityFeatures(ds, "s");
    assert.equal(f.dim, 4);
    // raw train rows: [mean 2, std 1, min 1, max 3] and [5, 2, 3, 7]; standardised over the two rows: -1 and +1 each;
    // each row's squared norm is then 4, so the balancing factor is 1/2
    assert.deepEqual(Array.from(f.splits.train), [-0.5, -0.5, -0.5, -0.5, 0.5, 0.5, 0.5, 0.5]);
    assert.equal(f.blocks[0]!.scale, 0.5);
  });

  test("text: TF-IDF with binary term frequency and smooth idf, rows L2-normalised, unknown words left out", () => {
    const ds = makeDataset({
      labelNames: ["x", "y"],
      modalities: [{ name: "t", type: "text", shape: [3], vocabSize: 4 }],
      sizes: { train: 2, val: 1, test: 1 },
      seed: 1,
      row: (rng) => ({ inputs: { t: [2, 3, 0] }, tokenMasks: { t: [1, 1, 0] }, label: rng.int(2) }),
    });
    ds.splits.train.inputs.t!.set([2, 3, 0, 2, 2, 0]);
    const f = modalityFeatures(ds, "t");
    // idf(2) = ln(3/3) + 1 = 1, idf(3) = ln(3/2) + 1; row 0: tf 1/2 each
    const i3 = Math.log(1.5) + 1;
    const norm = Math.hypot(0.5, 0.5 * i3);
    assert.ok(Math.abs(f.splits.train[2]! - 0.5 / norm) < 1e-6);
    assert.ok(Math.abs(f.splits.train[3]! - (0.5 * i3) / norm) < 1e-6);
    assert.deepEqual(Array.from(f.splits.train.subarray(4, 8)), [0, 0, 1, 0]);
    // a test row with an unknown word (1): left out, as sklearn's TfidfVectorizer leaves out words outside
    // its vocabulary, so the known word keeps its full weight (1, not shrunk by an "unknown" column)
    ds.splits.test.inputs.t!.set([2, 1, 1]);
    ds.splits.test.tokenMasks.t!.set([1, 1, 1]);
    assert.deepEqual(Array.from(modalityFeatures(ds, "t").splits.test), [0, 0, 1, 0]);
    // binary term frequency: a repeated word counts once, so [2, 2, 3] reads as [2, 3]
    ds.splits.test.inputs.t!.set([2, 2, 3]);
    const repeated = Array.from(modalityFeatures(ds, "t").splits.test);
    ds.splits.test.inputs.t!.set([2, 3, 0]);
    ds.splits.test.tokenMasks.t!.set([1, 1, 0]);
    assert.deepEqual(repeated, Array.from(modalityFeatures(ds, "t").splits.test));
  });

  test("block balance: every block of linear:concat has mean squared row norm 1 on train, whatever its width", () => {
    const ds = makeDataset({
      labelNames: ["x", "y"],
      modalities: [
        { name: "img", type: "image", shape: [4, 4, 3] },
        { name: "t", type: "text", shape: [4], vocabSize: 9 },
      ],
      sizes: { train: 40, val: 10, test: 10 },
      seed: 5,
      row: (rng) => ({ inputs: { img: Array.from({ length: 48 }, () => rng.normal()), t: [1 + rng.int(8), 1 + rng.int(8), 0, 0] }, tokenMasks: { t: [1, 1, 0, 0] }, label: rng.int(2) }),
    });
    const f = concatFeatures(ds);
    assert.deepEqual(f.blocks.map((b) => [b.name, b.offset, b.dim]), [["img", 0, 48], ["t", 48, 9]]);
    // standardised pixels: 48 unit-variance columns (squared norm ~48) scaled by ~1/sqrt(48); TF-IDF rows already have norm 1
    assert.ok(Math.abs(f.blocks[0]!.scale - 1 / Math.sqrt(48)) < 1e-6, `image scale ${f.blocks[0]!.scale}`);
    assert.ok(Math.abs(f.blocks[1]!.scale - 1) < 1e-6, `text scale ${f.blocks[1]!.scale}`);
    for (const b of f.blocks) {
      let sum = 0;
      for (let r = 0; r < ds.splits.train.n; r++) for (let j = 0; j < b.dim; j++) sum += f.splits.train[r * f.dim + b.offset + j]! ** 2;
      assert.ok(Math.abs(sum / ds.splits.train.n - 1) < 1e-5, `${b.name}: mean squared row norm ${sum / ds.splits.train.n}`);
    }
  });

  test("concat joins the blocks; a missing modality is zeros plus a presence flag", () => {
    const ds = additive(2);
    ds.splits.train.present.a![0] = 0;
    ds.splits.train.inputs.a!.fill(0, 0, 3);
    const f = concatFeatures(ds);
    assert.equal(f.dim, 3 + 8 + 1);
    assert.deepEqual(Array.from(f.splits.train.subarray(0, 3)), [0, 0, 0]);
    assert.equal(f.splits.train[11], 0);
    assert.equal(f.splits.train[12 + 11], 1);
  });
});

describe("linear: baselines", () => {
  test("names: one per modality plus concat, classification only; registered as the linear family", () => {
    const ds = additive(3);
    assert.deepEqual(linearBaselineNames(ds), ["linear:a", "linear:b", "linear:concat"]);
    assert.deepEqual(linearBaselineNames({ ...ds, task: "regression" }), []);
    assert.equal(getMethod("linear:concat", ds.modalities).family, "linear");
    assert.throws(() => getMethod("linear:c", ds.modalities), /names a modality the dataset does not have/);
  });

  test("linear:concat learns the additive rule (>= 0.93) that either modality alone cannot (<= 0.85)", () => {
    const ds = additive(4);
    const acc = (name: string) => linearMetrics(ds, fitLinearBaseline(ds, name, { l2Grid: [1e-4, 1e-2] }).testProbs, ds.splits.test).accuracy!;
    const concat = acc("linear:concat");
    const a = acc("linear:a");
    const b = acc("linear:b");
    assert.ok(concat >= 0.93, `concat ${concat}`);
    assert.ok(a <= 0.85 && b <= 0.85, `a ${a}, b ${b}`);
    assert.ok(a >= 0.6 && b >= 0.6, `each alone is informative: a ${a}, b ${b}`);
  });
});
