import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { accuracy, argmaxRows, macroF1, meanAbsoluteError, multilabelF1, pearson, rocAuc, taskMetrics } from "../../src/eval/metrics.ts";

const close = (a: number, b: number, tol = 1e-12) => assert.ok(Math.abs(a - b) <= tol, `${a} != ${b}`);

describe("metrics against hand-computed values", () => {
  test("accuracy and argmax", () => {
    assert.deepEqual(Array.from(argmaxRows([0.1, 0.9, 0.7, 0.3, 0.2, 0.2], 3, 2)), [1, 0, 0]); // ties keep the first
    close(accuracy([0, 1, 2, 2], [0, 1, 1, 2]), 3 / 4);
  });

  test("macro-F1: per-class F1 averaged, an absent class counts 0", () => {
    // y = [0,0,1,1,2], p = [0,1,1,1,0]
    // class 0: tp 1, fp 1, fn 1 -> F1 = 2/4 = 0.5; class 1: tp 2, fp 1, fn 0 -> 4/5; class 2: tp 0 -> 0
    close(macroF1([0, 1, 1, 1, 0], [0, 0, 1, 1, 2], 3), (0.5 + 0.8 + 0) / 3);
    // a 4th class nobody predicts or has adds a zero
    close(macroF1([0, 1, 1, 1, 0], [0, 0, 1, 1, 2], 4), (0.5 + 0.8) / 4);
  });

  test("ROC-AUC is the fraction of (positive, negative) pairs ranked right, ties 1/2", () => {
    // positives 0.8, 0.4; negatives 0.6, 0.4, 0.1 -> pairs: (0.8 > all three) = 3, (0.4 vs 0.6) 0, (0.4 vs 0.4) 1/2, (0.4 > 0.1) 1
    close(rocAuc([0.8, 0.6, 0.4, 0.4, 0.1], [1, 0, 1, 0, 0]), 4.5 / 6);
    close(rocAuc([0.9, 0.8, 0.1], [1, 1, 0]), 1);
    close(rocAuc([0.1, 0.8, 0.9], [1, 0, 0]), 0);
    assert.ok(Number.isNaN(rocAuc([0.2, 0.3], [1, 1])));
  });

  test("multilabel micro- and macro-F1", () => {
    // 3 rows x 2 labels
    const y = [1, 0, 1, 1, 0, 1];
    const p = [1, 1, 0, 1, 0, 1];
    // label 0: y 1,1,0 p 1,0,0 -> tp 1, fn 1 -> F1 2/3; label 1: y 0,1,1 p 1,1,1 -> tp 2, fp 1 -> 4/5
    // micro: tp 3, fp 1, fn 1 -> 6/8
    const f = multilabelF1(p, y, 2);
    close(f.micro, 6 / 8);
    close(f.macro, (2 / 3 + 4 / 5) / 2);
  });

  test("MAE and Pearson r", () => {
    close(meanAbsoluteError([1, 2, 3], [2, 2, 5]), 1);
    close(pearson([1, 2, 3], [2, 4, 6]), 1);
    close(pearson([1, 2, 3], [3, 2, 1]), -1);
    // x = [1,2,3,4], y = [1,3,2,4]: cov = 4/4... r = 0.8 by hand (sxy = 4, sxx = syy = 5)
    close(pearson([1, 2, 3, 4], [1, 3, 2, 4]), 0.8, 1e-12);
    assert.ok(Number.isNaN(pearson([1, 1, 1], [1, 2, 3])));
  });

  test("taskMetrics picks the task's metrics and adds ROC-AUC for two classes", () => {
    const m = taskMetrics("classification", new Float32Array([0.9, 0.1, 0.2, 0.8, 0.6, 0.4]), new Float32Array([0, 1, 1]), 2);
    close(m.accuracy!, 2 / 3);
    close(m.rocAuc!, 1); // P(class 1) = 0.1, 0.8, 0.4: both positives (0.8, 0.4) above the negative (0.1)
    assert.deepEqual(Object.keys(taskMetrics("regression", new Float32Array([1, 2]), new Float32Array([1, 3]), 1)), ["mae", "pearson"]);
  });
});
