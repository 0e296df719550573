/**
 * `fusionkit explain`: raw JSONL rows (encoded exactly as `fusionkit predict`
 * encodes them, src/model/prepareRows.ts encodeRowsForModel) -> per row the prediction, exact modality Shapley values and
 * the method's own views (attention maps, modality weights, votes, gates).
 * Registration only; the run is src/cli/actions/explain.ts.
 */
import type { Command } from "commander";
import { InvalidArgumentError } from "commander";
import type { ShapleyValueKind } from "../explain/shapley.ts";

export type ExplainFlags = { model: string; rows: string; out?: string; baseDir?: string; json?: boolean; value: ShapleyValueKind; target?: string; skipBadRows?: boolean };

function valueKind(value: string): ShapleyValueKind {
  if (value !== "probability" && value !== "logit") throw new InvalidArgumentError(`expected "probability" or "logit", got "${value}".`);
  return value;
}

export function register(program: Command): void {
  program
    .command("explain")
    .description("explain a saved model's decisions on raw JSONL rows: exact Shapley values per modality plus the method's own views")
    .requiredOption("--model <dir>", "checkpoint directory written by fusionkit train")
    .requiredOption("--rows <file.jsonl>", "rows in the dataset's raw format; modalities may be missing (null or absent)")
    .option("--out <file>", "write the explanation as JSON to this file")
    .option("--skip-bad-rows", "explain the good rows and list the bad ones (stderr) instead of stopping at the first")
    .option("--base-dir <dir>", "image/audio paths in the rows are relative to this (default: the rows file's directory)")
    .option("--json", "print JSON instead of text")
    .option("--value <kind>", "what a coalition is worth: the explained class's probability or its logit", valueKind, "probability")
    .option("--target <class>", "explain this class for every row (default: each row's predicted class)")
    .action(async (flags: ExplainFlags) => {
      const { runExplain } = await import("./actions/explain.ts");
      await runExplain(flags);
    });
}
