import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startEngine } from "../../src/engine/backend.ts";
import { constant, logSumExp, scoped, softmax } from "../../src/engine/tensor.ts";
import { binaryCrossEntropyWithLogits, meanAbsoluteError, meanSquaredError, softmaxCrossEntropy } from "../../src/engine/losses.ts";
import { checkGradient, randomArray } from "./gradcheck.ts";

before(startEngine);

const close = (a: number, b: number, tol = 1e-5) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

describe("losses: closed forms", () => {
  test("softmax cross-entropy equals -log softmax of the true class, averaged", () => {
    const logits = [2, 0, -1, 0.5, 0.5, 3];
    const labels = [0, 2];
    const expected =
      (-Math.log(Math.exp(2) / (Math.exp(2) + 1 + Math.exp(-1))) - Math.log(Math.exp(3) / (2 * Math.exp(0.5) + Math.exp(3)))) / 2;
    const out = scoped(() => softmaxCrossEntropy(constant(logits, [2, 3]), constant(labels, [2])));
    close(out.data[0]!, expected);
  });
  test("softmax cross-entropy stays finite for logits of 1e4 (max-shifted log-sum-exp)", () => {
    const out = scoped(() => softmaxCrossEntropy(constant([1e4, 0, -1e4], [1, 3]), constant([1], [1])));
    close(out.data[0]!, 1e4, 1);
  });
  test("row weights exclude padding rows", () => {
    const out = scoped(() => softmaxCrossEntropy(constant([0, 0, 50, -50], [2, 2]), constant([0, 1], [2]), constant([1, 0], [2])));
    close(out.data[0]!, Math.log(2));
  });
  test("binary cross-entropy with logits matches the textbook formula, and is stable at |x| = 100", () => {
    const x = [0.3, -2, 100, -100];
    const t = [1, 0, 0, 1];
    const sig = (v: number) => 1 / (1 + Math.exp(-v));
    const exact = [-Math.log(sig(0.3)), -Math.log(1 - sig(-2)), 100, 100];
    const out = scoped(() => binaryCrossEntropyWithLogits(constant(x, [4, 1]), constant(t, [4, 1])));
    close(out.data[0]!, exact.reduce((a, b) => a + b) / 4, 1e-3);
  });
  test("MSE and L1", () => {
    const out = scoped(() => [meanSquaredError(constant([1, 2, 3], [3]), constant([1, 0, 0], [3])), meanAbsoluteError(constant([1, 2, 3], [3]), constant([1, 0, 0], [3]))]);
    close(out[0]!.data[0]!, 13 / 3);
    close(out[1]!.data[0]!, 5 / 3);
  });
  test("softmax rows sum to 1 and logSumExp matches log(sum(exp))", () => {
    const x = [1, 2, 3, -1, 0, 1];
    const out = scoped(() => [softmax(constant(x, [2, 3])), logSumExp(constant(x, [2, 3]), -1)]);
    close(out[0]!.data.slice(0, 3).reduce((a, b) => a + b), 1);
    close(out[1]!.data[0]!, Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3)));
  });
});

describe("losses: finite-difference gradients", () => {
  const labels = new Float32Array([0, 2, 1, 2]);
  test("softmax cross-entropy", () => {
    checkGradient((x) => softmaxCrossEntropy(x, constant(labels, [4])), randomArray(12, 21, 2), [4, 3]);
  });
  test("binary cross-entropy with logits", () => {
    checkGradient((x) => binaryCrossEntropyWithLogits(x, constant([1, 0, 1, 1, 0, 0], [2, 3])), randomArray(6, 22, 3), [2, 3]);
  });
  test("mean squared error", () => {
    checkGradient((x) => meanSquaredError(x, constant([1, 0, 1, 1], [4])), randomArray(4, 23), [4]);
  });
  test("mean absolute error (away from the kink)", () => {
    checkGradient((x) => meanAbsoluteError(x, constant([5, 5, 5, 5], [4])), randomArray(4, 24), [4]);
  });
});
