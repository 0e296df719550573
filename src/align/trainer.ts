/**
 * trainAlignment: contrastive training of two or more modality encoders into
 * one embedding space (CLIP recipe: symmetric InfoNCE, in-batch negatives,
 * learnable clamped temperature; see alignModel.ts and loss.ts). The run's
 * rules (AdamW with warmup + cosine, gradient clipping, divergence, early
 * stopping, the best epoch's parameters kept, time budget) are the training
 * core's, src/train/fit.ts, shared with supervised training; the score that
 * selects the epoch is validation retrieval (mean Recall@1/5/10 over both
 * directions).
 *
 * Batch size and accumulation follow open_clip's --batch-size / --accum-freq:
 * `batchSize` rows per micro-batch, `accumulate` micro-batches per update, so
 * the contrastive batch (the rows that are each other's negatives) has
 * batchSize * accumulate rows. accumulate = 1 uses the engine's one-graph
 * TrainStep; accumulate > 1 uses GradCacheStep, which computes the exact
 * gradient of the full-batch loss (not the sum of per-micro-batch losses).
 */
import type { ModalitySpec, PreparedDataset } from "../data/types.ts";
import { FusionkitError, requirePositiveInteger } from "../errors.ts";
import { flattenParams, unflattenHost, type ParamLayout, type ParamTree } from "../engine/params.ts";
import type { OptimizerConfig } from "../engine/optim.ts";
import { HostRng } from "../engine/random.ts";
import type { LossFn } from "../engine/step.ts";
import type { BackendChoice } from "../export/trainBackend.ts";
import type { Tensor } from "../engine/tensor.ts";
import { alignDefaults, buildAlignModel, type AlignInputs, type AlignModel, type AlignParamTree, type AlignSpec } from "./alignModel.ts";
import { Embedder } from "./embedder.ts";
import { evaluateRetrieval } from "./evaluate.ts";
import { applyFilters, type RowFilter } from "./filters.ts";
import { GradCacheStep, type ContrastiveStepMetrics } from "./gradCache.ts";
import { multiModalInfoNCE } from "./loss.ts";
import { pairMask } from "./loss.ts";
import { paddedInputs } from "../train/batching.ts";
import { pairRows, trainBatch } from "./pairs.ts";
import { meanRecall, type RankSummary } from "./retrieval.ts";
import { checkFitSettings, fit, stepOptions, type FitResult } from "../train/fit.ts";

export type AlignOptions = {
  /** modality names to align, e.g. ["image", "text"] */
  pair: string[];
  /** kept field whose equal values are true matches (emoji: "emoji"); default: each row is its own group */
  matchField?: string;
  seed?: number;
  epochs?: number;
  /** rows per micro-batch */
  batchSize?: number;
  /** micro-batches per optimiser update (the contrastive batch is batchSize * accumulate) */
  accumulate?: number;
  lr?: number;
  weightDecay?: number;
  /** epochs without a validation improvement before stopping */
  patience?: number;
  /** global gradient norm clip; 0 disables */
  clipNorm?: number;
  encoderDim?: number;
  embedDim?: number;
  /** what an image's projection head reads (alignModel.ts); default "tokens" */
  head?: "pooled" | "tokens";
  /** exp(t) at initialisation, default 1 / 0.07 (clamped to <= 100 throughout) */
  initLogitScale?: number;
  /** restrict the train and validation rows (cross-vendor / cross-language transfer) */
  trainFilters?: RowFilter[];
  /** start from these parameters (same spec) instead of a fresh initialisation: continued training, fine-tuning */
  initialParams?: ParamTree;
  /** default AdamW with `weightDecay` */
  optimizer?: OptimizerConfig;
  timeBudgetMs?: number;
  /** train-step engine (src/export/trainBackend.ts): default FUSIONKIT_BACKEND, else "auto" (ONNX Runtime where the step lowers) */
  backend?: BackendChoice;
  onEpoch?: (info: AlignEpoch & { epochs: number; best: boolean }) => void;
  /** called after every optimiser step (tests watch the temperature) */
  onStep?: (metrics: ContrastiveStepMetrics) => void;
};

export type AlignEpoch = {
  epoch: number;
  trainLoss: number;
  /** the clamped exp(t) after the epoch's last step */
  logitScale: number;
  /** mean Recall@1/5/10 over every direction on the validation split (NaN when it has no pairs) */
  valScore: number;
  val: Record<string, RankSummary>;
  ms: number;
};

