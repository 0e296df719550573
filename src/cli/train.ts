/** `fusionkit train`: train one fusion method on a dataset, print per-epoch metrics, save a checkpoint. */
import type { Command } from "commander";
import { join } from "node:path";
import { loadDataset } from "../data/load.ts";
import { startEngine } from "../engine/backend.ts";
import { datasetModalityConfigs } from "../model/prepareRows.ts";
import { saveModel } from "../train/persistence.ts";
import { Predictor } from "../train/predict.ts";
import { evaluateSplit, trainDefaults, trainModel } from "../train/trainer.ts";
import { flattenParams } from "../engine/params.ts";
import { formatMetrics, jsonObject, positiveInt, positiveNumber } from "./options.ts";
import { methodNames } from "../fusion/registry.ts";

type TrainFlags = {
  data: string;
  method: string;
  config?: Record<string, unknown>;
  seed: number;
  epochs: number;
  batchSize: number;
  lr: number;
  patience: number;
  encoderDim: number;
  out?: string;
  maxRows?: number;
  timeBudget?: number;
};

export function register(program: Command): void {
  program
    .command("train")
    .description("train one fusion method on a dataset and save the best-validation checkpoint")
    .requiredOption("--data <name|dir>", "dataset directory (with dataset.json) or built-in name (emoji, movies)")
    .option("--method <name>", `fusion method (${methodNames().join(", ")}, or unimodal:<modality>)`, "early")
    .option("--config <json>", "method config overrides as JSON, e.g. '{\"hidden\":[32]}'", jsonObject)
    .option("--seed <n>", "random seed (init, shuffling, dropout)", Number, trainDefaults.seed)
    .option("--epochs <n>", "maximum epochs", positiveInt, trainDefaults.epochs)
    .option("--batch-size <n>", "rows per step", positiveInt, trainDefaults.batchSize)
    .option("--lr <x>", "peak learning rate (AdamW, warmup + cosine)", positiveNumber, trainDefaults.lr)
    .option("--patience <n>", "stop after n epochs without a validation improvement", positiveInt, trainDefaults.patience)
    .option("--encoder-dim <n>", "width of every modality encoder's output", positiveInt, 64)
    .option("--time-budget <seconds>", "stop training after this many seconds", positiveNumber)
    .option("--max-rows <n>", "use only the first n rows of the dataset", positiveInt)
    .option("--out <dir>", "checkpoint directory (default runs/<method>)")
    .action(async (flags: TrainFlags) => {
      await startEngine();
      const dataset = await loadDataset(flags.data, {
        seed: flags.seed,
        ...(flags.maxRows !== undefined ? { maxRows: flags.maxRows } : {}),
        log: (m) => console.error(m),
      });
      console.log(`training ${flags.method} on ${dataset.name} (${dataset.splits.train.n} train / ${dataset.splits.val.n} val / ${dataset.splits.test.n} test rows, seed ${flags.seed})`);
      const trained = await trainModel(dataset, {
        method: flags.method,
        ...(flags.config ? { methodConfig: flags.config } : {}),
        seed: flags.seed,
        epochs: flags.epochs,
        batchSize: flags.batchSize,
        lr: flags.lr,
        patience: flags.patience,
        encoderDim: flags.encoderDim,
        ...(flags.timeBudget !== undefined ? { timeBudgetMs: flags.timeBudget * 1000 } : {}),
        onEpoch: (e) =>
          console.log(
            `epoch ${String(e.epoch).padStart(String(e.epochs).length)}/${e.epochs}  loss ${e.trainLoss.toFixed(4)}  val ${formatMetrics(e.valMetrics)}  ${e.ms.toFixed(0)} ms${e.best ? "  *" : ""}`,
          ),
      });
      const predictor = new Predictor(trained.model, trained.layout, flattenParams(trained.params).flat, trained.options.batchSize);
      try {
        console.log(`best epoch ${trained.bestEpoch}; test ${formatMetrics(evaluateSplit(predictor, dataset.splits.test, dataset))}`);
      } finally {
        predictor.dispose();
      }
      const out = flags.out ?? join("runs", flags.method.replace(/[^A-Za-z0-9_.-]+/g, "_"));
      const modalityConfigs = datasetModalityConfigs(flags.data);
      const loadOptions = { seed: flags.seed, ...(flags.maxRows !== undefined ? { maxRows: flags.maxRows } : {}) };
      saveModel(out, trained, dataset, { source: flags.data, loadOptions, ...(modalityConfigs ? { modalityConfigs } : {}) });
      console.log(`${trained.paramCount} parameters, ${(trained.trainMs / 1000).toFixed(1)} s; saved ${out}`);
    });
}
