/**
 * fit: the one training loop under supervised training (src/train/trainer.ts)
 * and contrastive alignment (src/align/trainer.ts). The trainers say what a
 * step is (a compiled TrainStep, ONNX Runtime's, GradCache's) and how the
 * validation split scores a set of parameters; every rule of the run lives
 * here, once:
 *
 *  - settings: epochs, batch size and patience positive integers, lr a
 *    positive number, else one error naming the field;
 *  - schedule: AdamW steps at a linear warmup over the first 5% of the steps
 *    to `lr`, then a cosine decay to 5% of it at the last step of `epochs`
 *    (also when the run pauses sooner, `startFit(...).advance(n)`: a
 *    learning-rate trial is the first epochs of the very run it stands for);
 *  - clipping: the global gradient norm clipped at `clipNorm` (0: off), inside
 *    the step (`stepOptions`);
 *  - order and keys: the rows reshuffled every epoch by a generator forked
 *    from `seed`; step k draws its dropout key stepSeed(seed, k), so the same
 *    seed gives the same run bit for bit;
 *  - divergence: a loss that is not finite stops the run at once with
 *    "<what> diverged: the loss became NaN at epoch E, step S. Lower the
 *    learning rate (--lr, now X)";
 *  - best parameters: every epoch is scored on validation; the parameters of
 *    the best-scoring epoch are returned. A NaN score (no validation rows) is
 *    no evidence: it never displaces a scored epoch, and any later epoch
 *    displaces it (with no validation at all, the latest epoch is kept);
 *  - early stopping: `patience` epochs after the best one without a better
 *    score;
 *  - time budget: checked before every step but the first, so a run makes at
 *    least one step and an epoch the budget cuts short is still validated;
 *  - progress: `onEpoch` after every epoch, `onStep` after every step.
 */
import { FusionkitError, requirePositiveInteger } from "../errors.ts";
import { warmupCosine, type OptimizerConfig } from "../engine/optim.ts";
import { HostRng, stepSeed } from "../engine/random.ts";
import type { TrainStepOptions } from "../engine/step.ts";
import { chunks } from "./batching.ts";

export type FitSettings = {
  seed: number;
  epochs: number;
  /** rows per optimiser step */
  batchSize: number;
  /** peak learning rate */
  lr: number;
  patience: number;
  /** stop once this much time has passed (checked before each step but the first) */
  timeBudgetMs?: number;
};

/** Refuses settings the loop cannot run, naming the field. */
export function checkFitSettings(settings: Pick<FitSettings, "epochs" | "batchSize" | "patience" | "lr">): void {
  requirePositiveInteger(settings.epochs, "epochs");
  requirePositiveInteger(settings.batchSize, "batchSize");
  requirePositiveInteger(settings.patience, "patience");
  if (!(settings.lr > 0 && Number.isFinite(settings.lr))) throw new FusionkitError(`lr must be a positive number, got ${settings.lr}`, { field: "lr" });
}

/** The step's optimiser and clipping: AdamW with `weightDecay` unless `optimizer` says otherwise; clipNorm 0 turns clipping off. */
export function stepOptions(options: { weightDecay: number; clipNorm: number; optimizer?: OptimizerConfig }): TrainStepOptions {
  return { optimizer: options.optimizer ?? { kind: "adamw", weightDecay: options.weightDecay }, ...(options.clipNorm > 0 ? { clipNorm: options.clipNorm } : {}) };
}

/** What a step reports: at least its loss (mean over the step's real rows). */
export type StepMetrics = { loss: number };

export type FitLoop<M extends StepMetrics, V extends { score: number }> = {
  /** the rows an epoch shuffles and cuts into steps of `batchSize` */
  rows: readonly number[];
  /** one optimiser step on `rows` at learning rate `lr`, with dropout key `seed` */
  step(rows: number[], lr: number, seed: number): M | Promise<M>;
  /** the parameters after the last step (the caller's copy: kept as the best without another copy) */
  currentParams(): Float32Array;
  /** the validation of a set of parameters; `score` selects the best epoch */
  validate(params: Float32Array): V | Promise<V>;
  higherIsBetter: boolean;
  /** names the run in the divergence error, e.g. "training", "alignment training" */
  what: string;
  /** the error's layer: what diverged (the method's name, "InfoNCE") */
  layer: string;
};

export type FitEpoch<M, V> = {
  epoch: number;
  /** mean step loss over the epoch's rows */
  trainLoss: number;
  /** the metrics of the epoch's last step */
  lastStep: M | undefined;
  validation: V;
  ms: number;
  /** this epoch is the best so far (its parameters are the ones kept) */
  best: boolean;
  /** the parameters after this epoch */
  params: Float32Array;
};

/** why a run ended; "paused": `advance(n)` reached epoch n and the run may go on */
export type StopReason = "epochs" | "early-stopping" | "time-budget" | "paused";

export type FitResult<M, V> = {
  history: Omit<FitEpoch<M, V>, "params" | "best">[];
  bestEpoch: number;
  bestParams: Float32Array;
  stoppedBy: StopReason;
  steps: number;
};

