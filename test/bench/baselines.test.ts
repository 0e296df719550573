/**
 * The bench's classical rows and claims end to end on the tiny sign dataset
 * (label = sign(a0), b is noise): linear:<modality> and linear:concat rows
 * fitted once, the paired significance tests behind the summary line, the
 * epoch-cap count and its warning, and the baselines' colour in the report.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { benchToDir } from "../../src/cli/actions/benchOutputs.ts";
import type { BenchResults } from "../../src/bench/results.ts";
import { formatSummary } from "../../src/report/leaderboard.ts";
import { writeSignDataset } from "./synthetic.ts";

let dir: string;
let results: BenchResults;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "fusionkit-baselines-"));
  const { dir: data } = writeSignDataset(join(dir, "sign"));
  const options = {
    data,
    methods: ["early", "unimodal:a", "linear:a", "linear:concat"],
    seeds: 2,
    epochs: 2,
    patience: 5,
    lr: 0.01,
    lrTrialEpochs: 1,
    weightDecay: 0.05,
    batchSize: 16,
    latencySamples: 2,
    noiseLevels: [1],
    explain: false,
    retrieval: false,
    cacheDir: join(dir, "cache"),
  };
  results = (await benchToDir(options, join(dir, "out"))).results;
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe("bench: classical baselines and significance", () => {
  test("linear rows: family linear, one convex fit each, converged, with the chosen L2 and per-row test predictions", () => {
    for (const name of ["linear:a", "linear:concat"]) {
      const m = results.methods.find((x) => x.name === name)!;
      assert.equal(m.family, "linear");
      assert.equal(m.status, "complete");
      assert.equal(m.runs.length, 1);
      const chosen = m.runs[0]!.chosen as { l2: number; grid: { l2: number; stop: string }[] };
      assert.ok([1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2].includes(chosen.l2));
      assert.deepEqual(chosen.grid.map((p) => p.l2), [1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7], "the path from the strongest penalty down");
      // solved to the tolerance, not stopped by the iteration cap
      assert.equal(m.runs[0]!.stoppedBy, "converged");
      assert.ok(m.runs[0]!.epochsRun >= 1);
      assert.equal(m.runs[0]!.testPredictions!.length, results.dataset.rows.test);
      // the label is a linear function of a: the logistic regression gets it
      assert.ok(m.runs[0]!.metrics.accuracy! >= 0.85, `${name} ${m.runs[0]!.metrics.accuracy}`);
      // robustness measured like the neural rows: with "a" missing a linear:a model has nothing to go on
      assert.ok(m.runs[0]!.robustness.missing.a!.accuracy! < 0.8);
    }
  });

  test("comparisons: best fusion vs best unimodal and vs linear:concat, unimodal vs its linear baseline, each with a p-value", () => {
    const c = results.comparisons!;
    assert.equal(c.bestFusion, "early");
    assert.equal(c.bestUnimodal, "unimodal:a");
    assert.equal(c.fusionVsLinear!.worse, "linear:concat");
    assert.equal(c.fusionVsLinear!.seeds, 2, "the single linear fit is paired with both seeds");
    assert.ok(c.fusionVsUnimodal!.p > 0 && c.fusionVsUnimodal!.p <= 1);
    assert.deepEqual(c.unimodalVsLinear.map((t) => [t.better, t.worse]), [["unimodal:a", "linear:a"]]);
    const early = results.methods.find((m) => m.name === "early")!;
    const concat = results.methods.find((m) => m.name === "linear:concat")!;
    assert.ok(Math.abs(c.fusionVsLinear!.delta - (early.aggregate!.metrics.accuracy!.mean - concat.runs[0]!.metrics.accuracy!)) < 1e-9);
  });

  test("convergence: 2 epochs with patience 5 leaves every neural run at the cap, counted and warned about", () => {
    assert.deepEqual(results.comparisons!.convergence, { runs: 4, hitCap: 4, share: 1, warn: true });
    const summary = formatSummary(results);
    assert.match(summary, /warning: 4 of 4 runs \(100%\) stopped at the epoch cap/);
    assert.match(summary, /vs linear:concat .*paired bootstrap over 2 seeds x 32 test rows, p [=<] /);
    assert.ok(results.notes.some((n) => /Classical baselines/.test(n)));
  });

  test("learning rate: every neural run chose from the same grid on validation, reported with its trials", () => {
    assert.deepEqual(results.config.lrGrid, [0.00333, 0.01, 0.03]);
    assert.equal(results.config.lrTrialEpochs, 1);
    for (const name of ["early", "unimodal:a"]) {
      for (const run of results.methods.find((m) => m.name === name)!.runs) {
        const chosen = run.chosen as { lr: number; lrTrials: { lr: number; valMetric: number | null }[]; lrTrialEpochs: number };
        assert.deepEqual(chosen.lrTrials.map((t) => t.lr), results.config.lrGrid);
        const best = Math.max(...chosen.lrTrials.map((t) => t.valMetric ?? -Infinity));
        assert.equal(chosen.lrTrials.find((t) => t.lr === chosen.lr)!.valMetric, best, `${name} seed ${run.seed} kept the best trial`);
      }
    }
    assert.ok(results.notes.some((n) => /^Learning rate: every neural run first trained 1 epoch at each of 0\.00333, 0\.01, 0\.03/.test(n)));
    // the logistic regressions choose their L2, not a learning rate
    assert.equal((results.methods.find((m) => m.name === "linear:a")!.runs[0]!.chosen as { lrTrials?: unknown }).lrTrials, undefined);
  });

  test("every neural run trains with the bench's weight decay", () => {
    assert.equal(results.config.weightDecay, 0.05);
    assert.equal(results.config.textPooling, "bag");
    for (const name of ["early", "unimodal:a"]) {
      for (const run of results.methods.find((m) => m.name === name)!.runs) assert.equal((run.chosen as { weightDecay: number }).weightDecay, 0.05, `${name} seed ${run.seed}`);
    }
  });

  test("unimodal auxiliary losses: the bench's default weight (3) for the fusion method, none for unimodal rows, said in the notes", () => {
    assert.equal(results.config.unimodalAux, 3);
    const runsOf = (name: string) => results.methods.find((m) => m.name === name)!.runs;
    for (const run of runsOf("early")) assert.equal((run.chosen as { unimodalAux?: number }).unimodalAux, 3, `early seed ${run.seed}`);
    for (const run of runsOf("unimodal:a")) assert.equal((run.chosen as { unimodalAux?: number }).unimodalAux, undefined, `unimodal:a seed ${run.seed}`);
    assert.ok(results.notes.some((n) => /^Unimodal auxiliary losses .*weight 3 \/ 2 each/.test(n)));
  });

  test("modality dropout: the bench's for the fusion method, none for unimodal and linear rows, said in the notes", () => {
    assert.equal(results.config.modalityDropout, 0.3);
    const byName = (name: string) => results.methods.find((m) => m.name === name)!;
    assert.deepEqual(byName("early").modalityDropout, { p: 0.3, from: "bench" });
    for (const name of ["unimodal:a", "linear:a", "linear:concat"]) assert.equal(byName(name).modalityDropout, undefined, name);
    assert.ok(results.notes.some((n) => /^Modality dropout \(ModDrop.*probability 0\.3, never all of them/.test(n)));
  });

  test("the report shows the linear rows in their own colour", () => {
    const html = readFileSync(join(dir, "out", "report.html"), "utf8");
    // (assert.ok, not match: a failing match would print the whole inlined vega build)
    assert.ok(/<tr class="baseline-linear"><td class="l">\d+<\/td><td class="l">linear:concat/.test(html), "linear:concat row has the baseline-linear class");
    assert.ok(html.includes("classical baseline (logistic regression)"), "charts colour the linear rows as their own kind");
  });
});
