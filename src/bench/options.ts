/**
 * What a bench run is asked to do, with the defaults `fusionkit bench` uses
 * when given no arguments (every method + one unimodal baseline per modality
 * + the linear baselines, 3 seeds, on emoji): see benchDefaults for why each.
 */
import type { TextEncoderKind } from "../encoders/text.ts";
import { FusionkitError, requirePositiveInteger } from "../errors.ts";

export type BenchOptions = {
  /** dataset directory or built-in name */
  data: string;
  /** method names; default every registered method + one unimodal baseline per modality */
  methods?: string[];
  /** number of seeds (0, 1, ..., seeds - 1) */
  seeds: number;
  /** maximum epochs per run (early stopping on validation may end sooner) */
  epochs: number;
  /** total training time in seconds, split evenly over (method, seed) runs; undefined = epochs only */
  timeBudgetS?: number;
  /** use only the first n rows (built-ins: a fixed sample across categories) */
  maxRows?: number;
  batchSize: number;
  /** the centre of the learning-rate grid (and the learning rate when the grid is one value) */
  lr: number;
  /** learning rates every neural run tries on validation (src/bench/lrChoice.ts); default lr/3, lr, 3 lr */
  lrGrid: number[];
  /** epochs each learning-rate trial trains */
  lrTrialEpochs: number;
  /** AdamW's decoupled weight decay for every neural run */
  weightDecay: number;
  /**
   * modality dropout for every multimodal method during training (ModDrop): each
   * row's modalities are dropped with this probability, never all of them; a
   * method that defines its own (adaptive fusion) keeps its own. 0 turns it off.
   */
  modalityDropout: number;
  /** lambda of the per-modality auxiliary losses every multimodal method trains with (src/model/model.ts); 0: none */
  unimodalAux: number;
  /** the text encoder of every neural run (ModelSpec.textEncoder) */
  textPooling: TextEncoderKind;
  /** multimodal runs start their encoders from the same seed's unimodal runs (src/bench/warmStart.ts) */
  warmStart: boolean;
  patience: number;
  encoderDim: number;
  /** per-method config overrides, method name -> config fields */
  methodConfigs: Record<string, Record<string, unknown>>;
  /** Gaussian noise standard deviations for the robustness evaluation (standardised input units) */
  noiseLevels: number[];
  /** test rows timed one at a time for latency */
  latencySamples: number;
  /** worker threads training runs in parallel; default min(2, available cores) */
  workers?: number;
  /** dataset cache directory (default: the data layer's) */
  cacheDir?: string;
  /** explain every method (first seed's model) on the test split: --no-explain turns it off */
  explain: boolean;
  /** a short image-text alignment run for the retrieval section: --no-retrieval turns it off */
  retrieval: boolean;
  /** frozen pretrained encoders by modality (--encoder; null = from scratch), see docs/pretrained.md */
  encoders?: Record<string, { model: string; output?: "pooled" | "tokens" } | null>;
  /** let transformers.js download a model id (--allow-download) */
  allowDownload?: boolean;
  /** drop rows that fail validation (listed in results.json and the output) instead of stopping at the first */
  skipBadRows?: boolean;
  /** run even when a modality is missing from every train row */
  allowMissingModality?: boolean;
  /** add the classical `linear:` rows when --methods is not given (classification): --no-baselines turns them off */
  baselines: boolean;
};

/** src/encoders/text.ts textEncoderKinds, repeated here so the CLI's registration loads no encoder code (test/bench/options.test.ts checks they agree) */
export const textPoolings = ["bag", "ordered"] as const satisfies readonly TextEncoderKind[];

