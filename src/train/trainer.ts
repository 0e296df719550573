/**
 * trainModel: dataset + fusion method -> trained parameters. The run's rules
 * (AdamW, linear warmup + cosine decay, gradient clipping, divergence, early
 * stopping on the validation metric, the best-validation epoch's parameters
 * kept, time budget) are the training core's, src/train/fit.ts, shared with
 * contrastive alignment. The trainer never looks inside the method: it builds
 * the model (src/model) and gives the core one compiled TrainStep over padded
 * batches and the validation metric.
 *
 * Determinism: parameter init, shuffling and per-step dropout keys all derive
 * from `seed` (HostRng on the host; the step key is a hash of seed and step),
 * so the same seed gives the same history bit for bit on the same machine.
 */
import type { PreparedDataset, SplitData } from "../data/types.ts";
import { FusionkitError } from "../errors.ts";
import { flattenParams, unflattenHost, type ParamLayout, type ParamTree, type Params } from "../engine/params.ts";
import { HostRng, type Rng } from "../engine/random.ts";
import { leavesReadByLoss, readParamCount } from "../engine/readLeaves.ts";
import type { BackendChoice } from "../export/trainBackend.ts";
import { primaryMetric, taskMetrics, type MetricSet } from "../eval/metrics.ts";
import type { FusionMethod, PostFitData } from "../fusion/types.ts";
import type { ImageEncoderKind, ModalityEncoder, Pooling, TextEncoderKind } from "../encoders/index.ts";
import { buildModel, type Model, type ModelBatch, type ModelParams, type ModelSpec } from "../model/model.ts";
import { buildSpec, outDimOf, specDefaults } from "../model/spec.ts";
import { paddedBatch, type ModelHostBatch } from "./batching.ts";
import { defaultFolds, outOfFoldPredictions } from "./crossFit.ts";
import { checkFitSettings, startFit, stepOptions, type FitResult, type FitSettings, type StopReason } from "./fit.ts";
import { Predictor } from "./predict.ts";
import { timePhase, timePhaseSync } from "./phaseTimes.ts";

export type EpochRecord = {
  epoch: number;
  /** mean training loss over the epoch's real rows */
  trainLoss: number;
  /** the task's primary metric on the validation split (see primaryMetric) */
  valMetric: number;
  valMetrics: MetricSet;
  ms: number;
};

export type EpochInfo = EpochRecord & {
  epochs: number;
  best: boolean;
  metricName: string;
  /** the parameters after this epoch as a host tree; lazy, so a callback that does not read them costs nothing */
  params: () => ModelParams;
};

export type TrainOptions = {
  method: FusionMethod | string;
  /** overrides of the method's defaults */
  methodConfig?: Record<string, unknown>;
  seed?: number;
  epochs?: number;
  batchSize?: number;
  lr?: number;
  weightDecay?: number;
  /** epochs without a validation improvement before stopping */
  patience?: number;
  /** stop training once this much time has passed (checked before each step; the partial epoch is validated) */
  timeBudgetMs?: number;
  onEpoch?: (info: EpochInfo) => void;
  encoderDim?: number;
  /** "mean" builds the plain-mean encoders, for measurement only (ModelSpec.encoderPooling) */
  encoderPooling?: Pooling;
  /** "patches": the flattened-patch image encoder instead of the default CNN (ModelSpec.imageEncoder) */
  imageEncoder?: ImageEncoderKind;
  /** "ordered": attention pooling plus the bag of words for text instead of the bag alone (ModelSpec.textEncoder) */
  textEncoder?: TextEncoderKind;
  /** dropout before the head */
  dropout?: number;
  /** overrides the method's modalityDropout */
  modalityDropout?: number;
  /** lambda of the per-modality auxiliary losses of a multimodal model (ModelSpec.unimodalAuxWeight); default 0 */
  unimodalAuxWeight?: number;
  /** global gradient norm clip; 0 disables */
  clipNorm?: number;
  /**
   * Warm start: the parameters of some modalities' encoders to begin from instead of
   * their random init, e.g. each modality's encoder from a unimodal model of the same
   * seed (the bench's warm start, src/bench/warmStart.ts). Each must have the layout
   * of this model's encoder for that modality.
   */
  encoderInit?: Record<string, ParamTree>;
  /** train-step engine (src/export/trainBackend.ts): default FUSIONKIT_BACKEND, else "auto" (ONNX Runtime where the step lowers) */
  backend?: BackendChoice;
  /**
   * false: skip the method's second stage (postFit). The cross-fitting fold
   * models set it (src/train/crossFit.ts); default true.
   */
  secondStage?: boolean;
};

