/**
 * The report's significance note says what the bootstrap resampled: test rows,
 * or whole groups of them when the dataset splits by group, with a warning when
 * there are too few groups for fine p-values.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { benchNotes } from "../../src/bench/notes.ts";
import type { PairedTest } from "../../src/bench/significance.ts";
import { fixtureResults } from "../report/fixture.ts";

function notesWith(headline: PairedTest): string {
  const results = fixtureResults();
  results.comparisons = {
    alpha: 0.05,
    perMethod: [headline],
    significantFamilies: ["hybrid"],
    unimodalVsLinear: [],
    convergence: { runs: 4, hitCap: 0, share: 0, warn: false },
    bestFusion: "gmu",
    bestUnimodal: "unimodal:text",
    fusionVsUnimodal: headline,
  };
  return benchNotes(results).find((n) => n.startsWith("Significance:"))!;
}

const base: PairedTest = { better: "gmu", worse: "unimodal:text", delta: 0.15, p: 0.001, seeds: 2, rows: 608, resamples: 2000 };

test("significance note: rows, or whole groups with their count, and a warning below 20 groups", () => {
  assert.match(notesWith(base), /over seeds and test rows of per-row correctness \(2000 resamples\)/);
  const grouped = notesWith({ ...base, groups: 149 });
  assert.match(grouped, /whole groups of test rows \(the dataset's split groups: 149 groups of 608 rows/);
  assert.doesNotMatch(grouped, /WARNING/);
  assert.match(notesWith({ ...base, groups: 3 }), /WARNING: only 3 test groups, so the p-values are coarse/);
});