export type FitHooks<M, V> = {
  onStep?: (metrics: M) => void;
  onEpoch?: (epoch: FitEpoch<M, V>) => void;
};

/** Linear warmup over 5% of the steps, cosine decay to 5% of the peak at the last step of `epochs`. */
export function fitSchedule(settings: Pick<FitSettings, "lr" | "epochs" | "batchSize">, rows: number) {
  const totalSteps = settings.epochs * Math.ceil(rows / settings.batchSize);
  return { lr: settings.lr, warmupSteps: Math.max(1, Math.round(0.05 * totalSteps)), totalSteps, minLrRatio: 0.05 };
}

/**
 * A run that can pause between epochs: `advance(n)` trains up to epoch n (or
 * to the end, or until a stop rule fires) and resolves with the run so far;
 * a later `advance` continues exactly where it paused (same row order, step
 * keys, schedule, best epoch and patience count), so a paused and continued
 * run is the run made in one go, step for step. The bench's learning-rate
 * trials pause after their trial epochs and the winner continues
 * (src/bench/lrChoice.ts) instead of training again from the start.
 */
export type FitRun<M, V> = {
  advance(untilEpoch?: number): Promise<FitResult<M, V>>;
  /** true once a stop rule ended the run (a pause is not an end) */
  readonly done: boolean;
  /** the epochs trained so far */
  readonly epoch: number;
};

export function startFit<M extends StepMetrics, V extends { score: number }>(settings: FitSettings, loop: FitLoop<M, V>, hooks: FitHooks<M, V> = {}): FitRun<M, V> {
  checkFitSettings(settings);
  const { seed, epochs, batchSize, lr, patience } = settings;
  const schedule = fitSchedule(settings, loop.rows.length);
  const better = (a: number, b: number) => (loop.higherIsBetter ? a > b : a < b);
  const shuffleRng = new HostRng(seed).fork();
  const history: FitResult<M, V>["history"] = [];
  let best: { epoch: number; score: number; params: Float32Array } | undefined;
  let stoppedBy: StopReason | undefined;
  let steps = 0;
  let epoch = 0;
  // the time budget counts training, not the time a paused run waits
  let spentMs = 0;
  let resumedAt = 0;
  const outOfTime = () => settings.timeBudgetMs !== undefined && spentMs + performance.now() - resumedAt > settings.timeBudgetMs;
  const result = (): FitResult<M, V> => ({ history, bestEpoch: best!.epoch, bestParams: best!.params, stoppedBy: stoppedBy ?? "paused", steps });

  async function advance(untilEpoch: number = epochs): Promise<FitResult<M, V>> {
    if (stoppedBy !== undefined) return result();
    resumedAt = performance.now();
    try {
      while (epoch < Math.min(untilEpoch, epochs)) {
        epoch++;
        const epochStart = performance.now();
        const order = shuffleRng.shuffle([...loop.rows]);
        let lossSum = 0;
        let rowsSeen = 0;
        let lastStep: M | undefined;
        for (const rows of chunks(order, batchSize)) {
          if (steps > 0 && outOfTime()) break;
          const metrics = await loop.step(rows, warmupCosine(schedule, steps), stepSeed(seed, steps));
          steps++;
          if (!Number.isFinite(metrics.loss)) {
            throw new FusionkitError(`${loop.what} diverged: the loss became ${metrics.loss} at epoch ${epoch}, step ${steps}. Lower the learning rate (--lr, now ${lr})`, { layer: loop.layer });
          }
          hooks.onStep?.(metrics);
          lossSum += metrics.loss * rows.length;
          rowsSeen += rows.length;
          lastStep = metrics;
        }
        const params = loop.currentParams();
        const validation = await loop.validate(params);
        const record = { epoch, trainLoss: lossSum / Math.max(1, rowsSeen), lastStep, validation, ms: performance.now() - epochStart };
        history.push(record);
        const improved = best === undefined || Number.isNaN(best.score) || better(validation.score, best.score);
        if (improved) best = { epoch, score: validation.score, params };
        hooks.onEpoch?.({ ...record, best: improved, params });
        // patience first: the cap ended the run only if patience had not run out by then (as the bench reports it)
        if (epoch - best!.epoch >= patience) stoppedBy = "early-stopping";
        else if (epoch === epochs) stoppedBy = "epochs";
        else if (outOfTime()) stoppedBy = "time-budget";
        if (stoppedBy !== undefined) break;
      }
    } finally {
      spentMs += performance.now() - resumedAt;
    }
    return result();
  }

  return {
    advance,
    get done() {
      return stoppedBy !== undefined;
    },
    get epoch() {
      return epoch;
    },
  };
}

/** The whole run in one go. */
export async function fit<M extends StepMetrics, V extends { score: number }>(settings: FitSettings, loop: FitLoop<M, V>, hooks: FitHooks<M, V> = {}): Promise<FitResult<M, V>> {
  return startFit(settings, loop, hooks).advance();
}
