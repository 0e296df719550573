/** `fusionkit eval`: a saved model's metrics on a dataset split (test by default). Registration only; the run is src/cli/actions/eval.ts. */
import type { Command } from "commander";

export type EvalFlags = { model: string; data?: string; split: string; skipBadRows?: boolean };

export function register(program: Command): void {
  program
    .command("eval")
    .description("evaluate a saved model on a dataset split")
    .requiredOption("--model <dir>", "checkpoint directory written by fusionkit train")
    .option("--data <name|dir>", "dataset (default: the one the model was trained on)")
    .option("--split <name>", "train, val or test", "test")
    .option("--skip-bad-rows", "skip rows that fail validation (listed in the output) instead of stopping at the first; on by default when the model was trained with it")
    .action(async (flags: EvalFlags) => {
      const { runEval } = await import("./actions/eval.ts");
      await runEval(flags);
    });
}
