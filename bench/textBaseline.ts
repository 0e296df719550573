/**
 * npm run bench:text-baseline — fusionkit's `linear:text` (TF-IDF + multinomial
 * logistic regression, src/baselines) beside scikit-learn's TfidfVectorizer +
 * LogisticRegression (bench/text_baseline_sklearn.py) on the same emoji rows and
 * the same words: each row's first maxTokens tokens from fusionkit's tokeniser,
 * words outside the train vocabulary dropped by both (sklearn's own rule).
 * The two should agree within a point; a gap is a bug in ours (one was: an
 * "unknown" TF-IDF column, docs/encoders.md). Needs /usr/bin/python3 with
 * python3-sklearn (apt-get install python3-sklearn).
 * Usage: npm run bench:text-baseline [-- --max-rows 4000] [--subwords]
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { fitLinearBaseline, linearMetrics, linearProbsOn } from "../src/baselines/linear.ts";
import { builtinDatasets } from "../src/data/builtin/index.ts";
import { loadDataset } from "../src/data/load.ts";
import { startEngine } from "../src/engine/backend.ts";

const { values } = parseArgs({ options: { "max-rows": { type: "string", default: "4000" }, subwords: { type: "boolean", default: false } } });
await startEngine();
const dataset = await loadDataset("emoji", { maxRows: Number(values["max-rows"]) });
const text = dataset.modalities.find((m) => m.type === "text")!;
const T = text.shape[0]!;
const vocabulary = text.vocabulary!;
const rows: { split: string; words: string; label: number; raw?: string }[] = [];
// --subwords: each row's raw text, from the built-in generator's rows by id (preparation keeps no spelling of unknown words)
const rawText = values.subwords ? new Map(builtinDatasets.emoji!({}).rows.map((row) => [String(row.id), row[text.name]])) : undefined;
function rawOf(id: string): string {
  const raw = rawText!.get(id);
  if (typeof raw !== "string") throw new Error(`--subwords: the emoji generator has no "${text.name}" text for row ${id}`);
  return raw;
}
const unknownShare: string[] = [];
for (const name of ["train", "val", "test"] as const) {
  let unknown = 0;
  let words = 0;
  const split = dataset.splits[name];
  const ids = split.inputs[text.name]!;
  const mask = split.tokenMasks[text.name]!;
  for (let r = 0; r < split.n; r++) {
    const row: string[] = [];
    for (let t = 0; t < T; t++) {
      if (!mask[r * T + t]) continue;
      words++;
      const id = ids[r * T + t]!;
      // an unknown word's spelling is gone after preparation; sklearn would drop it anyway (outside its train vocabulary)
      if (id === 1) unknown++;
      else row.push(vocabulary[id]!);
    }
    rows.push({ split: name, words: row.join(" "), label: split.labels[r]!, ...(rawText ? { raw: rawOf(split.ids[r]!) } : {}) });
  }
  unknownShare.push(`${name} ${((100 * unknown) / Math.max(1, words)).toFixed(1)}%`);
}
console.log(`emoji ${dataset.splits.train.n}/${dataset.splits.val.n}/${dataset.splits.test.n} rows, first ${T} words of each; words outside the train vocabulary: ${unknownShare.join(", ")}`);

const run = fitLinearBaseline(dataset, `linear:${text.name}`);
const val = linearMetrics(dataset, linearProbsOn(dataset, `linear:${text.name}`, run, dataset.splits.val), dataset.splits.val).accuracy!;
const test = linearMetrics(dataset, run.testProbs, dataset.splits.test).accuracy!;
console.log(`fusionkit linear:${text.name}: L2 ${run.fit.l2} chosen on validation, val ${val.toFixed(4)}, test ${test.toFixed(4)}`);

const dir = mkdtempSync(join(tmpdir(), "fusionkit-text-baseline-"));
try {
  writeFileSync(join(dir, "rows.json"), JSON.stringify(rows));
  process.stdout.write(execFileSync("/usr/bin/python3", [new URL("./text_baseline_sklearn.py", import.meta.url).pathname, join(dir, "rows.json")], { encoding: "utf8" }));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
