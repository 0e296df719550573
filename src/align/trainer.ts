/**
 * trainAlignment: contrastive training of two or more modality encoders into
 * one embedding space (CLIP recipe: symmetric InfoNCE, in-batch negatives,
 * learnable clamped temperature; see alignModel.ts and loss.ts), AdamW with
 * warmup + cosine, gradient clipping, and the epoch with the best validation
 * retrieval (mean Recall@1/5/10 over both directions) kept.
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
import { warmupCosine, type OptimizerConfig } from "../engine/optim.ts";
import { HostRng } from "../engine/random.ts";
import { TrainStep } from "../engine/step.ts";
import type { Tensor } from "../engine/tensor.ts";
import { stepSeed } from "../engine/random.ts";
import { alignDefaults, buildAlignModel, type AlignInputs, type AlignModel, type AlignParamTree, type AlignSpec } from "./alignModel.ts";
import { Embedder } from "./embedder.ts";
import { evaluateRetrieval } from "./evaluate.ts";
import { applyFilters, type RowFilter } from "./filters.ts";
import { GradCacheStep, type ContrastiveStepMetrics } from "./gradCache.ts";
import { multiModalInfoNCE } from "./loss.ts";
import { pairMask } from "./loss.ts";
import { embedBatch, pairRows, trainBatch } from "./pairs.ts";
import { meanRecall, type RankSummary } from "./retrieval.ts";

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
  layout: ParamLayout;
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

type StepRunner = { step(rows: number[], lr: number, seed: number): ContrastiveStepMetrics; currentParams(): Float32Array; dispose(): void };

export async function trainAlignment(dataset: PreparedDataset, opts: AlignOptions): Promise<AlignedModel> {
  const seed = opts.seed ?? alignTrainDefaults.seed;
  const epochs = opts.epochs ?? alignTrainDefaults.epochs;
  const batchSize = opts.batchSize ?? alignTrainDefaults.batchSize;
  const accumulate = opts.accumulate ?? alignTrainDefaults.accumulate;
  const lr = opts.lr ?? alignTrainDefaults.lr;
  const weightDecay = opts.weightDecay ?? alignTrainDefaults.weightDecay;
  const patience = opts.patience ?? alignTrainDefaults.patience;
  const clipNorm = opts.clipNorm ?? alignTrainDefaults.clipNorm;
  requirePositiveInteger(epochs, "epochs");
  requirePositiveInteger(batchSize, "batchSize");
  requirePositiveInteger(accumulate, "accumulate");
  requirePositiveInteger(patience, "patience");
  if (!(lr > 0 && Number.isFinite(lr))) throw new FusionkitError(`lr must be a positive number, got ${lr}`, { field: "lr" });
  const specs = resolvePair(dataset, opts.pair);
  const trainFilters = opts.trainFilters ?? [];
  const train = applyFilters(dataset.splits.train, trainFilters, "train");
  const val = dataset.splits.val.n ? applyFilters(dataset.splits.val, trainFilters, "validation") : dataset.splits.val;
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
  const { layout, flat } = opts.initialParams ? flattenParams(opts.initialParams) : fresh;
  if (opts.initialParams && JSON.stringify(layout.entries) !== JSON.stringify(fresh.layout.entries)) {
    throw new FusionkitError("initialParams do not have the layout of this alignment model (other modalities or widths)", { field: "initialParams" });
  }
  const names = specs.map((s) => s.name);
  const stepsPerEpoch = Math.ceil(pairs.rows.length / contrastiveBatch);
  const schedule = { lr, warmupSteps: Math.max(1, Math.round(0.05 * epochs * stepsPerEpoch)), totalSteps: epochs * stepsPerEpoch, minLrRatio: 0.05 };
  const stepOptions = { optimizer: opts.optimizer ?? ({ kind: "adamw", weightDecay } as OptimizerConfig), ...(clipNorm > 0 ? { clipNorm } : {}) };

  const padded = (rows: number[]) => ({
    rows: Array.from({ length: contrastiveBatch }, (_, i) => (i < rows.length ? rows[i]! : rows[0]!)),
    rowWeight: Float32Array.from({ length: contrastiveBatch }, (_, i) => (i < rows.length ? 1 : 0)),
  });
  let runner: StepRunner;
  if (accumulate === 1) {
    const step = new TrainStep<AlignParamTree, AlignInputs & { pairMask: Tensor; rowWeight: Tensor }>(layout, flat, (p, batch) => {
      const scale = model.logitScale(p);
      const loss = multiModalInfoNCE(model.embed(p, batch), names, scale, batch.pairMask, batch.rowWeight);
      return { loss, metrics: { logitScale: scale } };
    }, stepOptions);
    runner = {
      step: (rows, stepLr, stepSeedValue) => {
        const m = step.step(trainBatch(train, specs, pairs, rows, contrastiveBatch), stepLr, stepSeedValue);
        return { loss: m.loss!, logitScale: m.logitScale!, ...(m.gradNorm !== undefined ? { gradNorm: m.gradNorm } : {}) };
      },
      currentParams: () => step.currentParams(),
      dispose: () => step.dispose(),
    };
  } else {
    const step = new GradCacheStep(layout, flat, model, stepOptions);
    runner = {
      step: (rows, stepLr) => {
        const full = padded(rows);
        const micro = Array.from({ length: accumulate }, (_, k) => embedBatch(train, specs, full.rows.slice(k * batchSize, (k + 1) * batchSize), batchSize));
        const groups = full.rows.map((r) => pairs.groups[r]!);
        return step.step(micro, full.rowWeight, pairMask(full.rowWeight, groups), stepLr);
      },
      currentParams: () => step.currentParams(),
      dispose: () => step.dispose(),
    };
  }

  const embedder = new Embedder(model, layout, flat);
  const shuffleRng = new HostRng(seed).fork();
  const history: AlignEpoch[] = [];
  let best = { epoch: 0, score: NaN, params: flat };
  let stepCount = 0;
  const started = performance.now();
  try {
    for (let epoch = 1; epoch <= epochs; epoch++) {
      const epochStart = performance.now();
      const order = shuffleRng.shuffle([...pairs.rows]);
      let lossSum = 0;
      let logitScale = NaN;
      for (let start = 0; start < order.length; start += contrastiveBatch) {
        const rows = order.slice(start, start + contrastiveBatch);
        const metrics = runner.step(rows, warmupCosine(schedule, stepCount), stepSeed(seed, stepCount));
        stepCount++;
        if (!Number.isFinite(metrics.loss)) {
          throw new FusionkitError(`alignment training diverged: the loss became ${metrics.loss} at epoch ${epoch}, step ${stepCount}. Lower --lr (now ${lr})`, { layer: "InfoNCE" });
        }
        opts.onStep?.(metrics);
        lossSum += metrics.loss * rows.length;
        logitScale = metrics.logitScale;
      }
      const current = runner.currentParams();
      embedder.setParams(current);
      const valSummaries = evaluateRetrieval(embedder, val, specs, opts.matchField);
      const valScore = Object.keys(valSummaries).length ? meanRecall(...Object.values(valSummaries)) : NaN;
      const record: AlignEpoch = { epoch, trainLoss: lossSum / order.length, logitScale, valScore, val: valSummaries, ms: performance.now() - epochStart };
      history.push(record);
      // no validation pairs (NaN score): nothing to select on, so the latest epoch is kept
      const improved = best.epoch === 0 || valScore > best.score || Number.isNaN(valScore);
      if (improved) best = { epoch, score: valScore, params: current };
      opts.onEpoch?.({ ...record, epochs, best: improved });
      if (epoch - best.epoch >= patience) break;
      if (opts.timeBudgetMs !== undefined && performance.now() - started > opts.timeBudgetMs) break;
    }
  } finally {
    runner.dispose();
    embedder.dispose();
  }
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