export type AlignedModel = {
  spec: AlignSpec;
  model: AlignModel;
  params: ParamTree;
  layout: ParamLayout<AlignParamTree>;
  flat: Float32Array;
  history: AlignEpoch[];
  bestEpoch: number;
  trainMs: number;
  paramCount: number;
  matchField?: string;
  datasetName: string;
  trainRows: number;
  options: { seed: number; epochs: number; batchSize: number; accumulate: number; lr: number; weightDecay: number; patience: number; trainFilters: RowFilter[] };
};

export const alignTrainDefaults = { seed: 0, epochs: 15, batchSize: 64, accumulate: 1, lr: 5e-3, weightDecay: 0.1, patience: 4, clipNorm: 1 };

/** The specs of the paired modalities; a name the dataset lacks is an error listing the dataset's modalities. */
export function resolvePair(dataset: Pick<PreparedDataset, "name" | "modalities">, pair: string[]): ModalitySpec[] {
  const available = dataset.modalities.map((m) => `${m.name} (${m.type})`).join(", ");
  if (pair.length < 2) throw new FusionkitError(`--pair needs at least two modalities, got "${pair.join(",")}"; "${dataset.name}" has: ${available}`, { field: "pair" });
  if (new Set(pair).size !== pair.length) throw new FusionkitError(`--pair names a modality twice: "${pair.join(",")}"`, { field: "pair" });
  return pair.map((name) => {
    const spec = dataset.modalities.find((m) => m.name === name);
    if (!spec) throw new FusionkitError(`dataset "${dataset.name}" has no modality "${name}"; its modalities are: ${available}`, { field: "pair" });
    return spec;
  });
}

type StepRunner = {
  step(rows: number[], lr: number, seed: number): ContrastiveStepMetrics | Promise<ContrastiveStepMetrics>;
  currentParams(): Float32Array;
  dispose(): void | Promise<void>;
};

