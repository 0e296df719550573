/** The run of `fusionkit train` (registered in src/cli/train.ts). */
import { join } from "node:path";
import { loadDataset } from "../../data/load.ts";
import { skippedRowsReport } from "../../data/problems.ts";
import { describeProvenance } from "../../data/provenance.ts";
import { startEngine } from "../../engine/backend.ts";
import { flattenParams } from "../../engine/params.ts";
import { getMethod } from "../../fusion/registry.ts";
import { checkModelOutDir } from "../../io/outputs.ts";
import { datasetModalityConfigs } from "../../model/prepareRows.ts";
import { saveModel } from "../../train/persistence.ts";
import { Predictor } from "../../train/predict.ts";
import { checkMethodConfig, checkTrainable } from "../../train/preflight.ts";
import { evaluateSplit, trainModel, type TrainOptions } from "../../train/trainer.ts";
import { unimodalSourceOf, warmStarts } from "../../bench/warmStart.ts";
import type { ParamTree } from "../../engine/params.ts";
import { FusionkitError } from "../../errors.ts";
import { formatMetrics } from "../options.ts";
import type { TrainFlags } from "../train.ts";
import { trainProgressFor } from "../trainProgress.ts";
import { encoderLoadOptions } from "../encoderOptions.ts";
import type { EncoderRecord } from "../../data/pretrained/pipeline.ts";
import type { ModalitySpec, PreparedDataset } from "../../data/types.ts";
import type { StopReason } from "../../train/fit.ts";

export async function runTrain(flags: TrainFlags): Promise<void> {
  // Everything that can fail without the data fails before the (possibly long) data loading and training:
  // a misspelt method or config key (unimodal:<modality> resolves its modality later), an output directory that cannot take the model.
  checkMethodConfig(getMethod(flags.method), flags.config ?? {});
  const out = flags.out ?? join("runs", flags.method.replace(/[^A-Za-z0-9_.-]+/g, "_"));
  checkModelOutDir(out, { force: flags.force === true, command: "train" });
  await startEngine();
  const encoders = await encoderLoadOptions(flags);
  const loadOptions = {
    seed: flags.seed,
    ...(flags.maxRows !== undefined ? { maxRows: flags.maxRows } : {}),
    ...(flags.skipBadRows ? { skipBadRows: true } : {}),
    ...(encoders.encoders ? { encoders: encoders.encoders } : {}),
  };
  const dataset = await loadDataset(flags.data, { ...encoders, ...loadOptions, log: (m) => console.error(m) });
  for (const line of skippedRowsReport(dataset.skipped)) console.error(line);
  if (flags.method.startsWith("unimodal:")) getMethod(flags.method, dataset.modalities);
  checkTrainable(dataset, { allowMissingModality: flags.allowMissingModality === true });
  if (!flags.quiet) {
    console.log(`training ${flags.method} on ${dataset.name} (${dataset.splits.train.n} train / ${dataset.splits.val.n} val / ${dataset.splits.test.n} test rows, seed ${flags.seed})`);
  }
  const common = {
    seed: flags.seed,
    epochs: flags.epochs,
    batchSize: flags.batchSize,
    lr: flags.lr,
    patience: flags.patience,
    encoderDim: flags.encoderDim,
    ...(flags.weightDecay !== undefined ? { weightDecay: flags.weightDecay } : {}),
    ...(flags.modalityDropout !== undefined ? { modalityDropout: flags.modalityDropout } : {}),
    ...(flags.unimodalAux ? { unimodalAuxWeight: flags.unimodalAux } : {}),
    ...(flags.textPooling ? { textEncoder: flags.textPooling } : {}),
    ...(flags.timeBudget !== undefined ? { timeBudgetMs: flags.timeBudget * 1000 } : {}),
  };
  const encoderInit = flags.warmStart ? await warmStartEncoders(dataset, flags, common) : undefined;
  const progress = trainProgressFor({ quiet: flags.quiet === true, epochs: flags.epochs });
  let trained;
  try {
    trained = await trainModel(dataset, {
      ...common,
      method: flags.method,
      ...(flags.config ? { methodConfig: flags.config } : {}),
      ...(encoderInit ? { encoderInit } : {}),
      onEpoch: (e) => progress.epoch(e),
    });
  } finally {
    progress.stop();
  }
  const predictor = new Predictor(trained.model, trained.layout, flattenParams(trained.params).flat, trained.options.batchSize);
  try {
    console.log(`best epoch ${trained.bestEpoch} of ${trained.history.length} (${stopWords[trained.stoppedBy]}); test ${formatMetrics(evaluateSplit(predictor, dataset.splits.test, dataset))}`);
  } finally {
    predictor.dispose();
  }
  const modalityConfigs = datasetModalityConfigs(flags.data);
  const savedLoadOptions = { ...loadOptions, ...(encoders.encoders ? { encoders: savedEncoders(encoders.encoders, dataset.modalities) } : {}) };
  saveModel(out, trained, dataset, {
    ...describeProvenance(flags.data),
    loadOptions: savedLoadOptions,
    ...(dataset.skipped.length ? { skipped: dataset.skipped } : {}),
    ...(modalityConfigs ? { modalityConfigs } : {}),
  });
  console.log(`${trained.paramCount} parameters, ${(trained.trainMs / 1000).toFixed(1)} s; saved ${out}`);
}

