/** The run of `fusionkit predict` (registered in src/cli/predict.ts) and its output records. */
import { existsSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parseJsonLines } from "../../data/rows.ts";
import { startEngine } from "../../engine/backend.ts";
import { skippedRowsReport, type SkippedRow } from "../../data/problems.ts";
import { writeFileAtomic } from "../../io/atomicWrite.ts";
import { checkWritableFile } from "../../io/outputs.ts";
import { FusionkitError } from "../../errors.ts";
import { argmaxRows } from "../../eval/metrics.ts";
import { attributionForRows, withPredictor, type RowExplanation } from "../../explain/rows.ts";
import { encodeRowsForModel } from "../../model/prepareRows.ts";
import { loadModel, type LoadedModel } from "../../train/persistence.ts";
import type { PredictFlags } from "../predict.ts";

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

/** The per-row part of an explanation that `predict` adds under "explain" (its prediction and probabilities are the line's own). */
export function explainField(row: RowExplanation): Record<string, unknown> {
  const { explained, value, full, empty, attribution, missing, views } = row;
  return { explained, value, full, empty, attribution, missing, views };
}

export async function runPredict(flags: PredictFlags): Promise<void> {
  if (!existsSync(flags.rows)) throw new FusionkitError(`rows file not found`, { file: flags.rows });
  if (flags.out) checkWritableFile(flags.out);
  await startEngine();
  const model = loadModel(flags.model);
  const { rows } = parseJsonLines(readFileSync(flags.rows, "utf8"), flags.rows);
  if (rows.length === 0) throw new FusionkitError("no rows to predict", { file: flags.rows });
  const baseDir = resolve(flags.baseDir ?? dirname(flags.rows));
  const skipped: SkippedRow[] = [];
  const split = await encodeRowsForModel(rows, model.spec.modalities, model.config.modalityConfigs, baseDir, { skipBadRows: flags.skipBadRows === true, skipped });
  for (const line of skippedRowsReport(skipped)) console.error(line);
  if (split.n === 0) throw new FusionkitError("every row was skipped as bad; nothing to predict", { file: flags.rows });
  const { probs } = withPredictor(model, undefined, (predictor) => predictor.predict(split));
  const records = formatPredictions(model, split.ids, probs);
  if (flags.explain) {
    // the same explanation as `fusionkit explain` (src/explain/rows.ts), of each row's predicted class
    const explained = attributionForRows(model, split).rows;
    records.forEach((record, i) => (record.explain = explainField(explained[i]!)));
  }
  const lines = records.map((o) => JSON.stringify(o)).join("\n") + "\n";
  if (flags.out) {
    writeFileAtomic(flags.out, lines);
    console.error(`${split.n} predictions written to ${flags.out}`);
  } else process.stdout.write(lines);
}
