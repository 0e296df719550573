/**
 * `fusionkit explain`: raw JSONL rows (encoded exactly as `fusionkit predict`
 * encodes them, src/model/prepareRows.ts encodeRowsForModel) -> per row the prediction, exact modality Shapley values and
 * the method's own views (attention maps, modality weights, votes, gates).
 */
import type { Command } from "commander";
import { InvalidArgumentError } from "commander";
import { existsSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parseJsonLines } from "../data/rows.ts";
import { startEngine } from "../engine/backend.ts";
import { writeFileAtomic } from "../engine/checkpoint.ts";
import { FusionkitError } from "../errors.ts";
import { explanationJson, formatExplanation } from "../explain/format.ts";
import { attributionForRows } from "../explain/rows.ts";
import type { ShapleyValueKind } from "../explain/shapley.ts";
import { encodeRowsForModel } from "../model/prepareRows.ts";
import { loadModel } from "../train/persistence.ts";

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
    .option("--base-dir <dir>", "image/audio paths in the rows are relative to this (default: the rows file's directory)")
    .option("--json", "print JSON instead of text")
    .option("--value <kind>", "what a coalition is worth: the explained class's probability or its logit", valueKind, "probability")
    .option("--target <class>", "explain this class for every row (default: each row's predicted class)")
    .action(async (flags: { model: string; rows: string; out?: string; baseDir?: string; json?: boolean; value: ShapleyValueKind; target?: string }) => {
      if (!existsSync(flags.rows)) throw new FusionkitError(`rows file not found`, { file: flags.rows });
      await startEngine();
      const model = loadModel(flags.model);
      let target: number | undefined;
      if (flags.target !== undefined) {
        target = model.labelNames.indexOf(flags.target);
        if (target < 0) throw new FusionkitError(`unknown class "${flags.target}"; the model's classes are ${model.labelNames.join(", ")}`, { field: "--target" });
      }
      const { rows } = parseJsonLines(readFileSync(flags.rows, "utf8"), flags.rows);
      if (rows.length === 0) throw new FusionkitError("no rows to explain", { file: flags.rows });
      // the same encoding as `fusionkit predict`, so both describe the same inputs
      const split = await encodeRowsForModel(rows, model.spec.modalities, model.config.modalityConfigs, resolve(flags.baseDir ?? dirname(flags.rows)));
      const result = attributionForRows(model, split, { value: flags.value, ...(target !== undefined ? { target } : {}) });
      const json = JSON.stringify(explanationJson(result), null, 2) + "\n";
      if (flags.out) {
        writeFileAtomic(flags.out, json);
        console.error(`explanations of ${split.n} rows written to ${flags.out}`);
      }
      if (flags.json) process.stdout.write(json);
      else if (!flags.out) process.stdout.write(formatExplanation(result));
    });
}
