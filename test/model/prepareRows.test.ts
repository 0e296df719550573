import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadDataset } from "../../src/data/load.ts";
import { parseJsonLines } from "../../src/data/rows.ts";
import type { PreparedDataset } from "../../src/data/types.ts";
import { FusionkitError } from "../../src/errors.ts";
import { encodeRowsForModel, prepareRows } from "../../src/model/prepareRows.ts";

let dir: string;
let ds: PreparedDataset;
const modalities = [
  { name: "emb", type: "vector", field: "embedding" },
  { name: "facts", type: "tabular", numeric: ["price", "weight"], categorical: ["colour"] },
  { name: "caption", type: "text", field: "caption", maxTokens: 5 },
  { name: "track", type: "sequence", field: "track", dim: 2, maxLength: 3 },
];

/** Rows with every kind of missing value: null fields, absent fields, an empty caption, an unseen category. */
function rowsText(n: number, split: string, offset: number): string {
  const words = ["red", "green", "Blue", "sky", "grass", "sea"];
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const k = i + offset;
    const row: Record<string, unknown> = {
      id: `${split}-${i}`,
      label: k % 2 ? "yes" : "no",
      split,
      embedding: k % 7 === 3 ? null : [k % 5, -k % 3, 0.5 * k],
      price: k % 4 === 1 ? null : 10 + k,
      weight: 2 * (k % 9),
      colour: k % 11 === 5 ? "purple" : ["red", "green"][k % 2],
      caption: k % 6 === 2 ? "" : `${words[k % 6]} ${words[(k + 2) % 6]} and ${words[(k * 5) % 6]}`,
      track: k % 5 === 4 ? null : Array.from({ length: 1 + (k % 4) }, (_, t) => [t + k, t - k]),
    };
    if (k % 8 === 7) delete row.weight;
    lines.push(JSON.stringify(row));
  }
  return lines.join("\n") + "\n";
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "fusionkit-prepare-rows-"));
  writeFileSync(join(dir, "dataset.json"), JSON.stringify({ task: "classification", label: "label", split: { field: "split" }, modalities }));
  writeFileSync(join(dir, "data.jsonl"), rowsText(30, "train", 0) + rowsText(8, "val", 100) + rowsText(10, "test", 200));
  ds = await loadDataset(dir, { cache: false });
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe("raw rows for predict", () => {
  test("prepareRows (fallback) encodes exactly as the data layer prepared the test split", () => {
    const { rows } = parseJsonLines(rowsText(10, "test", 200), "new.jsonl");
    const specsWithoutConfig = ds.modalities.map(({ config: _config, ...rest }) => rest);
    const mine = prepareRows(rows, specsWithoutConfig, modalities);
    const test = ds.splits.test;
    for (const spec of ds.modalities) {
      assert.deepEqual(mine.present[spec.name], test.present[spec.name], `${spec.name} presence`);
      assert.deepEqual(mine.inputs[spec.name], test.inputs[spec.name], `${spec.name} inputs`);
      if (test.tokenMasks[spec.name]) assert.deepEqual(mine.tokenMasks[spec.name], test.tokenMasks[spec.name], `${spec.name} mask`);
    }
    assert.deepEqual(mine.ids, test.ids);
  });

  test("encodeRowsForModel agrees with prepareRows", async () => {
    const { rows } = parseJsonLines(rowsText(10, "test", 200), "new.jsonl");
    const viaPipelines = await encodeRowsForModel(rows, ds.modalities, undefined, dir);
    const viaFallback = prepareRows(rows, ds.modalities, undefined);
    for (const spec of ds.modalities) assert.deepEqual(viaFallback.inputs[spec.name], viaPipelines.inputs[spec.name], spec.name);
  });

  test("a bad cell names the file, line and field", () => {
    const { rows } = parseJsonLines('{"embedding": [1, 2, 3]}\n{"embedding": [1, "x", 3]}\n', "new.jsonl");
    assert.throws(() => prepareRows(rows, ds.modalities, modalities), (e: unknown) => e instanceof FusionkitError && /new\.jsonl:2, field "embedding"/.test(e.message));
  });
});
