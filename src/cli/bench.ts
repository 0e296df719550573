/**
 * `fusionkit bench`: every method (+ one unimodal baseline per modality) on one
 * dataset, several seeds, the same budget; a leaderboard on stdout, results.json
 * and a self-contained report.html. Ctrl-C writes what finished, marked
 * incomplete, and exits non-zero. Registration only; the run is src/cli/actions/bench.ts.
 */
import type { Command } from "commander";
import { InvalidArgumentError } from "commander";
import { benchDefaults } from "../bench/options.ts";
import type { TextEncoderKind } from "../encoders/text.ts";
import { addEncoderOptions, type EncoderFlags } from "./encoderOptions.ts";
import { jsonObject, nonNegativeNumber, positiveInt, positiveNumber, probability, textPooling } from "./options.ts";

export type BenchFlags = EncoderFlags & {
  data: string;
  methods?: string[];
  seeds: number;
  epochs: number;
  timeBudget?: number;
  out?: string;
  quiet?: boolean;
  maxRows?: number;
  batchSize: number;
  lr: number;
  lrGrid?: number[];
  lrTrialEpochs: number;
  weightDecay: number;
  modalityDropout: number;
  unimodalAux: number;
  textPooling: TextEncoderKind;
  warmStart: boolean;
  patience: number;
  encoderDim: number;
  config?: Record<string, unknown>;
  noise: number[];
  latencySamples: number;
  workers?: number;
  explain: boolean;
  retrieval: boolean;
  queue?: string;
  skipBadRows?: boolean;
  allowMissingModality?: boolean;
  baselines: boolean;
};

function commaList(value: string): string[] {
  const names = value.split(",").map((s) => s.trim()).filter((s) => s.length > 0);
  if (names.length === 0) throw new InvalidArgumentError("expected names separated by commas, e.g. early,lmf,unimodal:text.");
  return names;
}

function numberList(value: string): number[] {
  return value.split(",").map((s) => positiveNumber(s.trim()));
}

export function register(program: Command): void {
  const command = program
    .command("bench")
    .description("compare fusion methods and unimodal baselines on one dataset: leaderboard, results.json and report.html")
    .option("--data <name|dir>", "dataset directory (with dataset.json) or built-in name", benchDefaults.data)
    .option("--methods <a,b,c>", "methods to compare (default: every registered method + one unimodal baseline per modality + linear:<modality> and linear:concat)", commaList)
    .option("--seeds <n>", "seeds per method (0..n-1)", positiveInt, benchDefaults.seeds)
    .option("--epochs <n>", "maximum epochs per run (early stopping on validation may stop sooner)", positiveInt, benchDefaults.epochs)
    .option("--time-budget <seconds>", "total training time, split evenly over every (method, seed) run", positiveNumber)
    .option("--out <dir>", "output directory (default runs/bench-<timestamp>)")
    .option("--quiet", "print only the final summary")
    .option("--max-rows <n>", "use only the first n rows of the dataset (default for emoji: a 4000-row sample)", positiveInt)
    .option("--batch-size <n>", "rows per step", positiveInt, benchDefaults.batchSize)
    .option("--lr <x>", "peak learning rate (AdamW, warmup + cosine); the centre of --lr-grid", positiveNumber, benchDefaults.lr)
    .option("--lr-grid <a,b,c>", "learning rates every run tries for --lr-trial-epochs epochs, keeping the best on validation (default: lr/3, lr, 3 lr; one value: no search)", numberList)
    .option("--lr-trial-epochs <n>", "epochs of each learning-rate trial", positiveInt, benchDefaults.lrTrialEpochs)
    .option("--weight-decay <x>", "AdamW decoupled weight decay of every neural run", nonNegativeNumber, benchDefaults.weightDecay)
    .option("--modality-dropout <p>", "drop each modality of a training row with probability p (never all) for every multimodal method without its own; 0 turns it off", probability, benchDefaults.modalityDropout)
    .option("--unimodal-aux <lambda>", "weight of one auxiliary loss per modality (a linear head on that modality's encoding, training only) for every multimodal method; 0 turns it off", nonNegativeNumber, benchDefaults.unimodalAux)
    .option("--text-pooling <bag|ordered>", "text encoder of every neural run: a bag of distinct words, or attention pooling over the words in order plus the bag (docs/encoders.md)", textPooling, benchDefaults.textPooling)
    .option("--patience <n>", "early stopping: epochs without a validation improvement", positiveInt, benchDefaults.patience)
    .option("--encoder-dim <n>", "width of every modality encoder", positiveInt, benchDefaults.encoderDim)
    .option("--config <json>", "per-method config overrides, e.g. '{\"lmf\":{\"rank\":8}}'", jsonObject)
    .option("--noise <levels>", "Gaussian noise levels (std) for the robustness evaluation", numberList, [...benchDefaults.noiseLevels])
    .option("--latency-samples <n>", "test rows timed one at a time", positiveInt, benchDefaults.latencySamples)
    .option("--workers <n>", "runs trained in parallel (default: 2, or 1 on a 1-core machine)", positiveInt)
    .option("--no-explain", "skip the explanations section (modality Shapley values of each method's first-seed model on 256 test rows)")
    .option("--skip-bad-rows", "skip rows that fail validation (listed in the output and results.json) instead of stopping at the first")
    .option("--allow-missing-modality", "run even when a modality is missing from every train row")
    .option("--no-retrieval", "skip the retrieval section (a short image-text alignment run, when the dataset has both)")
    .option("--queue <redis-url>", "run the jobs on `fusionkit worker` processes through a Redis queue, redis://[:password@]HOST:PORT[/db] (docs/scale.md)")
    .option("--no-warm-start", "train every multimodal method's encoders from random init instead of starting them from the same seed's unimodal runs (docs/fair-comparison.md)")
    .option("--no-baselines", "skip the classical rows linear:<modality> and linear:concat (logistic regression on raw features; added when --methods is not given)");
  addEncoderOptions(command).action(async (flags: BenchFlags) => {
    const { runBenchCommand } = await import("./actions/bench.ts");
    await runBenchCommand(flags);
  });
}
