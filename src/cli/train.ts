/**
 * `fusionkit train`: train one fusion method on a dataset, report progress per
 * epoch, save a checkpoint. Registration only (cheap imports, src/cli/lazy.ts);
 * the run is src/cli/actions/train.ts.
 */
import type { Command } from "commander";
import { beforeParse, setDefault, setDescription } from "./lazy.ts";
import type { TextEncoderKind } from "../encoders/text.ts";
import { addEncoderOptions, type EncoderFlags } from "./encoderOptions.ts";
import { jsonObject, nonNegativeNumber, positiveInt, positiveNumber, probability, seedInt, textPooling } from "./options.ts";

export type TrainFlags = EncoderFlags & {
  data: string;
  method: string;
  config?: Record<string, unknown>;
  seed: number;
  epochs: number;
  batchSize: number;
  lr: number;
  patience: number;
  encoderDim: number;
  weightDecay?: number;
  modalityDropout?: number;
  unimodalAux?: number;
  textPooling?: TextEncoderKind;
  warmStart?: boolean;
  out?: string;
  maxRows?: number;
  timeBudget?: number;
  quiet?: boolean;
  force?: boolean;
  skipBadRows?: boolean;
  allowMissingModality?: boolean;
};

export function register(program: Command): void {
  const command = program
    .command("train")
    .description("train one fusion method on a dataset and save the best-validation checkpoint")
    .requiredOption("--data <name|dir>", "dataset directory (with dataset.json) or built-in name (emoji, movies)")
    .option("--method <name>", "fusion method (a registered method, or unimodal:<modality>)", "early")
    .option("--config <json>", "method config overrides as JSON, e.g. '{\"hidden\":[32]}'", jsonObject)
    .option("--seed <n>", "random seed (init, shuffling, dropout)", seedInt)
    .option("--epochs <n>", "maximum epochs", positiveInt)
    .option("--batch-size <n>", "rows per step", positiveInt)
    .option("--lr <x>", "peak learning rate (AdamW, warmup + cosine)", positiveNumber)
    .option("--patience <n>", "stop after n epochs without a validation improvement", positiveInt)
    .option("--weight-decay <x>", "AdamW decoupled weight decay (the bench trains with 0.3)", nonNegativeNumber)
    .option("--modality-dropout <p>", "drop each modality of a training row with probability p, never all (default: the method's own, else none; the bench uses 0.3)", probability)
    .option("--unimodal-aux <lambda>", "weight of the per-modality auxiliary losses of a multimodal method, training only (default 0; the bench uses 3)", nonNegativeNumber)
    .option("--text-pooling <bag|ordered>", "text encoder: a bag of distinct words (default), or attention pooling over the words in order plus the bag (docs/encoders.md)", textPooling)
    .option("--warm-start", "first train unimodal:<modality> for every modality with the same settings, then start this model's encoders from theirs (as the bench does, docs/fair-comparison.md)")
    .option("--encoder-dim <n>", "width of every modality encoder's output", positiveInt, 64)
    .option("--time-budget <seconds>", "stop training after this many seconds", positiveNumber)
    .option("--max-rows <n>", "use only the first n rows of the dataset", positiveInt)
    .option("--out <dir>", "checkpoint directory (default runs/<method>)")
    .option("--force", "replace the model already in --out")
    .option("--skip-bad-rows", "skip rows that fail validation (listed in the output and config.json) instead of stopping at the first")
    .option("--allow-missing-modality", "train even when a modality is missing from every train row")
    .option("--quiet", "print only the summary (no per-epoch progress)");
  addEncoderOptions(command).action(async (flags: TrainFlags) => {
    const { runTrain } = await import("./actions/train.ts");
    await runTrain(flags);
  });
  // The defaults live beside the trainer and the method names in the fusion registry (both load the engine).
  beforeParse(command, async (c) => {
    const [{ trainDefaults }, { methodNames }] = await Promise.all([import("../train/trainer.ts"), import("../fusion/registry.ts")]);
    setDescription(c, "--method", `fusion method (${methodNames().join(", ")}, or unimodal:<modality>)`);
    setDefault(c, "--seed", trainDefaults.seed);
    setDefault(c, "--epochs", trainDefaults.epochs);
    setDefault(c, "--batch-size", trainDefaults.batchSize);
    setDefault(c, "--lr", trainDefaults.lr);
    setDefault(c, "--patience", trainDefaults.patience);
    setDefault(c, "--weight-decay", trainDefaults.weightDecay);
  });
}