/**
 * --warm-start: each modality's encoder from a unimodal model trained first
 * with the same settings, as the bench's warm start (src/bench/warmStart.ts).
 * Like the bench's unimodal rows, those runs take no modality dropout (it
 * would drop the one modality they read) and no auxiliary losses.
 */
async function warmStartEncoders(dataset: PreparedDataset, flags: TrainFlags, common: Omit<TrainOptions, "method">): Promise<Record<string, ParamTree>> {
  const method = getMethod(flags.method, dataset.modalities);
  if (!warmStarts(method, dataset.modalities)) {
    const why = dataset.modalities.length < 2
      ? `the dataset has one modality`
      : method.postFit
        ? `its second stage is fitted on out-of-fold predictions, and encoders trained on every train row would leak the held-out folds`
        : `it reads one modality (or is a classical baseline)`;
    throw new FusionkitError(`--warm-start: ${flags.method} does not start from unimodal encoders: ${why}. Train it without --warm-start`, { field: "--warm-start" });
  }
  const encoders: Record<string, ParamTree> = {};
  for (const { name } of dataset.modalities) {
    const source = unimodalSourceOf(name);
    if (!flags.quiet) console.log(`warm start: training ${source} first`);
    const progress = trainProgressFor({ quiet: flags.quiet === true, epochs: flags.epochs });
    try {
      const { modalityDropout: _dropout, unimodalAuxWeight: _aux, ...settings } = common;
      const trained = await trainModel(dataset, { ...settings, method: source, onEpoch: (e) => progress.epoch(e) });
      encoders[name] = trained.params.encoders[name]!;
      if (!flags.quiet) console.log(`warm start: ${source} best epoch ${trained.bestEpoch} of ${trained.history.length}`);
    } finally {
      progress.stop();
    }
  }
  return encoders;
}

/**
 * The --encoder choices as eval will reload them: each encoder by the absolute
 * location it was loaded from (a relative directory would not resolve from
 * another working directory); null (from scratch) as given.
 */
function savedEncoders(chosen: Record<string, unknown>, modalities: ModalitySpec[]): Record<string, { model: string; output: "pooled" | "tokens" } | null> {
  const out: Record<string, { model: string; output: "pooled" | "tokens" } | null> = {};
  for (const name of Object.keys(chosen)) {
    const record = (modalities.find((m) => m.name === name)?.preprocessing as { encoder?: EncoderRecord } | undefined)?.encoder;
    out[name] = record ? { model: record.kind === "onnx" ? `onnx:${record.location}` : record.location, output: record.output } : null;
  }
  return out;
}

const stopWords: Record<StopReason, string> = {
  "early-stopping": "early stopping",
  epochs: "hit the --epochs cap",
  "time-budget": "hit the --time-budget",
  paused: "paused after the requested epochs",
};
