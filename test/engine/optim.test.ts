import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startEngine } from "../../src/engine/backend.ts";
import { constant, scalar, scoped } from "../../src/engine/tensor.ts";
import { applyUpdate, clipByGlobalNorm, warmupCosine } from "../../src/engine/optim.ts";
import { layoutOf } from "../../src/engine/params.ts";

before(startEngine);
const close = (a: number, b: number, tol = 1e-6) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

const layout = layoutOf({ w: { data: new Float32Array(2), shape: [1, 2] }, b: { data: new Float32Array(1), shape: [1] } });

describe("optimisers against hand-computed updates", () => {
  test("Adam's first step moves every parameter by lr in the direction of -sign(g)", () => {
    const out = scoped(() => {
      const r = applyUpdate({ kind: "adam" }, layout, [constant([1, 2], [1, 2]), constant([3], [1])], [constant([0.5, -4], [1, 2]), constant([1e-3], [1])], [[constant([0, 0], [1, 2]), constant([0], [1])], [constant([0, 0], [1, 2]), constant([0], [1])]], scalar(0.1), scalar(1));
      return r.params;
    });
    close(out[0]!.data[0]!, 0.9, 1e-5);
    close(out[0]!.data[1]!, 2.1, 1e-5);
    close(out[1]!.data[0]!, 2.9, 1e-4);
  });
  test("AdamW decays matrices but not biases", () => {
    const out = scoped(() => {
      const zero = () => [constant([0, 0], [1, 2]), constant([0], [1])];
      return applyUpdate({ kind: "adamw", weightDecay: 0.5 }, layout, [constant([1, 1], [1, 2]), constant([1], [1])], zero(), [zero(), zero()], scalar(0.1), scalar(1)).params;
    });
    // zero gradient: the Adam part is 0/(0+eps) = 0, so only decay moves the weights
    close(out[0]!.data[0]!, 1 - 0.1 * 0.5 * 1, 1e-6);
    close(out[1]!.data[0]!, 1, 1e-6);
  });
  test("SGD with momentum accumulates velocity: v = mu v + g, p -= lr v", () => {
    const out = scoped(() => {
      const r = applyUpdate({ kind: "sgd", momentum: 0.9 }, layout, [constant([1, 1], [1, 2]), constant([0], [1])], [constant([1, 2], [1, 2]), constant([1], [1])], [[constant([10, 0], [1, 2]), constant([0], [1])]], scalar(0.1), scalar(2));
      return [r.params[0]!, r.slots[0]![0]!];
    });
    close(out[1]!.data[0]!, 10, 1e-5);
    close(out[0]!.data[0]!, 1 - 0.1 * 10, 1e-5);
    close(out[0]!.data[1]!, 1 - 0.1 * 2, 1e-5);
  });
  test("clipping by global norm rescales to the limit and reports the norm before", () => {
    const out = scoped(() => {
      const r = clipByGlobalNorm([constant([3], [1]), constant([4], [1])], 1);
      return [r.grad[0]!, r.grad[1]!, r.norm];
    });
    close(out[2]!.data[0]!, 5, 1e-5);
    close(out[0]!.data[0]!, 0.6, 1e-5);
    close(out[1]!.data[0]!, 0.8, 1e-5);
  });
  test("warmup + cosine schedule: linear ramp, peak, half-way, floor", () => {
    const cfg = { lr: 1, warmupSteps: 10, totalSteps: 110, minLrRatio: 0.1 };
    close(warmupCosine(cfg, 0), 0.1);
    close(warmupCosine(cfg, 9), 1);
    close(warmupCosine(cfg, 10), 1);
    close(warmupCosine(cfg, 60), 0.1 + 0.45);
    close(warmupCosine(cfg, 110), 0.1);
  });
});
