import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { resolveMethodConfig } from "../../src/fusion/config.ts";
import { startEngine } from "../../src/engine/backend.ts";
import { softmaxCrossEntropy } from "../../src/engine/losses.ts";
import { HostRng } from "../../src/engine/random.ts";
import { constant, scoped, type Tensor } from "../../src/engine/tensor.ts";
import { compile, valueAndGrad } from "../../src/engine/transforms.ts";
import { numpy as np } from "@jax-js/jax";
import { FusionkitError } from "../../src/errors.ts";
import { infoNCE } from "../../src/engine/losses.ts";
import { clip, INITIAL_LOGIT_SCALE, logitScale, normalise, zeroShotLogits } from "../../src/fusion/contrastiveAlignment.ts";
import { randomArray } from "../engine/gradcheck.ts";
import { checkGradientAgainst, encodedFrom, ones, tensors, trainFusion, vectorDims, type Split } from "./fusionHarness.ts";

before(startEngine);

const close = (actual: number, expected: number, tol: number, what = "") => assert.ok(Math.abs(actual - expected) <= tol, `${what} ${actual} vs expected ${expected}`);

describe("InfoNCE and zero-shot: hand-computed values", () => {
  test("3 orthonormal pairs at scale 1: every row and column CE is log(e + 2) - 1", () => {
    const eye = [1, 0, 0, 0, 1, 0, 0, 0, 1];
    const loss = scoped(() => infoNCE(constant(eye, [3, 3]), constant(eye, [3, 3]), 1));
    close(loss.data[0]!, Math.log(Math.E + 2) - 1, 1e-5); // 0.5514447... (float32)
  });

  test("3x3 case at scale 2: S = 2 a b^T = [[2, 1.2, 0], [0, 1.6, 2], [1.2, 2, 1.6]]", () => {
    // rows: log(e^2 + e^1.2 + 1) - 2 = 0.46037, log(1 + e^1.6 + e^2) - 1.6 = 0.99092, log(e^1.2 + e^2 + e^1.6) - 1.6 = 1.15125;
    // columns: the same three values in another order; loss = (mean rows + mean columns) / 2 = 0.86751555
    const a = [1, 0, 0, 1, 0.6, 0.8];
    const b = [1, 0, 0.6, 0.8, 0, 1];
    const loss = scoped(() => infoNCE(constant(a, [3, 2]), constant(b, [3, 2]), 2));
    close(loss.data[0]!, 0.8675155521659494, 1e-5);
  });

  test("a masked row is neither anchor nor negative: the loss equals the loss of the other rows alone", () => {
    const a = randomArray(4 * 3, 1);
    const b = randomArray(4 * 3, 2);
    const keep = [0, 2, 3];
    const pick = (x: Float32Array) => keep.flatMap((r) => Array.from(x.slice(r * 3, r * 3 + 3)));
    const out = scoped(() => {
      const n = (x: number[] | Float32Array, rows: number) => normalise(constant(x, [rows, 3]));
      return {
        masked: infoNCE(n(a, 4), n(b, 4), 5, { rowWeight: constant([1, 0, 1, 1], [4]) }),
        subset: infoNCE(n(pick(a), 3), n(pick(b), 3), 5),
      };
    });
    close(out.masked.data[0]!, out.subset.data[0]!, 1e-5);
  });

  test("zero-shot logits = 100 * normalise(I) W^T, w_c = normalise(mean over templates of normalise(text))", () => {
    // class 0 templates (3, 0) and (0, 4) -> normalised (1,0), (0,1) -> mean (.5,.5) -> (1/sqrt2, 1/sqrt2); class 1: (0,2), (0,5) -> (0, 1)
    const logits = scoped(() => zeroShotLogits(constant([2, 0, 0, -3], [2, 2]), constant([3, 0, 0, 4, 0, 2, 0, 5], [2, 2, 2])));
    [100 / Math.SQRT2, 0, -100 / Math.SQRT2, -100].forEach((e, i) => close(logits.data[i]!, e, 1e-4, `entry ${i}`));
  });
});

