/** Seed statistics and leaderboard ordering against hand-computed values. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { MethodResult } from "../../src/bench/results.ts";
import { buildLeaderboard, percentile, stat } from "../../src/bench/summary.ts";

describe("seed statistics", () => {
  test("mean and sample standard deviation (n - 1)", () => {
    // 2, 4, 4, 4, 5, 5, 7, 9: mean 5, sum of squares 32, sample variance 32/7
    const s = stat([2, 4, 4, 4, 5, 5, 7, 9]);
    assert.equal(s.mean, 5);
    assert.ok(Math.abs(s.std - Math.sqrt(32 / 7)) < 1e-12);
    assert.equal(s.n, 8);
  });

  test("one seed has no spread; non-finite values are left out and counted out", () => {
    assert.deepEqual(stat([0.7]), { mean: 0.7, std: 0, n: 1 });
    assert.deepEqual(stat([1, NaN, 3]), { mean: 2, std: Math.SQRT2, n: 2 });
    assert.ok(Number.isNaN(stat([]).mean));
  });

  test("percentiles interpolate linearly between order statistics (numpy's default)", () => {
    const xs = [5, 1, 4, 2, 3];
    assert.equal(percentile(xs, 0.5), 3);
    assert.equal(percentile(xs, 0), 1);
    assert.equal(percentile(xs, 1), 5);
    // position (5 - 1) * 0.95 = 3.8 -> 4 + 0.8 * (5 - 4)
    assert.ok(Math.abs(percentile(xs, 0.95) - 4.8) < 1e-12);
    assert.equal(percentile([1, 2], 0.5), 1.5);
  });
});

function method(name: string, mean: number, std = 0.01): MethodResult {
  const s = { mean, std, n: 3 };
  return {
    name,
    family: name.startsWith("unimodal:") ? "unimodal" : "early",
    summary: "",
    citation: "",
    config: {},
    configNotes: [],
    status: "complete",
    runs: [],
    aggregate: { metrics: { mae: s, accuracy: s }, paramCount: 10, trainMs: { mean: 1500, std: 100, n: 3 }, latencyP50Ms: s, latencyP95Ms: s, epochsRun: s, missing: {}, noise: [] },
  };
}

describe("leaderboard", () => {
  test("higher-is-better metrics rank descending, NaN last", () => {
    const rows = buildLeaderboard([method("a", 0.5), method("b", NaN), method("c", 0.9), method("d", 0.7)], { name: "accuracy", higherIsBetter: true });
    assert.deepEqual(rows.map((r) => r.method), ["c", "d", "a", "b"]);
    assert.deepEqual(rows.map((r) => r.rank), [1, 2, 3, 4]);
    assert.deepEqual(rows[0]!.trainS, { mean: 1.5, std: 0.1, n: 3 });
  });

  test("lower-is-better metrics (MAE) rank ascending; methods without results are left out", () => {
    const unrun: MethodResult = { ...method("e", 0), status: "not-run" };
    delete unrun.aggregate;
    const rows = buildLeaderboard([method("a", 0.5), method("c", 0.2), unrun, method("d", 0.3)], { name: "mae", higherIsBetter: false });
    assert.deepEqual(rows.map((r) => r.method), ["c", "d", "a"]);
  });
});
