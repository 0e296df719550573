import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { resolveMethodConfig } from "../../src/fusion/config.ts";
import { startEngine } from "../../src/engine/backend.ts";
import { HostRng } from "../../src/engine/random.ts";
import { FusionkitError } from "../../src/errors.ts";
import { crossAttentionFusion, intermediateMethods, type CrossAttentionConfig } from "../../src/fusion/intermediateFusion.ts";
import { assertFinite, checkMethodGradient, dimsOf, hostModality, maxAbsDiff, runMethod, trainOnXor } from "./methodHarness.ts";

before(startEngine);

const method = crossAttentionFusion;
const config = (overrides: Partial<CrossAttentionConfig> = {}): CrossAttentionConfig => ({ ...method.defaults, dim: 8, heads: 2, ...overrides });

// B = 2 rows; "text" has 3 tokens (row 1 padded after 2), "image" 2 tokens; row 1 lacks the image.
const text = () => hostModality("text", 2, 3, 5, 1, { mask: [1, 1, 1, 1, 1, 0] });
const image = () => hostModality("image", 2, 2, 6, 2, { present: [1, 0] });

describe("cross_attention: shapes and attention maps", () => {
  test("fused is [B, dim] and each modality's map covers the other's tokens", () => {
    const mods = [text(), image()];
    const cfg = config({ layers: 2 });
    const out = runMethod(method, method.init(new HostRng(1), dimsOf(mods), 2, cfg), mods, cfg);
    assert.deepEqual(out.fused.shape, [2, method.fusedDim!(dimsOf(mods), cfg)]);
    assert.deepEqual(out.fused.shape, [2, 8]);
    assert.deepEqual(Object.keys(out.explain).sort(), [
      "cross_attention/layer1/image<-text",
      "cross_attention/layer1/text<-image",
      "cross_attention/layer2/image<-text",
      "cross_attention/layer2/text<-image",
    ]);
    assert.deepEqual(out.explain["cross_attention/layer1/text<-image"]!.shape, [2, 3, 2]);
    assert.deepEqual(out.explain["cross_attention/layer1/image<-text"]!.shape, [2, 2, 3]);
  });

  test("with M = 3 each modality attends to the other two concatenated; weights sum to 1 over real keys only", () => {
    const audio = hostModality("audio", 2, 4, 3, 3, { mask: [1, 1, 0, 0, 1, 1, 1, 1] });
    const mods = [text(), image(), audio];
    const cfg = config();
    const out = runMethod(method, method.init(new HostRng(2), dimsOf(mods), 2, cfg), mods, cfg);
    const w = out.explain["cross_attention/layer1/text<-image+audio"]!;
    assert.deepEqual(w.shape, [2, 3, 6]);
    // keys: image (2 tokens) then audio (4). Row 0: all image keys real, audio keys 2,3 padded.
    // Row 1: image missing, audio all real.
    const keyReal = [
      [1, 1, 1, 1, 0, 0],
      [0, 0, 1, 1, 1, 1],
    ];
    for (let r = 0; r < 2; r++) {
      for (let q = 0; q < 3; q++) {
        const row = w.data.slice((r * 3 + q) * 6, (r * 3 + q + 1) * 6);
        assert.ok(Math.abs(row.reduce((s, v) => s + v, 0) - 1) < 1e-5);
        row.forEach((v, k) => {
          if (!keyReal[r]![k]) assert.equal(v, 0, `row ${r} query ${q} key ${k} is masked`);
        });
      }
    }
  });

  test("a context with exactly one real key gets all the attention (softmax over one key = 1)", () => {
    const mods = [text(), hostModality("image", 2, 2, 6, 2, { mask: [0, 1, 1, 0] })];
    const cfg = config();
    const w = runMethod(method, method.init(new HostRng(3), dimsOf(mods), 2, cfg), mods, cfg).explain["cross_attention/layer1/text<-image"]!;
    for (let q = 0; q < 3; q++) {
      assert.ok(Math.abs(w.data[q * 2 + 1]! - 1) < 1e-6 && w.data[q * 2] === 0);
      assert.ok(Math.abs(w.data[6 + q * 2]! - 1) < 1e-6 && w.data[6 + q * 2 + 1] === 0);
    }
  });
});