describe("learnable temperature", () => {
  test("the logit scale starts at 1/0.07 and never exceeds 100, however far the parameter is pushed", () => {
    const p = clip.init(new HostRng(1), vectorDims([4, 4]), 2, clip.defaults) as any;
    close(Math.exp(p.logTemperature.data[0]), INITIAL_LOGIT_SCALE, 1e-3);
    const scales = scoped(() => [Math.log(1 / 0.07), Math.log(99), Math.log(100), Math.log(1000), 50].map((t) => logitScale(constant([t], []))));
    [1 / 0.07, 99, 100, 100, 100].forEach((e, i) => close(scales[i]!.data[0]!, e, 1e-3, `t #${i}`));
  });

  test("past the clamp the pair loss is the loss at scale 100 and the temperature gets no gradient; below it, the gradient matches finite differences", () => {
    const B = 4;
    const p = clip.init(new HostRng(2), vectorDims([4, 3]), 2, clip.defaults) as any;
    const xs = [randomArray(B * 4, 3), randomArray(B * 3, 4)];
    const auxAt = (t: Tensor) => {
      const params = tensors(p);
      params.logTemperature = t;
      const enc = encodedFrom([constant(xs[0]!, [B, 4]), constant(xs[1]!, [B, 3])], [constant(ones(B), [B]), constant(ones(B), [B])]);
      return clip.apply(params, enc, { train: true, outDim: 2 }, clip.defaults).auxLoss!;
    };
    const value = compile((t: Tensor) => auxAt(t));
    const grad = compile((t: Tensor) => valueAndGrad((u: Tensor) => [auxAt(u), {}], t).grad);
    const at = (t: number) => value(np.array(new Float32Array([t])).reshape([1])).dataSync()[0] as number;
    close(at(Math.log(1e4)), at(Math.log(100)), 1e-6, "loss past the clamp");
    assert.ok(Math.abs(at(Math.log(50)) - at(Math.log(100))) > 1e-3, "the scale does matter below the clamp");
    assert.equal(grad(np.array(new Float32Array([Math.log(1e4)])).reshape([1])).dataSync()[0], 0);
    checkGradientAgainst(auxAt, auxAt, new Float32Array([Math.log(20)]), [1]);
  });
});

describe("what trains what", () => {
  const B = 4;
  const lossParts = (p: any) => {
    const enc = encodedFrom([constant(randomArray(B * 4, 5), [B, 4]), constant(randomArray(B * 3, 6), [B, 3])], [constant(ones(B), [B]), constant([1, 1, 0, 1], [B])]);
    const out = clip.apply(p, enc, { train: true, outDim: 2 }, clip.defaults) as { logits: Tensor; auxLoss: Tensor };
    return { task: softmaxCrossEntropy(out.logits, constant([0, 1, 1, 0], [B])), aux: out.auxLoss };
  };
  test("the encoders' projections learn only from InfoNCE, the probe only from the labels", () => {
    const p = clip.init(new HostRng(7), vectorDims([4, 3]), 2, clip.defaults);
    const grads = scoped(() => {
      const params = tensors(p);
      const taskGrad = valueAndGrad((q: any) => [lossParts(q).task, {}], params).grad as any;
      const auxGrad = valueAndGrad((q: any) => [lossParts(q).aux, {}], params).grad as any;
      return { taskGrad, auxGrad };
    });
    const norm = (h: { data: Float32Array }) => Math.sqrt(h.data.reduce((s, v) => s + v * v, 0));
    for (const proj of grads.taskGrad.projections) assert.equal(norm(proj.w), 0, "task loss reaches a projection");
    assert.equal(norm(grads.taskGrad.logTemperature), 0);
    assert.ok(norm(grads.taskGrad.probe.w) > 0);
    assert.equal(norm(grads.auxGrad.probe.w), 0, "InfoNCE reaches the probe");
    for (const proj of grads.auxGrad.projections) assert.ok(norm(proj.w) > 0);
  });

  test("finite-difference gradient of the pair loss w.r.t. a modality's features (one row missing the other modality)", () => {
    const p = clip.init(new HostRng(8), vectorDims([4, 3]), 2, clip.defaults);
    const x1 = randomArray(B * 3, 9);
    const f = (x: Tensor) => {
      const enc = encodedFrom([x, constant(x1, [B, 3])], [constant(ones(B), [B]), constant([1, 1, 0, 1], [B])]);
      return clip.apply(tensors(p), enc, { train: true, outDim: 2 }, clip.defaults).auxLoss!;
    };
    checkGradientAgainst(f, f, randomArray(B * 4, 10), [B, 4], { eps: 3e-3 });
  });

  test("missing modalities give finite outputs and a zero pair loss when no row has both", () => {
    const p = clip.init(new HostRng(9), vectorDims([4, 3, 2]), 2, clip.defaults);
    const out = scoped(() => {
      const enc = encodedFrom(
        [constant(randomArray(8, 1), [2, 4]), constant(randomArray(6, 2), [2, 3]), constant(randomArray(4, 3), [2, 2])],
        [constant([1, 0], [2]), constant([0, 1], [2]), constant([0, 0], [2])],
      );
      return clip.apply(tensors(p), enc, { train: false, outDim: 2 }, clip.defaults) as { logits: Tensor; auxLoss: Tensor; explain: Record<string, Tensor> };
    });
    assert.ok(out.logits.data.every(Number.isFinite));
    assert.equal(out.auxLoss.data[0], 0);
    assert.deepEqual(out.explain.pairSimilarity!.shape, [2, 3]);
  });

  test("fewer than two modalities is a FusionkitError", () => {
    assert.throws(() => resolveMethodConfig(clip, clip.defaults as any, vectorDims([4])), (e: Error) => e instanceof FusionkitError && /at least two modalities/.test(e.message));
  });
});

