import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { resolveMethodConfig } from "../../src/fusion/config.ts";
import { startEngine } from "../../src/engine/backend.ts";
import { layerNorm, linear, maskedMean } from "../../src/engine/layers.ts";
import type { ParamTree } from "../../src/engine/params.ts";
import { HostRng } from "../../src/engine/random.ts";
import { constant, scoped } from "../../src/engine/tensor.ts";
import { FusionkitError } from "../../src/errors.ts";
import {
  gatedCrossAttention,
  languageModelLayer,
  lastRealToken,
  multimodalTransformer,
  queryIndex,
  sinusoidalPositions,
  transformerMethods,
  type FlamingoConfig,
  type MultConfig,
} from "../../src/fusion/transformerFusion.ts";
import { assertFinite, checkMethodGradient, dimsOf, hostModality, maxAbsDiff, runMethod, tensors, trainOnXor, type HostModality } from "./methodHarness.ts";

before(startEngine);

// B = 2 rows; "text" has 3 tokens (row 1 right-padded after 2), "image" 2 tokens; row 1 lacks the image.
const text = () => hostModality("text", 2, 3, 5, 1, { mask: [1, 1, 1, 1, 1, 0] });
const image = () => hostModality("image", 2, 2, 6, 2, { present: [1, 0] });
const audio = () => hostModality("audio", 2, 4, 3, 3, { mask: [1, 1, 0, 0, 1, 1, 1, 1] });

/** Padded text token and the missing image row overwritten with large values; the image's mask left stale. */
function perturbHidden(): HostModality[] {
  const t = text();
  t.tokens.fill(50, 5 * 5, 6 * 5);
  const im = image();
  im.tokens.fill(-50, 2 * 6, 4 * 6);
  im.droppedAfterEncoding = true; // present = 0 set by modality dropout after encoding: the token mask is stale
  return [t, im];
}

describe("mult: building blocks", () => {
  test("sinusoidal positions follow sin(t / 10000^(2i/d)) on even and cos on odd features", () => {
    const pe = sinusoidalPositions(3, 4);
    assert.deepEqual(Array.from(pe.slice(0, 4)), [0, 1, 0, 1]);
    assert.ok(Math.abs(pe[4]! - Math.sin(1)) < 1e-7 && Math.abs(pe[5]! - Math.cos(1)) < 1e-7);
    assert.ok(Math.abs(pe[2 * 4 + 2]! - Math.sin(2 / 100)) < 1e-7 && Math.abs(pe[2 * 4 + 3]! - Math.cos(2 / 100)) < 1e-7);
  });
  test("last-token pooling picks each row's last real token and gives zero for a row without one", () => {
    const x = Float32Array.from({ length: 3 * 4 * 2 }, (_, i) => i + 1);
    const out = scoped(() => lastRealToken(constant(x, [3, 4, 2]), constant([1, 1, 1, 0, 1, 1, 1, 1, 0, 0, 0, 0], [3, 4])));
    assert.deepEqual(Array.from(out.data), [5, 6, 15, 16, 0, 0]);
  });
});

describe("mult: shapes, gradients, masks", () => {
  const config = (o: Partial<MultConfig> = {}): MultConfig => ({ ...multimodalTransformer.defaults, dim: 8, heads: 2, ...o });

  test("fused is [B, M (M-1) d] with one crossmodal map per ordered pair (M = 3: six)", () => {
    const mods = [text(), image(), audio()];
    const cfg = config();
    const out = runMethod(multimodalTransformer, multimodalTransformer.init(new HostRng(1), dimsOf(mods), 2, cfg), mods, cfg);
    assert.deepEqual(out.fused.shape, [2, 3 * 2 * 8]);
    assert.equal(multimodalTransformer.fusedDim!(dimsOf(mods), cfg), 48);
    const keys = Object.keys(out.explain).sort();
    assert.deepEqual(keys, ["audio<-image", "audio<-text", "image<-audio", "image<-text", "text<-audio", "text<-image"].map((k) => `mult/layer1/${k}`));
    assert.deepEqual(out.explain["mult/layer1/text<-audio"]!.shape, [2, 3, 4]);
    assertFinite(out.fused.data, "fused");
  });

  for (const pool of ["last", "mean"] as const) {
    const cfg = config({ pool, layers: 2 });
    const params = multimodalTransformer.init(new HostRng(2), dimsOf([text(), image()]), 2, cfg);
    test(`finite differences w.r.t. each modality's tokens (pool ${pool}, 2 crossmodal layers)`, () => {
      checkMethodGradient(multimodalTransformer, params, [text(), image()], cfg, 0);
      checkMethodGradient(multimodalTransformer, params, [text(), image()], cfg, 1);
    });
    test(`padded and missing tokens do not change the output, a real token does (pool ${pool})`, () => {
      const base = runMethod(multimodalTransformer, params, [text(), image()], cfg).fused.data;
      assert.ok(maxAbsDiff(base, runMethod(multimodalTransformer, params, perturbHidden(), cfg).fused.data) < 1e-6);
      const real = image();
      real.tokens[0] = 3;
      assert.ok(maxAbsDiff(base, runMethod(multimodalTransformer, params, [text(), real], cfg).fused.data) > 1e-3);
    });
  }

  test("a missing target pools to a zero block and all-missing rows stay finite", () => {
    const cfg = config();
    const mods = [hostModality("text", 2, 3, 5, 1, { present: [0, 1] }), hostModality("image", 2, 2, 6, 2, { present: [0, 0] })];
    const out = runMethod(multimodalTransformer, multimodalTransformer.init(new HostRng(3), dimsOf(mods), 2, cfg), mods, cfg).fused;
    assertFinite(out.data, "fused");
    assert.deepEqual(Array.from(out.data.slice(0, 16)), new Array(16).fill(0)); // row 0: nothing present
    assert.deepEqual(Array.from(out.data.slice(16 + 8, 32)), new Array(8).fill(0)); // row 1: the image block
  });
});

