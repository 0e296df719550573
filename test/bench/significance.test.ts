import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { formatP, pairedBootstrap } from "../../src/bench/significance.ts";
import type { RunResult } from "../../src/bench/results.ts";

const run = (seed: number, testPredictions: number[]) => ({ seed, testPredictions }) as unknown as RunResult;
const labels = Array.from({ length: 200 }, (_, i) => i % 3);

describe("paired bootstrap over seeds and test rows", () => {
  test("identical predictions: delta 0 and p = 1 (no replicate favours either)", () => {
    const t = pairedBootstrap("a", [run(0, labels), run(1, labels)], "b", [run(0, labels), run(1, labels)], labels, { resamples: 200 })!;
    assert.equal(t.delta, 0);
    assert.equal(t.p, 1);
  });

  test("A right everywhere, B wrong everywhere: delta 1 and the smallest p, 1/(R+1)", () => {
    const wrong = labels.map((y) => (y + 1) % 3);
    const t = pairedBootstrap("a", [run(0, labels)], "b", [run(0, wrong)], labels, { resamples: 500 })!;
    assert.equal(t.delta, 1);
    assert.equal(t.p, 1 / 501);
    assert.equal(formatP(t.p, t.resamples), "p < 0.004");
  });

  test("delta is the accuracy difference; a 2-row edge on 200 rows is not significant, a 30-row edge is", () => {
    const withErrors = (k: number) => labels.map((y, i) => (i < k ? (y + 1) % 3 : y));
    const small = pairedBootstrap("a", [run(0, withErrors(20))], "b", [run(0, withErrors(22))], labels)!;
    assert.ok(Math.abs(small.delta - 0.01) < 1e-12);
    assert.ok(small.p > 0.05, `p ${small.p}`);
    // B wrong on 30 rows A gets right, A wrong on none B gets right: the bootstrap puts this far from 0
    const big = pairedBootstrap("a", [run(0, withErrors(0))], "b", [run(0, withErrors(30))], labels)!;
    assert.ok(Math.abs(big.delta - 0.15) < 1e-12);
    assert.ok(big.p < 0.001, `p ${big.p}`);
  });

  test("pairs by seed; a single-run method is paired with every seed of the other", () => {
    const wrongHalf = labels.map((y, i) => (i % 2 ? (y + 1) % 3 : y));
    const t = pairedBootstrap("a", [run(0, labels), run(1, wrongHalf)], "b", [run(0, wrongHalf)], labels, { resamples: 100 })!;
    assert.equal(t.seeds, 2);
    assert.ok(Math.abs(t.delta - 0.25) < 1e-12, "mean over seeds: (0.5 + 0) / 2");
    assert.equal(pairedBootstrap("a", [run(0, labels), run(1, labels)], "b", [run(2, labels), run(3, labels)], labels), undefined, "no common seed: no test");
  });

  test("grouped rows: whole groups are drawn; four copies of each row in a group give exactly the ungrouped test on one copy, rows drawn one by one overstate it", () => {
    // 60 rows: B alone is wrong on 7, A alone on 4: a net edge of 3 rows, weak evidence on 60 rows
    const base = labels.slice(0, 60);
    const a = base.map((y, i) => (i % 10 === 0 || i % 11 === 5 ? (y + 1) % 3 : y));
    const b = base.map((y, i) => (i % 10 === 0 || i % 7 === 3 ? (y + 1) % 3 : y));
    const once = pairedBootstrap("a", [run(0, a), run(1, a)], "b", [run(0, b), run(1, b)], base)!;
    // the same evidence with every row repeated four times (as one emoji in 2 vendors x 2 languages)
    const four = <T>(xs: T[]) => xs.flatMap((x) => [x, x, x, x]);
    const groups = four(base.map((_, i) => `g${i}`));
    const grouped = pairedBootstrap("a", [run(0, four(a)), run(1, four(a))], "b", [run(0, four(b)), run(1, four(b))], four(base), { groups })!;
    const asRows = pairedBootstrap("a", [run(0, four(a)), run(1, four(a))], "b", [run(0, four(b)), run(1, four(b))], four(base))!;
    assert.equal(grouped.p, once.p);
    assert.equal(grouped.groups, 60);
    assert.equal(grouped.rows, 240);
    assert.ok(Math.abs(grouped.delta - once.delta) < 1e-12);
    assert.ok(once.p > 0.1, `p ${once.p}`);
    assert.ok(asRows.p < grouped.p / 2, `rows drawn one by one: p ${asRows.p}, groups: ${grouped.p}`);
    assert.equal(asRows.groups, undefined);
    assert.throws(() => pairedBootstrap("a", [run(0, a)], "b", [run(0, b)], base, { groups: groups.slice(0, 10) }), /10 group labels for 60 rows/);
  });
});