export type TrainedModel = {
  spec: ModelSpec;
  model: Model;
  /** host parameters of the best-validation epoch */
  params: ModelParams;
  layout: ParamLayout<ModelParams>;
  history: EpochRecord[];
  bestEpoch: number;
  /** why the training loop ended (src/train/fit.ts); absent in models saved before it was recorded */
  stoppedBy?: StopReason;
  trainMs: number;
  /** values in the leaves the training loss reads (src/engine/readLeaves.ts): a unimodal model's other encoders, or a token table no part of the method reads, are not counted */
  paramCount: number;
  labelNames: string[];
  labelField: string;
  datasetName: string;
  /** encoderInit: the modalities whose encoders the run started from (TrainOptions.encoderInit); absent: random init */
  options: { seed: number; epochs: number; batchSize: number; lr: number; weightDecay: number; patience: number; encoderInit?: string[] };
};

export const trainDefaults = { seed: 0, epochs: 20, batchSize: 32, lr: 1e-3, weightDecay: 0.01, patience: 5, dropout: specDefaults.dropout, clipNorm: 1 };

export async function trainModel(dataset: PreparedDataset, opts: TrainOptions): Promise<TrainedModel & { stoppedBy: StopReason }> {
  return (await openTraining(dataset, opts)).finish();
}

/**
 * A training run that can pause between epochs (src/train/fit.ts startFit): the
 * bench's learning-rate trials train their first epochs, and the winner goes on
 * from where its trial paused (src/bench/lrChoice.ts) rather than from the start.
 * Holds its train-step and validation sessions until `finish` or `dispose`.
 */
export type OpenTraining = {
  /** trains up to epoch `untilEpoch` (default: to the end, or until a stop rule); resolves with the epochs so far */
  advance(untilEpoch?: number): Promise<{ history: EpochRecord[]; done: boolean }>;
  /** reports every epoch from now on to `onEpoch`, after replaying the epochs already trained */
  reportTo(onEpoch: NonNullable<TrainOptions["onEpoch"]>): void;
  /** trains to the end, runs the method's second stage, releases the sessions, returns the model */
  finish(): Promise<TrainedModel & { stoppedBy: StopReason }>;
  /** releases the sessions without finishing (a trial that lost) */
  dispose(): Promise<void>;
};