describe("flamingo: gated cross-attention", () => {
  const config = (o: Partial<FlamingoConfig> = {}): FlamingoConfig => ({ ...gatedCrossAttention.defaults, dim: 8, heads: 2, layers: 2, ...o });
  const cfg = config();
  const dims = dimsOf([text(), image()]);
  const params = gatedCrossAttention.init(new HostRng(4), dims, 2, cfg) as any;
  /** The same parameters with both gates of every layer opened to tanh(0.5). */
  const opened = (): ParamTree => {
    const p = structuredClone(params);
    for (const layer of p.layers) {
      layer.gated.alpha.data[0] = 0.5;
      layer.gated.beta.data[0] = -0.5;
    }
    return p;
  };

  test("at initialisation the output equals the unimodal language stream exactly", () => {
    const mods = [text(), image()];
    const fused = runMethod(gatedCrossAttention, params, mods, cfg).fused;
    const unimodal = scoped(() => {
      const p = tensors(params);
      const t = mods[0]!;
      const mask = constant(t.mask, [2, 3]);
      let x = linear(p.inputProjections[0], constant(t.tokens, [2, 3, 5]));
      for (const layer of p.layers) x = languageModelLayer(layer.languageModel, x, mask, cfg.heads);
      return maskedMean(layerNorm(p.finalNorm, x), mask);
    });
    assert.deepEqual(fused.shape, [2, 8]);
    assert.deepEqual(Array.from(fused.data), Array.from(unimodal.data));
    const otherImage = image();
    otherImage.tokens.fill(7);
    assert.deepEqual(Array.from(runMethod(gatedCrossAttention, params, [text(), otherImage], cfg).fused.data), Array.from(fused.data));
  });

  test("explain reports tanh(alpha), tanh(beta) per row and the cross-attention map", () => {
    const out = runMethod(gatedCrossAttention, opened(), [text(), image()], cfg);
    assert.deepEqual(out.explain["flamingo/layer1/text<-image"]!.shape, [2, 3, 2]);
    for (const l of [1, 2]) {
      assert.deepEqual(Array.from(out.explain[`flamingo/layer${l}/tanh_alpha`]!.data).map((v) => v.toFixed(6)), [Math.tanh(0.5), Math.tanh(0.5)].map((v) => v.toFixed(6)));
      assert.deepEqual(Array.from(out.explain[`flamingo/layer${l}/tanh_beta`]!.data).map((v) => v.toFixed(6)), [Math.tanh(-0.5), Math.tanh(-0.5)].map((v) => v.toFixed(6)));
    }
    const initial = runMethod(gatedCrossAttention, params, [text(), image()], cfg).explain;
    assert.ok(Array.from(initial["flamingo/layer1/tanh_alpha"]!.data).every((v) => v === 0), "tanh(alpha) = 0 at initialisation");
  });

  test("with open gates the image changes the output; padded and missing tokens still do not", () => {
    const p = opened();
    const base = runMethod(gatedCrossAttention, p, [text(), image()], cfg).fused.data;
    assert.ok(maxAbsDiff(base, runMethod(gatedCrossAttention, params, [text(), image()], cfg).fused.data) > 1e-3);
    assert.ok(maxAbsDiff(base, runMethod(gatedCrossAttention, p, perturbHidden(), cfg).fused.data) < 1e-6);
    const real = image();
    real.tokens[0] = 3;
    assert.ok(maxAbsDiff(base, runMethod(gatedCrossAttention, p, [text(), real], cfg).fused.data) > 1e-3);
  });

  test("finite differences w.r.t. the language and the image tokens (open gates)", () => {
    checkMethodGradient(gatedCrossAttention, opened(), [text(), image()], cfg, 0);
    checkMethodGradient(gatedCrossAttention, opened(), [text(), image()], cfg, 1);
  });

  test("the first text modality is the language stream wherever it sits; `query` overrides; a bad name lists the valid ones", () => {
    const typed = [
      { name: "image", type: "image" },
      { name: "caption", type: "text" },
      { name: "title", type: "text" },
    ];
    assert.equal(queryIndex(typed, ""), 1);
    assert.equal(queryIndex(typed.slice(0, 1), ""), 0);
    assert.equal(queryIndex(typed, "title"), 2);
    const mods = [image(), { ...text(), name: "caption" }];
    const p = gatedCrossAttention.init(new HostRng(5), dimsOf(mods), 2, config({ query: "caption" }));
    const out = runMethod(gatedCrossAttention, p, mods, config({ query: "caption" }));
    assert.ok("flamingo/layer1/caption<-image" in out.explain);
    assert.deepEqual(out.explain["flamingo/layer1/caption<-image"]!.shape, [2, 3, 2]);
    assert.throws(() => resolveMethodConfig(gatedCrossAttention, config({ query: "audio" }), dimsOf(mods)), /query "audio" is not a modality.*valid: image, caption/);
  });

  test("a row without the language modality reads the others through the learned empty token", () => {
    const p = opened();
    const missingText = () => hostModality("text", 2, 3, 5, 1, { mask: [1, 1, 1, 1, 1, 0], present: [1, 0] });
    const fullImage = () => hostModality("image", 2, 2, 6, 2);
    const base = runMethod(gatedCrossAttention, p, [missingText(), fullImage()], cfg).fused.data;
    assertFinite(base, "fused");
    const hidden = missingText();
    hidden.tokens.fill(9, 15, 30);
    assert.ok(maxAbsDiff(base, runMethod(gatedCrossAttention, p, [hidden, fullImage()], cfg).fused.data) < 1e-6);
    const otherImage = fullImage();
    otherImage.tokens[2 * 6] = 4; // row 1's image: the only thing row 1 can read
    assert.ok(maxAbsDiff(base.slice(8), runMethod(gatedCrossAttention, p, [missingText(), otherImage], cfg).fused.data.slice(8)) > 1e-4);
  });
});

