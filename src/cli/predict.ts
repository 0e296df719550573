/**
 * `fusionkit predict`: raw JSONL rows (the dataset's own format; any modality
 * may be missing) -> one JSON line per row with the prediction and scores;
 * --explain adds the row's modality Shapley attribution and method views.
 * Registration only; the run is src/cli/actions/predict.ts.
 */
import type { Command } from "commander";

export type PredictFlags = { model: string; rows: string; out?: string; baseDir?: string; explain?: boolean; skipBadRows?: boolean };

export function register(program: Command): void {
  program
    .command("predict")
    .description("predict labels for raw JSONL rows with a saved model")
    .requiredOption("--model <dir>", "checkpoint directory written by fusionkit train")
    .requiredOption("--rows <file.jsonl>", "rows in the dataset's raw format; modalities may be missing (null or absent)")
    .option("--out <file>", "write JSON lines here instead of stdout")
    .option("--skip-bad-rows", "predict the good rows and list the bad ones (stderr) instead of stopping at the first")
    .option("--base-dir <dir>", "image/audio paths in the rows are relative to this (default: the rows file's directory)")
    .option("--explain", 'add "explain" to each line: exact Shapley values of the predicted class\'s probability per modality, and the method\'s own views (as fusionkit explain)')
    .action(async (flags: PredictFlags) => {
      const { runPredict } = await import("./actions/predict.ts");
      await runPredict(flags);
    });
}