export async function openTraining(dataset: PreparedDataset, opts: TrainOptions): Promise<OpenTraining> {
  const settings: FitSettings = {
    seed: opts.seed ?? trainDefaults.seed,
    epochs: opts.epochs ?? trainDefaults.epochs,
    batchSize: opts.batchSize ?? trainDefaults.batchSize,
    lr: opts.lr ?? trainDefaults.lr,
    patience: opts.patience ?? trainDefaults.patience,
    ...(opts.timeBudgetMs !== undefined ? { timeBudgetMs: opts.timeBudgetMs } : {}),
  };
  const { seed, epochs, batchSize, lr, patience } = settings;
  const weightDecay = opts.weightDecay ?? trainDefaults.weightDecay;
  checkFitSettings(settings);
  const train = dataset.splits.train;
  if (train.n === 0) throw new FusionkitError(`the train split of "${dataset.name}" is empty`, { field: "train" });

  const spec = buildSpec(dataset, opts);
  if (opts.encoderInit && spec.method.postFit && opts.secondStage !== false) {
    throw new FusionkitError(`${spec.method.name}: its second stage is fitted on out-of-fold predictions of models trained on part of the train rows; encoders given to start from (encoderInit) have seen every train row, so the folds would leak. Train it without encoderInit`, { field: "encoderInit" });
  }
  const model = buildModel(spec);
  const { layout, flat } = flattenParams(withEncoders(model.init(new HostRng(seed)), opts.encoderInit ?? {}, spec.method.name, model.encoders));
  // loaded here, not at the top: `fusionkit train --help` imports this file and must not load ONNX Runtime
  const { openTrainStep, openSplitPredictor } = await import("../export/trainBackend.ts");
  const lossFn = (p: Params<ModelParams>, b: ModelBatch, rng: Rng) => model.loss(p, b, rng);
  const exampleBatch = paddedBatch(train, spec.modalities, spec.task, spec.outDim, [0], batchSize);
  // traced once here for the step and the parameter count (both backends leave unread leaves as they are)
  const read = timePhaseSync("trace the loss", () => leavesReadByLoss(layout, lossFn, exampleBatch));
  const step = await timePhase("open train step", () => openTrainStep({
    layout,
    params: flat,
    lossFn,
    options: { ...stepOptions({ weightDecay, clipNorm: opts.clipNorm ?? trainDefaults.clipNorm }), readLeaves: read },
    exampleBatch,
    ...(opts.backend ? { backend: opts.backend } : {}),
    what: spec.method.name,
  }));
  let predictor: Awaited<ReturnType<typeof openSplitPredictor>>;
  try {
    predictor = await timePhase("open validation", () => openSplitPredictor(step.backend, model, layout, flat, dataset.splits.val, batchSize));
  } catch (error) {
    await step.dispose();
    throw error;
  }
  const { higherIsBetter, name: metricName } = primaryMetric(dataset.task);

  const history: EpochRecord[] = [];
  const reported: EpochInfo[] = [];
  let report = opts.onEpoch;
  let stepsTaken = 0;
  // ONNX Runtime reads a batch only while its step runs: one set of host arrays serves every step (batching.ts paddedBatch)
  let reused: ModelHostBatch | undefined;
  // training time: the epochs and the second stage, not the open sessions or a pause
  let trainMs = 0;
  let disposed = false;
  const run = startFit(
    settings,
    {
      rows: Array.from({ length: train.n }, (_, i) => i),
      step: async (rows, stepLr, stepSeed) => {
        const batch = timePhaseSync("train batches", () => paddedBatch(train, spec.modalities, spec.task, spec.outDim, rows, batchSize, reused));
        if (step.backend === "ort") reused = batch;
        // a fresh ONNX Runtime session's first steps can be slow (docs/engine.md): timed apart
        const metrics = await timePhase(stepsTaken++ < 50 ? "train steps (first 50 of a run)" : "train steps (after the first 50)", () => step.step(batch, stepLr, stepSeed));
        return { loss: metrics.loss! };
      },
      currentParams: () => step.currentParams(),
      validate: (params) =>
        timePhase("validation", async () => {
          predictor.setParams(params);
          const val = dataset.splits.val;
          const metrics: MetricSet = val.n === 0 ? { [metricName]: NaN } : taskMetrics(dataset.task, (await predictor.predict(val)).probs, val.labels, outDimOf(dataset));
          return { score: metrics[metricName]!, metrics };
        }),
      higherIsBetter,
      what: "training",
      layer: spec.method.name,
    },
    {
      onEpoch: ({ epoch, trainLoss, validation, ms, best, params }) => {
        const record: EpochRecord = { epoch, trainLoss, valMetric: validation.score, valMetrics: validation.metrics, ms };
        history.push(record);
        const info: EpochInfo = { ...record, epochs, best, metricName, params: () => unflattenHost(layout, params) };
        reported.push(info);
        report?.(info);
      },
    },
  );

  async function dispose(): Promise<void> {
    if (disposed) return;
    disposed = true;
    await predictor.dispose();
    await step.dispose();
  }

  /** trains to `untilEpoch` (default: the end); a failure releases the sessions */
  async function trainTo(untilEpoch?: number) {
    if (disposed) throw new Error("openTraining: advance after finish or dispose");
    const started = performance.now();
    try {
      return await run.advance(untilEpoch);
    } catch (error) {
      await dispose();
      throw error;
    } finally {
      trainMs += performance.now() - started;
    }
  }

  async function finish(): Promise<TrainedModel & { stoppedBy: StopReason }> {
    let result: FitResult<{ loss: number }, { score: number; metrics: MetricSet }>;
    try {
      result = await trainTo();
    } finally {
      await dispose();
    }
    const best = { epoch: result.bestEpoch, params: result.bestParams };
    if (spec.method.postFit && opts.secondStage !== false) {
      const started = performance.now();
      const folds = typeof model.config.folds === "number" ? model.config.folds : defaultFolds;
      const outOfFold = await outOfFoldPredictions(dataset, { ...opts, secondStage: false }, folds, trainModel);
      best.params = fitSecondStage(spec, model.config, layout, best.params, outOfFold);
      trainMs += performance.now() - started;
    }
    return {
      spec,
      model,
      params: unflattenHost(layout, best.params),
      layout,
      history,
      bestEpoch: best.epoch,
      stoppedBy: result.stoppedBy,
      trainMs,
      paramCount: readParamCount(layout, read),
      labelNames: dataset.labelNames,
      labelField: dataset.labelField,
      datasetName: dataset.name,
      options: { seed, epochs, batchSize, lr, weightDecay, patience, ...(opts.encoderInit && Object.keys(opts.encoderInit).length ? { encoderInit: Object.keys(opts.encoderInit) } : {}) },
    };
  }

  return {
    advance: async (untilEpoch) => {
      await trainTo(untilEpoch);
      return { history, done: run.done };
    },
    reportTo(onEpoch) {
      report = onEpoch;
      for (const info of reported) onEpoch(info);
    },
    finish,
    dispose,
  };
}