describe("cross_attention: gradients", () => {
  const mods = [text(), image()];
  const cfg = config({ layers: 2 });
  const params = method.init(new HostRng(4), dimsOf(mods), 2, cfg);
  test("finite differences w.r.t. the text tokens", () => checkMethodGradient(method, params, mods, cfg, 0));
  test("finite differences w.r.t. the image tokens", () => checkMethodGradient(method, params, mods, cfg, 1));
});

describe("cross_attention: masks and missing modalities", () => {
  const cfg = config({ layers: 2 });
  const params = method.init(new HostRng(5), dimsOf([text(), image()]), 2, cfg);

  test("padded tokens and a missing (or dropped) modality's tokens do not change the output; a real token does", () => {
    const base = runMethod(method, params, [text(), image()], cfg).fused.data;
    const t = text();
    t.tokens.fill(50, 5 * 5, 6 * 5); // row 1, token 2: padding
    const im = image();
    im.tokens.fill(-50, 2 * 6, 4 * 6); // row 1: image missing...
    im.droppedAfterEncoding = true; // ...by modality dropout after encoding: its token mask still says "real"
    assert.ok(maxAbsDiff(base, runMethod(method, params, [t, im], cfg).fused.data) < 1e-6);
    const real = text();
    real.tokens[0] = 3; // row 0, token 0: real
    assert.ok(maxAbsDiff(base, runMethod(method, params, [real, image()], cfg).fused.data) > 1e-3);
  });

  test("outputs stay finite when a modality or every modality is missing", () => {
    const none = [hostModality("text", 2, 3, 5, 1, { present: [0, 1] }), hostModality("image", 2, 2, 6, 2, { present: [0, 0] })];
    assertFinite(runMethod(method, params, none, cfg).fused.data, "fused");
  });
});

describe("cross_attention: dropout", () => {
  test("dropout acts only in training, differs between keys, and keeps masked tokens out", () => {
    const cfg = config({ dropout: 0.5 });
    const params = method.init(new HostRng(6), dimsOf([text(), image()]), 2, cfg);
    const evaluation = runMethod(method, params, [text(), image()], cfg).fused.data;
    assert.deepEqual(Array.from(runMethod(method, params, [text(), image()], { ...cfg, dropout: 0 }).fused.data), Array.from(evaluation));
    const trainA = runMethod(method, params, [text(), image()], cfg, 1).fused.data;
    const trainB = runMethod(method, params, [text(), image()], cfg, 2).fused.data;
    assertFinite(trainA, "train-mode output");
    assert.ok(maxAbsDiff(trainA, evaluation) > 1e-3 && maxAbsDiff(trainA, trainB) > 1e-3);
    const t = text();
    t.tokens.fill(50, 5 * 5, 6 * 5);
    assert.deepEqual(Array.from(runMethod(method, params, [t, image()], cfg, 1).fused.data), Array.from(trainA));
  });
});

describe("cross_attention: learning", () => {
  test("learns sign(a0) XOR sign(b0) over 2-token sequences to >= 0.85 test accuracy", () => {
    const result = trainOnXor(method, config({ dim: 16 }), { steps: 500, T: 2 });
    assert.ok(result.accuracy >= 0.85, `test accuracy ${result.accuracy} (final loss ${result.finalLoss})`);
  });
});

describe("cross_attention: config validation", () => {
  const dims = dimsOf([text(), image()]);
  const rejects = (overrides: Partial<CrossAttentionConfig>, pattern: RegExp) =>
    assert.throws(() => resolveMethodConfig(method, config(overrides), dims), (e: Error) => e instanceof FusionkitError && pattern.test(e.message));
  test("layers < 1, heads not dividing dim, a bad dropout and a single modality are rejected with the valid range", () => {
    rejects({ layers: 0 }, /layers must be an integer >= 1, got 0/);
    rejects({ layers: 1.5 }, /layers must be an integer >= 1/);
    rejects({ heads: 3 }, /heads \(3\) must divide dim \(8\); valid heads for dim 8: 1, 2, 4, 8/);
    rejects({ dropout: 1 }, /dropout must be a number in \[0, 1\)/);
    assert.throws(() => resolveMethodConfig(method, config(), dims.slice(0, 1)), /at least 2 modalities/);
  });
  test("the family exports exactly this method", () => {
    assert.deepEqual(intermediateMethods.map((m) => [m.name, m.family]), [["cross_attention", "intermediate"]]);
  });
});