describe("transformer family: learning", () => {
  // 1-token sequences keep these within a few seconds of CPU (a MulT step costs ~25 ms here).
  test("mult learns sign(a0) XOR sign(b0) to >= 0.85 test accuracy", () => {
    const r = trainOnXor(multimodalTransformer, { ...multimodalTransformer.defaults, dim: 8, heads: 2 }, { steps: 150, lr: 0.03, T: 1 });
    assert.ok(r.accuracy >= 0.85, `test accuracy ${r.accuracy} (final loss ${r.finalLoss})`);
  });
  test("flamingo learns it from gates that start closed, to >= 0.85 test accuracy", () => {
    const r = trainOnXor(gatedCrossAttention, { ...gatedCrossAttention.defaults, dim: 16, heads: 2 }, { steps: 250, lr: 0.01, T: 1 });
    assert.ok(r.accuracy >= 0.85, `test accuracy ${r.accuracy} (final loss ${r.finalLoss})`);
  });
});

describe("transformer family: config validation", () => {
  const dims = dimsOf([text(), image()]);
  const rejects = (m: any, cfg: Record<string, unknown>, pattern: RegExp) =>
    assert.throws(() => resolveMethodConfig(m, cfg, dims), (e: Error) => e instanceof FusionkitError && pattern.test(e.message), `expected ${pattern}`);
  test("bad layers, heads, pool and dropout are rejected with the valid range", () => {
    const mult = { ...multimodalTransformer.defaults, dim: 8, heads: 2 };
    rejects(multimodalTransformer, { ...mult, layers: 0 }, /layers must be an integer >= 1, got 0/);
    rejects(multimodalTransformer, { ...mult, selfLayers: -1 }, /selfLayers must be an integer >= 0/);
    rejects(multimodalTransformer, { ...mult, heads: 3 }, /heads \(3\) must divide dim \(8\); valid heads for dim 8: 1, 2, 4, 8/);
    rejects(multimodalTransformer, { ...mult, pool: "max" }, /pool must be one of last, mean, got "max"/);
    const flamingo = { ...gatedCrossAttention.defaults, dim: 8, heads: 2 };
    rejects(gatedCrossAttention, { ...flamingo, layers: 0 }, /layers must be an integer >= 1/);
    rejects(gatedCrossAttention, { ...flamingo, heads: 16 }, /heads must be an integer in 1\.\.8, got 16/);
    rejects(gatedCrossAttention, { ...flamingo, dropout: -0.1 }, /dropout must be a number in \[0, 1\)/);
    assert.throws(() => resolveMethodConfig(gatedCrossAttention, flamingo, dims.slice(1)), /at least 2 modalities/);
  });
  test("the family exports MulT and Flamingo", () => {
    assert.deepEqual(transformerMethods.map((m) => [m.name, m.family]), [["mult", "transformer"], ["flamingo", "transformer"]]);
  });
});