/**
 * `params` with the encoders named in `init` replaced by copies of them, as
 * each of the model's `modelEncoders` starts from a trained one (`startFrom`: the text
 * encoder's token table from its bag). An encoder of another shape (another
 * width, text encoder or image size) is refused rather than silently reshaped,
 * as is a modality the model lacks.
 */
export function withEncoders(params: ModelParams, init: Record<string, ParamTree>, what: string, modelEncoders: ModalityEncoder[]): ModelParams {
  const encoders = { ...params.encoders };
  for (const [name, tree] of Object.entries(init)) {
    const mine = encoders[name];
    if (!mine) throw new FusionkitError(`${what}: no "${name}" encoder to start from given parameters; its encoders: ${Object.keys(encoders).join(", ")}`, { field: "encoderInit" });
    const want = flattenParams(mine).layout;
    const got = flattenParams(tree);
    const shapes = (l: ParamLayout) => l.entries.map((e) => `${e.name}[${e.shape.join("x")}]`).join(" ");
    if (shapes(want) !== shapes(got.layout)) {
      throw new FusionkitError(`${what}: the "${name}" encoder given to start from has another layout (${shapes(got.layout)}) than this model's (${shapes(want)}); train it with the same encoder settings`, { field: "encoderInit" });
    }
    const copy = unflattenHost(got.layout, got.flat);
    const startFrom = modelEncoders.find((e) => e.spec.name === name)?.startFrom;
    encoders[name] = startFrom ? startFrom(copy) : copy;
  }
  return { ...params, encoders };
}

/**
 * A method's host-side second stage (late fusion's stacking), fitted on
 * out-of-fold predictions of the TRAIN split (src/train/crossFit.ts; contract in
 * src/fusion/types.ts `postFit`); validation labels never reach it. The fitted
 * fusion subtree has init's layout, so it goes back into the same flat vector.
 */
function fitSecondStage(spec: ModelSpec, config: Record<string, unknown>, layout: ParamLayout, flat: Float32Array, outOfFold: PostFitData): Float32Array {
  const tree = unflattenHost(layout, flat) as Record<string, ParamTree>;
  tree.fusion = spec.method.postFit!(tree.fusion!, outOfFold, config);
  const refit = flattenParams(tree);
  if (refit.layout.total !== layout.total) {
    throw new Error(`method "${spec.method.name}": postFit changed the parameter layout (${layout.total} -> ${refit.layout.total} values)`);
  }
  return refit.flat;
}

/** Every metric of the task on one split. */
export function evaluateSplit(predictor: Predictor, split: SplitData, dataset: Pick<PreparedDataset, "task" | "labelNames">): MetricSet {
  if (split.n === 0) return { [primaryMetric(dataset.task).name]: NaN };
  const { probs } = predictor.predict(split);
  return taskMetrics(dataset.task, probs, split.labels, outDimOf(dataset));
}