/**
 * Defaults: every run ends by early stopping on validation (patience 5), the
 * epoch cap (30) is a safety net the report counts hits of; each neural run
 * first picks its learning rate from lr/3, lr, 3 lr = 2e-3, 6e-3, 1.8e-2 (2
 * trial epochs each, see lrChoice.ts; centred on 2e-3 until 43 of 51 default
 * runs chose the top value, 6e-3: docs/benchmarks.md); encoder width 64; AdamW weight decay 0.3 (the trainer's own
 * default is 0.01: at 0.01 the text models fit the 2808 emoji training rows to
 * a loss of ~0.001 within a few epochs; 0.3 raised validation accuracy of
 * unimodal:text 0.807 -> 0.824 and lmf 0.813 -> 0.829, early 0.819 -> 0.810,
 * 3 seeds each, docs/encoders.md); multimodal methods train with modality
 * dropout 0.3 and per-modality auxiliary losses of weight 3 in all
 * (--unimodal-aux; on emoji the mean validation accuracy of early, lmf, tfn,
 * dense_fusion and gmu over 2 seeds was 0.810 without, 0.824 at 1, 0.830 at 3,
 * 0.833 at 10: flat from 3 on, so the smaller; docs/fair-comparison.md). The old defaults (6 epochs, patience
 * 3, width 32, one learning rate) fitted a 5-minute budget but left 48 of 51
 * emoji runs at the cap while validation still improved: they ranked
 * under-trained models. Epochs and patience, not a time budget, bound the run,
 * so its numbers do not depend on how busy the machine is; the time it takes is
 * in docs/benchmarks.md.
 */
export const benchDefaults = {
  data: "emoji",
  seeds: 3,
  epochs: 30,
  batchSize: 32,
  lr: 6e-3,
  lrTrialEpochs: 2,
  weightDecay: 0.3,
  modalityDropout: 0.3,
  unimodalAux: 3,
  // the encoders' default (src/encoders/text.ts defaultTextEncoder; test/bench/options.test.ts checks they agree)
  textPooling: "bag" as TextEncoderKind,
  warmStart: true,
  patience: 5,
  encoderDim: 64,
  noiseLevels: [0.5, 1, 2],
  latencySamples: 30,
  explain: true,
  retrieval: true,
  baselines: true,
} as const;

/**
 * Built-in datasets whose default bench uses a row sample (rows of the generated
 * dataset, before splitting): emoji has 7624 rows of 32x32 images; the default
 * bench uses a 4000-row sample across categories to halve its time
 * (`--max-rows 100000` runs all of it).
 */
export const defaultMaxRows: Record<string, number> = { emoji: 4000 };

/**
 * The default learning-rate grid around the bench's --lr (src/bench/lrChoice.ts):
 * a third, itself, three times. Here, not in lrChoice.ts: `fusionkit --help`
 * reads this file and must not load the trainer.
 */
export function defaultLrGrid(lr: number): number[] {
  return [lr / 3, lr, lr * 3].map((x) => Number(x.toPrecision(3)));
}

export function withDefaults(partial: Partial<BenchOptions>): BenchOptions {
  const data = partial.data ?? benchDefaults.data;
  const options: BenchOptions = {
    data,
    seeds: partial.seeds ?? benchDefaults.seeds,
    epochs: partial.epochs ?? benchDefaults.epochs,
    batchSize: partial.batchSize ?? benchDefaults.batchSize,
    lr: partial.lr ?? benchDefaults.lr,
    lrGrid: partial.lrGrid ?? defaultLrGrid(partial.lr ?? benchDefaults.lr),
    // a trial is the start of a run, so never longer than the run
    lrTrialEpochs: Math.min(partial.lrTrialEpochs ?? benchDefaults.lrTrialEpochs, partial.epochs ?? benchDefaults.epochs),
    weightDecay: partial.weightDecay ?? benchDefaults.weightDecay,
    modalityDropout: partial.modalityDropout ?? benchDefaults.modalityDropout,
    unimodalAux: partial.unimodalAux ?? benchDefaults.unimodalAux,
    textPooling: partial.textPooling ?? benchDefaults.textPooling,
    warmStart: partial.warmStart ?? benchDefaults.warmStart,
    patience: partial.patience ?? benchDefaults.patience,
    encoderDim: partial.encoderDim ?? benchDefaults.encoderDim,
    methodConfigs: partial.methodConfigs ?? {},
    noiseLevels: partial.noiseLevels ?? [...benchDefaults.noiseLevels],
    latencySamples: partial.latencySamples ?? benchDefaults.latencySamples,
    explain: partial.explain ?? benchDefaults.explain,
    retrieval: partial.retrieval ?? benchDefaults.retrieval,
    baselines: partial.baselines ?? benchDefaults.baselines,
  };
  const maxRows = partial.maxRows ?? defaultMaxRows[data];
  if (maxRows !== undefined) options.maxRows = maxRows;
  for (const key of ["methods", "timeBudgetS", "workers", "cacheDir", "encoders", "allowDownload", "skipBadRows", "allowMissingModality"] as const) {
    if (partial[key] !== undefined) (options as Record<string, unknown>)[key] = partial[key];
  }
  return options;
}

