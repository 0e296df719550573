/**
 * The training core's own rules (src/train/fit.ts), on a scripted loop with no
 * engine: each step records what it was given, each epoch's parameters are a
 * fresh array holding the epoch number, and validation returns scripted scores.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { stepSeed } from "../../src/engine/random.ts";
import { warmupCosine } from "../../src/engine/optim.ts";
import { FusionkitError } from "../../src/errors.ts";
import { checkFitSettings, fit, fitSchedule, startFit, stepOptions, type FitSettings } from "../../src/train/fit.ts";

type Call = { rows: number[]; lr: number; seed: number };

/** A loop over `n` rows whose validation score at epoch e is scores[e - 1]; losses[k] is step k's loss (default 1). */
function scripted(n: number, scores: number[], options: { losses?: number[]; higherIsBetter?: boolean; stepWork?: () => void } = {}) {
  const calls: Call[] = [];
  let epoch = 0;
  const loop = {
    rows: Array.from({ length: n }, (_, i) => i),
    step(rows: number[], lr: number, seed: number) {
      options.stepWork?.();
      calls.push({ rows, lr, seed });
      return { loss: options.losses?.[calls.length - 1] ?? 1, step: calls.length };
    },
    currentParams: () => Float32Array.of(++epoch),
    validate: (params: Float32Array) => ({ score: scores[params[0]! - 1]!, epoch: params[0]! }),
    higherIsBetter: options.higherIsBetter ?? true,
    what: "training",
    layer: "scripted",
  };
  return { loop, calls };
}

const base: FitSettings = { seed: 3, epochs: 10, batchSize: 4, lr: 0.1, patience: 2 };

describe("fit: early stopping and the best parameters", () => {
  test("stops `patience` epochs after the best one and returns that epoch's parameters", async () => {
    const { loop } = scripted(10, [0.5, 0.8, 0.7, 0.6, 0.95]);
    const epochs: { epoch: number; best: boolean }[] = [];
    const result = await fit(base, loop, { onEpoch: (e) => epochs.push({ epoch: e.epoch, best: e.best }) });
    assert.equal(result.bestEpoch, 2);
    assert.deepEqual([...result.bestParams], [2]);
    assert.equal(result.history.length, 4, "epoch 5 (the better one) is never reached");
    assert.equal(result.stoppedBy, "early-stopping");
    assert.deepEqual(epochs, [
      { epoch: 1, best: true },
      { epoch: 2, best: true },
      { epoch: 3, best: false },
      { epoch: 4, best: false },
    ]);
  });

  test("a lower-is-better score (MAE) selects the lowest", async () => {
    const { loop } = scripted(10, [3, 1, 2, 0.5, 4, 4, 4], { higherIsBetter: false });
    const result = await fit({ ...base, epochs: 7 }, loop);
    assert.equal(result.bestEpoch, 4);
    assert.deepEqual([...result.bestParams], [4]);
    assert.equal(result.history.length, 6);
  });

  test("a NaN score (no validation rows) never displaces a scored epoch; with none scored the latest is kept and nothing stops early", async () => {
    const mixed = await fit(base, scripted(10, [0.4, NaN, 0.3, NaN]).loop);
    assert.equal(mixed.bestEpoch, 1);
    assert.equal(mixed.history.length, 3);
    const none = await fit({ ...base, epochs: 6 }, scripted(10, Array(6).fill(NaN)).loop);
    assert.equal(none.bestEpoch, 6);
    assert.deepEqual([...none.bestParams], [6]);
    assert.equal(none.stoppedBy, "epochs");
    const later = await fit(base, scripted(10, [NaN, 0.2, 0.1, 0.1]).loop);
    assert.equal(later.bestEpoch, 2, "a real score displaces a NaN one");
  });

  test("the run ends at `epochs` when validation keeps improving", async () => {
    const { loop } = scripted(10, [1, 2, 3]);
    const result = await fit({ ...base, epochs: 3 }, loop);
    assert.equal(result.bestEpoch, 3);
    assert.equal(result.stoppedBy, "epochs");
  });

  test("patience running out at the last epoch is early stopping, not the cap", async () => {
    const result = await fit({ ...base, epochs: 3 }, scripted(10, [0.9, 0.1, 0.1]).loop);
    assert.equal(result.bestEpoch, 1);
    assert.equal(result.history.length, 3);
    assert.equal(result.stoppedBy, "early-stopping");
  });
});

describe("fit: divergence", () => {
  test("a non-finite loss stops the run at once, naming the epoch, the step, the learning rate and the layer", async () => {
    // 10 rows in steps of 4: 3 steps an epoch; step 5 is the second of epoch 2
    const { loop, calls } = scripted(10, [0.5, 0.6, 0.7], { losses: [1, 1, 1, 1, NaN, 1] });
    await assert.rejects(fit(base, loop), (error: unknown) => {
      assert.ok(error instanceof FusionkitError);
      assert.equal(error.message, "layer scripted: training diverged: the loss became NaN at epoch 2, step 5. Lower the learning rate (--lr, now 0.1)");
      return true;
    });
    assert.equal(calls.length, 5, "no step after the one that diverged");
    const infinite = scripted(10, [0.5], { losses: [Infinity] });
    await assert.rejects(fit(base, infinite.loop), /the loss became Infinity at epoch 1, step 1/);
  });
});

