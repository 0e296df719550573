/**
 * `fusionkit align`: contrastive training of two or more modality encoders
 * into one embedding space (src/align), test-split retrieval and zero-shot
 * evaluation, then the model (checkpoint + config with the figures) and the
 * report's retrieval section (retrieval.json) saved to --out.
 * Registration only; the run is src/cli/actions/align.ts.
 */
import type { Command } from "commander";
import { parseRowFilter, type RowFilter } from "../align/filters.ts";
import { beforeParse, setDefault, setDescription } from "./lazy.ts";
import { addEncoderOptions, type EncoderFlags } from "./encoderOptions.ts";
import { positiveInt, positiveNumber, seedInt } from "./options.ts";

export type AlignFlags = EncoderFlags & {
  data: string;
  pair: string;
  seed: number;
  epochs: number;
  batchSize: number;
  accumulate: number;
  lr: number;
  patience: number;
  encoderDim: number;
  embedDim: number;
  matchField?: string;
  trainFilter: RowFilter[];
  testFilter: RowFilter[];
  template: string[];
  maxRows?: number;
  timeBudget?: number;
  out?: string;
  force?: boolean;
  skipBadRows?: boolean;
  allowMissingModality?: boolean;
};

const collectFilter = (value: string, previous: RowFilter[]): RowFilter[] => [...previous, parseRowFilter(value)];
const collect = (value: string, previous: string[]): string[] => [...previous, value];

export function register(program: Command): void {
  const command = program
    .command("align")
    .description("train modality encoders into one embedding space (CLIP-style symmetric InfoNCE) and evaluate retrieval")
    .requiredOption("--data <name|dir>", "dataset directory (with dataset.json) or built-in name (emoji)")
    .option("--pair <modalities>", "comma-separated modalities to align", "image,text")
    .option("--seed <n>", "random seed (split, init, shuffling)", seedInt)
    .option("--epochs <n>", "maximum epochs", positiveInt)
    .option("--batch-size <n>", "rows per micro-batch", positiveInt)
    .option("--accumulate <k>", "micro-batches per update; the contrastive batch (in-batch negatives) is batch-size x k, exact via GradCache", positiveInt)
    .option("--lr <x>", "peak learning rate (AdamW, warmup + cosine)", positiveNumber)
    .option("--patience <n>", "stop after n epochs without a validation retrieval improvement", positiveInt)
    .option("--encoder-dim <n>", "width of every modality encoder's output", positiveInt, 64)
    .option("--embed-dim <n>", "width of the shared embedding space", positiveInt, 64)
    .option("--match-field <field>", "kept field whose equal values are true matches (default: emoji for the emoji dataset, else the row)")
    .option("--train-filter <field=value>", "train (and validate) only on rows with this field value, e.g. vendor=twitter (repeatable)", collectFilter, [])
    .option("--test-filter <field=value>", "evaluate only on test rows with this field value, e.g. vendor=google (repeatable)", collectFilter, [])
    .option("--template <text>", "zero-shot prompt template with {} for the class name (repeatable; default: the dataset's own templates)", collect, [])
    .option("--max-rows <n>", "use only the first n rows of the dataset", positiveInt)
    .option("--time-budget <seconds>", "stop training after this many seconds", positiveNumber)
    .option("--out <dir>", "output directory (default runs/align-<pair>)")
    .option("--force", "replace the model already in --out")
    .option("--skip-bad-rows", "skip rows that fail validation (listed in the output and config.json) instead of stopping at the first")
    .option("--allow-missing-modality", "train even when a paired modality is missing from every train row");
  addEncoderOptions(command).action(async (flags: AlignFlags) => {
    const { runAlign } = await import("./actions/align.ts");
    await runAlign(flags);
  });
  // the defaults live beside the alignment trainer and the zero-shot code, which load the engine
  beforeParse(command, async (c) => {
    const [{ alignTrainDefaults }, { builtinTemplates, defaultTemplates }] = await Promise.all([import("../align/trainer.ts"), import("../align/zeroShot.ts")]);
    setDefault(c, "--seed", alignTrainDefaults.seed);
    setDefault(c, "--epochs", alignTrainDefaults.epochs);
    setDefault(c, "--batch-size", alignTrainDefaults.batchSize);
    setDefault(c, "--accumulate", alignTrainDefaults.accumulate);
    setDefault(c, "--lr", alignTrainDefaults.lr);
    setDefault(c, "--patience", alignTrainDefaults.patience);
    const quoted = (templates: string[]) => templates.map((t) => JSON.stringify(t)).join(", ");
    setDescription(c, "--template", `zero-shot prompt template with {} for the class name (repeatable; default ${quoted(defaultTemplates)}; emoji: ${quoted(builtinTemplates.emoji!)})`);
  });
}