/** Checks every numeric option; names the flag that is wrong. */
export function checkOptions(options: BenchOptions): void {
  requirePositiveInteger(options.seeds, "--seeds");
  requirePositiveInteger(options.epochs, "--epochs");
  requirePositiveInteger(options.batchSize, "--batch-size");
  requirePositiveInteger(options.patience, "--patience");
  requirePositiveInteger(options.encoderDim, "--encoder-dim");
  requirePositiveInteger(options.latencySamples, "--latency-samples");
  if (options.maxRows !== undefined) requirePositiveInteger(options.maxRows, "--max-rows");
  if (options.workers !== undefined) requirePositiveInteger(options.workers, "--workers");
  if (!(options.lr > 0 && Number.isFinite(options.lr))) throw new FusionkitError(`--lr must be a positive number, got ${options.lr}`, { field: "--lr" });
  requirePositiveInteger(options.lrTrialEpochs, "--lr-trial-epochs");
  if (!(options.weightDecay >= 0 && Number.isFinite(options.weightDecay))) {
    throw new FusionkitError(`--weight-decay must be a number >= 0, got ${options.weightDecay}`, { field: "--weight-decay" });
  }
  if (!(options.modalityDropout >= 0 && options.modalityDropout < 1)) {
    throw new FusionkitError(`--modality-dropout must be in [0, 1), got ${options.modalityDropout}`, { field: "--modality-dropout" });
  }
  if (!(textPoolings as readonly string[]).includes(options.textPooling)) {
    throw new FusionkitError(`--text-pooling must be one of ${textPoolings.join(", ")}, got ${JSON.stringify(options.textPooling)}`, { field: "--text-pooling" });
  }
  if (!(options.unimodalAux >= 0 && Number.isFinite(options.unimodalAux))) {
    throw new FusionkitError(`--unimodal-aux must be a number >= 0, got ${options.unimodalAux}`, { field: "--unimodal-aux" });
  }
  if (options.lrGrid.length === 0) throw new FusionkitError("--lr-grid lists no learning rate; give one or more positive numbers separated by commas", { field: "--lr-grid" });
  for (const lr of options.lrGrid) {
    if (!(lr > 0 && Number.isFinite(lr))) throw new FusionkitError(`--lr-grid values must be positive numbers, got ${lr}`, { field: "--lr-grid" });
  }

  if (options.timeBudgetS !== undefined && !(options.timeBudgetS > 0 && Number.isFinite(options.timeBudgetS))) {
    throw new FusionkitError(`--time-budget must be a positive number of seconds, got ${options.timeBudgetS}`, { field: "--time-budget" });
  }
  for (const sigma of options.noiseLevels) {
    if (!(sigma > 0 && Number.isFinite(sigma))) throw new FusionkitError(`--noise levels must be positive numbers, got ${sigma}`, { field: "--noise" });
  }
  if (options.methods && options.methods.length === 0) throw new FusionkitError("--methods lists no method; give names separated by commas, or leave it out to run them all", { field: "--methods" });
  if (options.methods) {
    const seen = new Set<string>();
    for (const name of options.methods) {
      if (seen.has(name)) throw new FusionkitError(`--methods names "${name}" twice`, { field: "--methods" });
      seen.add(name);
    }
  }
}