/** Two views of a shared 4-dim latent z through different random linear maps plus noise; label = [z0 > 0]. */
function sharedLatent(n: number, mapSeed: number, latentSeed: number): Split {
  const rng = new HostRng(mapSeed);
  const maps = [0, 1].map(() => Array.from({ length: 4 * 8 }, () => rng.normal() / 2));
  const xs = [new Float32Array(n * 8), new Float32Array(n * 8)];
  const labels = new Float32Array(n);
  const latentRng = new HostRng(latentSeed);
  for (let i = 0; i < n; i++) {
    const z = [0, 1, 2, 3].map(() => latentRng.normal());
    labels[i] = z[0]! > 0 ? 1 : 0;
    for (let m = 0; m < 2; m++) {
      for (let d = 0; d < 8; d++) xs[m]![i * 8 + d] = z.reduce((s, v, k) => s + v * maps[m]![k * 8 + d]!, 0) + 0.05 * latentRng.normal();
    }
  }
  return { xs, present: [ones(n), ones(n)], labels, n };
}

describe("learning", () => {
  test("CLIP aligns two views of a shared latent (retrieval top-1 on held-out rows) and its probe reads the label", () => {
    // the same two maps for both splits (map seed 1), different latents
    const train = sharedLatent(1024, 1, 11);
    const test = sharedLatent(512, 1, 12);
    const trained = trainFusion(clip, train, { steps: 300, batch: 64, lr: 0.01 });
    const p = (trained.params as any).fusion;
    const sims = scoped(() => {
      const e = [0, 1].map((m) => normalise(constant(test.xs[m]!.slice(0, 64 * 8), [64, 8]).matmul(constant(p.projections[m].w.data, p.projections[m].w.shape))));
      return e[0]!.matmul(e[1]!.swapLastAxes());
    });
    let hits = 0;
    for (let i = 0; i < 64; i++) {
      let best = 0;
      for (let j = 1; j < 64; j++) if (sims.data[i * 64 + j]! > sims.data[i * 64 + best]!) best = j;
      if (best === i) hits++;
    }
    assert.ok(hits / 64 >= 0.9, `retrieval top-1 among 64 held-out pairs: ${hits / 64} (chance 1/64)`);
    assert.ok(trained.accuracy(test) >= 0.85, `probe accuracy ${trained.accuracy(test)}`);
  });
});
