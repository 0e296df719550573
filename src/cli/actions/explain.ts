/** The run of `fusionkit explain` (registered in src/cli/explain.ts). */
import { existsSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parseJsonLines } from "../../data/rows.ts";
import { startEngine } from "../../engine/backend.ts";
import { skippedRowsReport, type SkippedRow } from "../../data/problems.ts";
import { writeFileAtomic } from "../../io/atomicWrite.ts";
import { checkWritableFile } from "../../io/outputs.ts";
import { FusionkitError } from "../../errors.ts";
import { explanationJson, formatExplanation } from "../../explain/format.ts";
import { attributionForRows } from "../../explain/rows.ts";
import { encodeRowsForModel } from "../../model/prepareRows.ts";
import { loadModel } from "../../train/persistence.ts";
import type { ExplainFlags } from "../explain.ts";

export async function runExplain(flags: ExplainFlags): Promise<void> {
  if (!existsSync(flags.rows)) throw new FusionkitError(`rows file not found`, { file: flags.rows });
  if (flags.out) checkWritableFile(flags.out);
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
  const skipped: SkippedRow[] = [];
  const baseDir = resolve(flags.baseDir ?? dirname(flags.rows));
  const split = await encodeRowsForModel(rows, model.spec.modalities, model.config.modalityConfigs, baseDir, { skipBadRows: flags.skipBadRows === true, skipped });
  for (const line of skippedRowsReport(skipped)) console.error(line);
  if (split.n === 0) throw new FusionkitError("every row was skipped as bad; nothing to explain", { file: flags.rows });
  const result = attributionForRows(model, split, { value: flags.value, ...(target !== undefined ? { target } : {}) });
  const json = JSON.stringify(explanationJson(result), null, 2) + "\n";
  if (flags.out) {
    writeFileAtomic(flags.out, json);
    console.error(`explanations of ${split.n} rows written to ${flags.out}`);
  }
  if (flags.json) process.stdout.write(json);
  else if (!flags.out) process.stdout.write(formatExplanation(result));
}