describe("fit: time budget", () => {
  test("ends the run after its first step once the budget is spent, and still validates the cut epoch", async () => {
    // every step lets the clock move, so a 0 ms budget is spent after the first step whatever the machine
    const tick = () => {
      const t = performance.now();
      while (performance.now() === t);
    };
    const { loop, calls } = scripted(10, [0.5, 0.6], { stepWork: tick });
    const result = await fit({ ...base, timeBudgetMs: 0 }, loop);
    assert.equal(calls.length, 1);
    assert.equal(result.steps, 1);
    assert.equal(result.history.length, 1);
    assert.equal(result.history[0]!.validation.score, 0.5);
    assert.equal(result.history[0]!.trainLoss, 1, "the mean over the rows that were seen");
    assert.equal(result.stoppedBy, "time-budget");
  });
});

describe("fit: schedule, order and keys", () => {
  test("every step gets warmup-cosine's learning rate over all `epochs` and the key stepSeed(seed, step), also when the run pauses sooner", async () => {
    const { loop, calls } = scripted(10, Array(10).fill(0.5).map((v, i) => v + i));
    const result = await startFit({ ...base, epochs: 4 }, loop).advance(2);
    assert.equal(result.stoppedBy, "paused");
    assert.equal(calls.length, 6);
    const schedule = fitSchedule({ lr: 0.1, epochs: 4, batchSize: 4 }, 10);
    assert.deepEqual(schedule, { lr: 0.1, warmupSteps: 1, totalSteps: 12, minLrRatio: 0.05 });
    calls.forEach((call, k) => {
      assert.equal(call.lr, warmupCosine(schedule, k));
      assert.equal(call.seed, stepSeed(3, k));
    });
    // the peak after warmup, then strictly decreasing
    assert.equal(calls[0]!.lr, 0.1);
    for (let k = 2; k < calls.length; k++) assert.ok(calls[k]!.lr < calls[k - 1]!.lr);
  });

  test("each epoch visits every row once in batches of batchSize; the order depends on the seed alone", async () => {
    const orders = async (seed: number) => {
      const { loop, calls } = scripted(10, [1, 2]);
      await fit({ ...base, seed, epochs: 2 }, loop);
      return calls.map((c) => c.rows);
    };
    const first = await orders(3);
    assert.deepEqual(first.map((rows) => rows.length), [4, 4, 2, 4, 4, 2]);
    for (const epoch of [first.slice(0, 3), first.slice(3)]) assert.deepEqual(epoch.flat().sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.notDeepEqual(first.slice(0, 3), first.slice(3), "reshuffled every epoch");
    assert.deepEqual(await orders(3), first);
    assert.notDeepEqual(await orders(4), first);
  });
});

describe("fit: settings and step options", () => {
  test("refuses settings the loop cannot run, naming the field", () => {
    assert.throws(() => checkFitSettings({ ...base, epochs: 0 }), /epochs must be a positive integer, got 0/);
    assert.throws(() => checkFitSettings({ ...base, batchSize: 2.5 }), /batchSize must be a positive integer, got 2\.5/);
    assert.throws(() => checkFitSettings({ ...base, patience: -1 }), /patience must be a positive integer/);
    assert.throws(() => checkFitSettings({ ...base, lr: 0 }), /lr must be a positive number, got 0/);
    assert.throws(() => checkFitSettings({ ...base, lr: NaN }), /lr must be a positive number, got NaN/);
  });

  test("AdamW with the weight decay unless an optimiser is given; clipNorm 0 turns clipping off", () => {
    assert.deepEqual(stepOptions({ weightDecay: 0.01, clipNorm: 1 }), { optimizer: { kind: "adamw", weightDecay: 0.01 }, clipNorm: 1 });
    assert.deepEqual(stepOptions({ weightDecay: 0.01, clipNorm: 0 }), { optimizer: { kind: "adamw", weightDecay: 0.01 } });
    assert.deepEqual(stepOptions({ weightDecay: 0.1, clipNorm: 2, optimizer: { kind: "sgd" } }).optimizer, { kind: "sgd" });
  });
});

describe("fit: a run paused between epochs", () => {
  test("advancing to epoch 2, then to the end, is the run made in one go: same rows, rates, keys, best epoch and stop", async () => {
    const scores = [0.5, 0.8, 0.7, 0.9, 0.85, 0.6, 0.6];
    const whole = scripted(10, scores);
    const once = await fit({ ...base, epochs: 7 }, whole.loop);
    const parts = scripted(10, scores);
    const run = startFit({ ...base, epochs: 7 }, parts.loop);
    const paused = await run.advance(2);
    assert.equal(run.done, false);
    assert.equal(run.epoch, 2);
    assert.equal(paused.history.length, 2);
    assert.equal(paused.stoppedBy, "paused");
    const resumed = await run.advance();
    assert.equal(run.done, true);
    assert.deepEqual(parts.calls, whole.calls);
    assert.equal(resumed.bestEpoch, once.bestEpoch);
    assert.equal(resumed.stoppedBy, once.stoppedBy);
    assert.equal(resumed.history.length, once.history.length);
    // a finished run stays finished
    assert.equal((await run.advance()).history.length, once.history.length);
    assert.equal(parts.calls.length, whole.calls.length);
  });

  test("the time budget counts training, not the time a run waits paused", async () => {
    const { loop } = scripted(8, [0.5, 0.6, 0.7, 0.8]);
    const run = startFit({ ...base, epochs: 4, patience: 4, timeBudgetMs: 200 }, loop);
    await run.advance(1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const result = await run.advance();
    assert.equal(result.stoppedBy, "epochs");
    assert.equal(result.history.length, 4);
  });
});

