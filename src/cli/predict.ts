/**
 * `fusionkit predict`: raw JSONL rows (the dataset's own format; any modality
 * may be missing) -> one JSON line per row with the prediction and scores.
 */
import type { Command } from "commander";
import { existsSync, readFileSync } from "node:fs";
import { parseJsonLines } from "../data/rows.ts";
import { startEngine } from "../engine/backend.ts";
import { writeFileAtomic } from "../engine/checkpoint.ts";
import { flattenParams } from "../engine/params.ts";
import { FusionkitError } from "../errors.ts";
import { argmaxRows } from "../eval/metrics.ts";
import { encodeRowsForModel } from "../model/prepareRows.ts";
import { dirname, resolve } from "node:path";
import { loadModel, type LoadedModel } from "../train/persistence.ts";
import { Predictor } from "../train/predict.ts";

/** One output object per row. */
export function formatPredictions(model: LoadedModel, ids: string[], probs: Float32Array): Record<string, unknown>[] {
  const { task, outDim } = model.spec;
  const names = model.labelNames;
  const n = ids.length;
  const round = (x: number) => Math.round(x * 1e6) / 1e6;
  const perClass = (i: number) => Object.fromEntries(names.map((name, c) => [name, round(probs[i * outDim + c]!)]));
  if (task === "classification") {
    const best = argmaxRows(probs, n, outDim);
    return ids.map((id, i) => ({ id, prediction: names[best[i]!], probabilities: perClass(i) }));
  }
  if (task === "multilabel") {
    return ids.map((id, i) => ({ id, prediction: names.filter((_, c) => probs[i * outDim + c]! > 0.5), probabilities: perClass(i) }));
  }
  return ids.map((id, i) => ({ id, prediction: probs[i]! }));
}

export function register(program: Command): void {
  program
    .command("predict")
    .description("predict labels for raw JSONL rows with a saved model")
    .requiredOption("--model <dir>", "checkpoint directory written by fusionkit train")
    .requiredOption("--rows <file.jsonl>", "rows in the dataset's raw format; modalities may be missing (null or absent)")
    .option("--out <file>", "write JSON lines here instead of stdout")
    .option("--base-dir <dir>", "image/audio paths in the rows are relative to this (default: the rows file's directory)")
    .action(async (flags: { model: string; rows: string; out?: string; baseDir?: string }) => {
      if (!existsSync(flags.rows)) throw new FusionkitError(`rows file not found`, { file: flags.rows });
      await startEngine();
      const model = loadModel(flags.model);
      const { rows } = parseJsonLines(readFileSync(flags.rows, "utf8"), flags.rows);
      if (rows.length === 0) throw new FusionkitError("no rows to predict", { file: flags.rows });
      const baseDir = resolve(flags.baseDir ?? dirname(flags.rows));
      const split = await encodeRowsForModel(rows, model.spec.modalities, model.config.modalityConfigs, baseDir);
      const predictor = new Predictor(model.model, model.layout, flattenParams(model.params).flat, model.options.batchSize);
      let lines: string;
      try {
        const { probs } = predictor.predict(split);
        lines = formatPredictions(model, split.ids, probs).map((o) => JSON.stringify(o)).join("\n") + "\n";
      } finally {
        predictor.dispose();
      }
      if (flags.out) {
        writeFileAtomic(flags.out, lines);
        console.error(`${split.n} predictions written to ${flags.out}`);
      } else process.stdout.write(lines);
    });
}