export async function trainAlignment(dataset: PreparedDataset, opts: AlignOptions): Promise<AlignedModel> {
  const seed = opts.seed ?? alignTrainDefaults.seed;
  const epochs = opts.epochs ?? alignTrainDefaults.epochs;
  const batchSize = opts.batchSize ?? alignTrainDefaults.batchSize;
  const accumulate = opts.accumulate ?? alignTrainDefaults.accumulate;
  const lr = opts.lr ?? alignTrainDefaults.lr;
  const weightDecay = opts.weightDecay ?? alignTrainDefaults.weightDecay;
  const patience = opts.patience ?? alignTrainDefaults.patience;
  const clipNorm = opts.clipNorm ?? alignTrainDefaults.clipNorm;
  checkFitSettings({ epochs, batchSize, patience, lr });
  requirePositiveInteger(accumulate, "accumulate");
  const specs = resolvePair(dataset, opts.pair);
  const trainFilters = opts.trainFilters ?? [];
  const train = applyFilters(dataset.splits.train, trainFilters, "train");
  const valSplit = dataset.splits.val.n ? applyFilters(dataset.splits.val, trainFilters, "validation") : dataset.splits.val;
  const pairs = pairRows(train, specs, opts.matchField);
  const contrastiveBatch = batchSize * accumulate;
  if (pairs.rows.length < 2) {
    throw new FusionkitError(`only ${pairs.rows.length} train rows have every modality of --pair (${opts.pair.join(", ")}); contrastive training needs at least 2`, { field: "pair" });
  }

  const spec: AlignSpec = {
    modalities: specs,
    encoderDim: opts.encoderDim ?? alignDefaults.encoderDim,
    embedDim: opts.embedDim ?? alignDefaults.embedDim,
    initLogitScale: opts.initLogitScale ?? alignDefaults.initLogitScale,
    ...(opts.head ? { head: opts.head } : {}),
  };
  const model = buildAlignModel(spec);
  const fresh = flattenParams(model.init(new HostRng(seed)));
  const given = opts.initialParams ? flattenParams(opts.initialParams) : fresh;
  // the given tree must have this model's layout; from here on it is read through the model's own (typed) layout
  const { layout } = fresh;
  const { flat } = given;
  if (JSON.stringify(given.layout.entries) !== JSON.stringify(fresh.layout.entries)) {
    throw new FusionkitError("initialParams do not have the layout of this alignment model (other modalities or widths)", { field: "initialParams" });
  }
  const names = specs.map((s) => s.name);
  const options = stepOptions({ weightDecay, clipNorm, ...(opts.optimizer ? { optimizer: opts.optimizer } : {}) });

  const padded = (rows: number[]) => ({
    rows: Array.from({ length: contrastiveBatch }, (_, i) => (i < rows.length ? rows[i]! : rows[0]!)),
    rowWeight: Float32Array.from({ length: contrastiveBatch }, (_, i) => (i < rows.length ? 1 : 0)),
  });
  let runner: StepRunner;
  if (accumulate === 1) {
    const lossFn: LossFn<AlignParamTree, AlignInputs & { pairMask: Tensor; rowWeight: Tensor }> = (p, batch) => {
      const scale = model.logitScale(p);
      const loss = multiModalInfoNCE(model.embed(p, batch), names, scale, batch.pairMask, batch.rowWeight);
      return { loss, metrics: { logitScale: scale } };
    };
    // ONNX Runtime where the step lowers, else jax-js (src/export/trainBackend.ts); loaded here so
    // `fusionkit align --help` does not load ONNX Runtime
    const { openTrainStep } = await import("../export/trainBackend.ts");
    const step = await openTrainStep({
      layout,
      params: flat,
      lossFn,
      options,
      exampleBatch: trainBatch(train, specs, pairs, pairs.rows.slice(0, contrastiveBatch), contrastiveBatch),
      ...(opts.backend ? { backend: opts.backend } : {}),
      what: "the alignment model",
    });
    runner = {
      step: async (rows, stepLr, stepSeedValue) => {
        const m = await step.step(trainBatch(train, specs, pairs, rows, contrastiveBatch), stepLr, stepSeedValue);
        return { loss: m.loss!, logitScale: m.logitScale!, ...(m.gradNorm !== undefined ? { gradNorm: m.gradNorm } : {}) };
      },
      currentParams: () => step.currentParams(),
      dispose: () => step.dispose(),
    };
  } else {
    const step = new GradCacheStep(layout, flat, model, options);
    runner = {
      step: (rows, stepLr) => {
        const full = padded(rows);
        const micro = Array.from({ length: accumulate }, (_, k) => paddedInputs(train, specs, full.rows.slice(k * batchSize, (k + 1) * batchSize), batchSize));
        const groups = full.rows.map((r) => pairs.groups[r]!);
        return step.step(micro, full.rowWeight, pairMask(full.rowWeight, groups), stepLr);
      },
      currentParams: () => step.currentParams(),
      dispose: () => step.dispose(),
    };
  }

  const embedder = new Embedder(model, layout, flat);
  const history: AlignEpoch[] = [];
  let run: FitResult<ContrastiveStepMetrics, { score: number; val: Record<string, RankSummary> }>;
  const started = performance.now();
  try {
    run = await fit(
      { seed, epochs, batchSize: contrastiveBatch, lr, patience, ...(opts.timeBudgetMs !== undefined ? { timeBudgetMs: opts.timeBudgetMs } : {}) },
      {
        rows: pairs.rows,
        step: (rows, stepLr, stepSeed) => runner.step(rows, stepLr, stepSeed),
        currentParams: () => runner.currentParams(),
        validate: (params) => {
          embedder.setParams(params);
          const val = evaluateRetrieval(embedder, valSplit, specs, opts.matchField);
          // no validation pairs: NaN, which the core treats as no evidence (the latest epoch is kept)
          return { score: Object.keys(val).length ? meanRecall(...Object.values(val)) : NaN, val };
        },
        higherIsBetter: true,
        what: "alignment training",
        layer: "InfoNCE",
      },
      {
        ...(opts.onStep ? { onStep: opts.onStep } : {}),
        onEpoch: ({ epoch, trainLoss, lastStep, validation, ms, best }) => {
          const record: AlignEpoch = { epoch, trainLoss, logitScale: lastStep?.logitScale ?? NaN, valScore: validation.score, val: validation.val, ms };
          history.push(record);
          opts.onEpoch?.({ ...record, epochs, best });
        },
      },
    );
  } finally {
    await runner.dispose();
    embedder.dispose();
  }
  const best = { epoch: run.bestEpoch, params: run.bestParams };
  return {
    spec,
    model,
    params: unflattenHost(layout, best.params),
    layout,
    flat: best.params,
    history,
    bestEpoch: best.epoch,
    trainMs: performance.now() - started,
    paramCount: layout.total,
    ...(opts.matchField ? { matchField: opts.matchField } : {}),
    datasetName: dataset.name,
    trainRows: pairs.rows.length,
    options: { seed, epochs, batchSize, accumulate, lr, weightDecay, patience, trainFilters },
  };
}
