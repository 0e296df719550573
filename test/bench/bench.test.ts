/**
 * runBench end to end (through benchToDir, the CLI's writer of its outputs) on a tiny dataset: every results.json field, the
 * statistics recomputed from the runs, robustness figures that must be exact
 * (a baseline that never reads modality b is untouched by b missing or noisy),
 * the Ctrl-C path (abort signal -> incomplete outputs), and bad input refused
 * before any training or output directory.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { BenchOptions } from "../../src/bench/options.ts";
import { benchToDir } from "../../src/cli/actions/benchOutputs.ts";
import type { BenchResults } from "../../src/bench/results.ts";
import { FusionkitError } from "../../src/errors.ts";
import { quietReporter } from "../../src/bench/progress.ts";
import { formatSummary } from "../../src/report/leaderboard.ts";
import { writeSignDataset } from "./synthetic.ts";

let dir: string;
let data: string;
let testPositiveShare: number;
const small = { methods: ["early", "unimodal:a"], seeds: 2, epochs: 3, lr: 0.01, lrGrid: [0.01], batchSize: 16, latencySamples: 4, noiseLevels: [0.5, 2] };

before(() => {
  dir = mkdtempSync(join(tmpdir(), "fusionkit-bench-"));
  ({ dir: data, testPositiveShare } = writeSignDataset(join(dir, "sign")));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const sampleStd = (xs: number[]) => Math.sqrt(xs.reduce((a, b) => a + (b - mean(xs)) ** 2, 0) / (xs.length - 1));

describe("fusionkit bench on a small dataset", () => {
  let results: BenchResults;
  let out: string;
  before(async () => {
    out = join(dir, "out");
    results = (await benchToDir({ ...small, data, cacheDir: join(dir, "cache") }, out)).results;
  });

  test("results.json holds the config, environment, every run and every figure, marked complete", () => {
    const onDisk = JSON.parse(readFileSync(join(out, "results.json"), "utf8")) as BenchResults;
    assert.equal(onDisk.complete, true);
    assert.equal(onDisk.schema, "fusionkit-bench/1");
    assert.equal(onDisk.environment.node, process.version);
    assert.match(onDisk.environment.packages["@jax-js/jax"]!, /^\d+\.\d+\.\d+/);
    assert.deepEqual(onDisk.dataset.rows, { train: 96, val: 32, test: 32 });
    assert.deepEqual(onDisk.config.seeds, [0, 1]);
    assert.deepEqual(onDisk.config.methods, ["early", "unimodal:a"]);
    assert.deepEqual(onDisk.config.primaryMetric, { name: "accuracy", higherIsBetter: true });
    assert.ok(onDisk.notes.length >= 5);
    for (const method of onDisk.methods) {
      assert.equal(method.status, "complete");
      assert.deepEqual(method.runs.map((r) => r.seed), [0, 1]);
      assert.ok(method.citation.length > 0 && typeof method.config === "object");
      for (const run of method.runs) {
        // binary classification: accuracy, macro-F1 and ROC-AUC, all in [0, 1]
        assert.deepEqual(Object.keys(run.metrics).sort(), ["accuracy", "macroF1", "rocAuc"]);
        for (const v of Object.values(run.metrics)) assert.ok(v >= 0 && v <= 1);
        assert.equal(run.history.length, run.epochsRun);
        assert.ok(run.bestEpoch >= 1 && run.bestEpoch <= run.epochsRun && run.epochsRun <= 3);
        assert.equal(run.bestValMetric, run.history[run.bestEpoch - 1]!.valMetric);
        for (const h of run.history) assert.ok(Number.isFinite(h.trainLoss) && h.ms > 0);
        assert.ok(run.paramCount > 0 && run.trainMs > 0);
        assert.ok(run.latencyMs.samples === 4 && run.latencyMs.p50 > 0 && run.latencyMs.p95 >= run.latencyMs.p50);
        // timed where the steps ran and where `fusionkit serve` runs: ONNX Runtime
        assert.equal(run.latencyMs.engine, "onnxruntime");
        assert.deepEqual(Object.keys(run.robustness.missing).sort(), ["a", "b"]);
        assert.deepEqual(run.robustness.noise.map((n) => `${n.modality}@${n.sigma}`), ["a@0.5", "a@2", "b@0.5", "b@2"]);
      }
      // the summary is the runs' mean and sample standard deviation
      const accuracies = method.runs.map((r) => r.metrics.accuracy!);
      assert.ok(Math.abs(method.aggregate!.metrics.accuracy!.mean - mean(accuracies)) < 1e-12);
      assert.ok(Math.abs(method.aggregate!.metrics.accuracy!.std - sampleStd(accuracies)) < 1e-12);
    }
    assert.ok(existsSync(join(out, "report.html")));
  });

  test("the baseline reading only modality a learns sign(a0) and is untouched by b missing or noisy", () => {
    const baseline = results.methods.find((m) => m.name === "unimodal:a")!;
    for (const run of baseline.runs) {
      assert.ok(run.metrics.accuracy! >= 0.8, `unimodal:a seed ${run.seed} reached only ${run.metrics.accuracy}`);
      assert.deepEqual(run.robustness.missing.b, run.metrics);
      for (const n of run.robustness.noise.filter((x) => x.modality === "b")) assert.deepEqual(n.metrics, run.metrics);
      // with a missing, every row gets the same scores: ROC-AUC is exactly 1/2 (all ties) and
      // accuracy is the share of whichever class the constant prediction names
      assert.equal(run.robustness.missing.a!.rocAuc, 0.5);
      assert.ok([testPositiveShare, 1 - testPositiveShare].some((share) => Math.abs(run.robustness.missing.a!.accuracy! - share) < 1e-12));
    }
    // a unimodal baseline does not count the encoder of the modality it ignores
    const early = results.methods.find((m) => m.name === "early")!;
    assert.ok(baseline.aggregate!.paramCount < early.aggregate!.paramCount);
  });

  test("the leaderboard ranks by mean test accuracy and the summary prints it", () => {
    assert.equal(results.leaderboard.length, 2);
    assert.ok(results.leaderboard[0]!.metric.mean >= results.leaderboard[1]!.metric.mean);
    assert.deepEqual(results.leaderboard.map((r) => r.rank), [1, 2]);
    const summary = formatSummary(results, out);
    for (const row of results.leaderboard) assert.match(summary, new RegExp(`${row.rank}\\s+${row.method.replace(":", "\\:")}\\s`));
    assert.match(summary, /Best fusion early .* vs best unimodal unimodal:a/);
  });
});

describe("a time budget", () => {
  test("is split evenly over the runs and stops each one after the epoch that passes it", async () => {
    const out = join(dir, "budget");
    // 2 runs on 2 workers: each may train budget x workers / runs = 1 ms, so every run ends after its first epoch
    const { results } = await benchToDir({ ...small, methods: ["early"], seeds: 2, workers: 2, timeBudgetS: 0.001, data, cacheDir: join(dir, "cache") }, out);
    assert.equal(results.config.perRunBudgetMs, 1);
    for (const run of results.methods[0]!.runs) {
      assert.equal(run.epochsRun, 1);
      assert.equal(run.stoppedBy, "time-budget");
    }
    assert.ok(results.notes.some((n) => /2 runs stopped on the budget/.test(n)));
  });
});

describe("an interrupted bench", () => {
  test("an abort after the first finished run writes that run, marked incomplete, in results.json and report.html", async () => {
    const out = join(dir, "interrupted");
    const controller = new AbortController();
    const reporter = { ...quietReporter, jobEnd: () => controller.abort(new Error("interrupted by Ctrl-C (SIGINT)")) };
    const { results } = await benchToDir({ ...small, seeds: 3, workers: 1, data, cacheDir: join(dir, "cache") }, out, { signal: controller.signal, reporter });
    const onDisk = JSON.parse(readFileSync(join(out, "results.json"), "utf8")) as BenchResults;
    assert.equal(onDisk.complete, false);
    assert.equal(onDisk.interruption?.reason, "interrupted by Ctrl-C (SIGINT)");
    assert.equal(onDisk.methods.reduce((n, m) => n + m.runs.length, 0), 1);
    // warm start runs each seed's unimodal job first: unimodal:a's first seed is the one finished run
    assert.deepEqual(onDisk.methods.map((m) => m.status), ["not-run", "partial"]);
    assert.equal(results.leaderboard.length, 1);
    const html = readFileSync(join(out, "report.html"), "utf8");
    assert.match(html, /id="incomplete-banner">INCOMPLETE: interrupted by Ctrl-C/);
  });

  test("an abort before training starts writes an incomplete report with no runs", async () => {
    const out = join(dir, "aborted-early");
    const controller = new AbortController();
    controller.abort(new Error("interrupted by Ctrl-C (SIGINT)"));
    const { results } = await benchToDir({ ...small, data, cacheDir: join(dir, "cache") }, out, { signal: controller.signal });
    assert.equal(results.complete, false);
    assert.equal(results.leaderboard.length, 0);
    assert.match(readFileSync(join(out, "report.html"), "utf8"), /INCOMPLETE/);
  });
});

describe("bad input is refused before training, with no output written", () => {
  const refuses = async (options: Partial<BenchOptions> & { out?: string }, pattern: RegExp) => {
    const { out = join(dir, `refused-${Math.random().toString(36).slice(2)}`), ...rest } = options;
    await assert.rejects(benchToDir({ ...small, data, cacheDir: join(dir, "cache"), ...rest }, out), (error: unknown) => {
      assert.ok(error instanceof FusionkitError, `expected a FusionkitError, got ${String(error)}`);
      assert.match(error.message, pattern);
      return true;
    });
    return out;
  };

  test("an unknown method names the valid ones", async () => {
    const out = await refuses({ methods: ["early", "no_such_method"] }, /unknown fusion method "no_such_method".*early/);
    assert.equal(existsSync(out), false);
  });

  test("a baseline for a modality the dataset lacks", async () => {
    await refuses({ methods: ["unimodal:c"] }, /unimodal:a, unimodal:b/);
  });

  test("an unknown dataset", async () => {
    await refuses({ data: join(dir, "no-such-dataset") }, /neither a dataset directory nor a built-in dataset/);
  });

  test("a dataset directory that fails validation names the file and field", async () => {
    const bad = join(dir, "bad");
    writeSignDataset(bad, 20);
    writeFileSync(join(bad, "dataset.json"), JSON.stringify({ task: "classify", label: "label", modalities: [{ name: "a", type: "vector", field: "a" }] }));
    await refuses({ data: bad }, /dataset\.json.*task/);
  });

  test("an output directory that cannot be written", async () => {
    const file = join(dir, "a-file");
    writeFileSync(file, "");
    await refuses({ out: join(file, "out") }, /cannot write the bench output.*is a file/);
  });

  test("config for a method the bench does not run, and a setting a method does not have", async () => {
    await refuses({ methodConfigs: { lmf: { rank: 2 } } }, /--config has settings for "lmf"/);
    await refuses({ methodConfigs: { early: { nonsense: 1 } } }, /method "early" has no setting "nonsense"/);
  });

  test("a non-positive seed count", async () => {
    await refuses({ seeds: 0 }, /--seeds must be a positive integer/);
  });
});
