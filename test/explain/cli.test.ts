import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { Command } from "commander";
import { register } from "../../src/cli/explain.ts";
import { startEngine } from "../../src/engine/backend.ts";
import { FusionkitError } from "../../src/errors.ts";
import { saveModel } from "../../src/train/persistence.ts";
import { trainModel } from "../../src/train/trainer.ts";
import { onlyADataset } from "./helpers.ts";

const run = promisify(execFile);
let dir: string;

before(async () => {
  await startEngine();
  dir = mkdtempSync(join(tmpdir(), "fusionkit-explain-"));
  const dataset = onlyADataset({ seed: 6, train: 256 });
  const trained = await trainModel(dataset, { method: "early", seed: 0, epochs: 2, batchSize: 64, encoderDim: 8, methodConfig: { projectDim: 8, hidden: [8], dropout: 0 } });
  saveModel(join(dir, "model"), trained, dataset, {
    modalityConfigs: [
      { name: "A", type: "vector", field: "a" },
      { name: "B", type: "vector", field: "b" },
    ],
  });
  const rows = [
    { id: "both", a: [1.5, 0, 0, 0], b: [0.3, -0.2, 0.1, 0] },
    { id: "no-b", a: [-1.2, 0.4, 0, 0], b: null },
    { id: "no-a", b: [0.5, 0.5, 0.5, 0.5] },
  ];
  writeFileSync(join(dir, "rows.jsonl"), rows.map((r) => JSON.stringify(r)).join("\n") + "\n");
});

after(() => rmSync(dir, { recursive: true, force: true }));

async function explain(...args: string[]): Promise<void> {
  const program = new Command().exitOverride();
  register(program);
  await program.parseAsync(["node", "fusionkit", "explain", ...args]);
}

describe("fusionkit explain", () => {
  test("--out writes per-row predictions and attributions that add up, missing modalities get 0", async () => {
    const out = join(dir, "explained.json");
    await explain("--model", join(dir, "model"), "--rows", join(dir, "rows.jsonl"), "--out", out);
    const result = JSON.parse(readFileSync(out, "utf8"));
    assert.equal(result.method, "early");
    assert.deepEqual(result.modalities, ["A", "B"]);
    assert.deepEqual(result.rows.map((r: { id: string }) => r.id), ["both", "no-b", "no-a"]);
    for (const row of result.rows) {
      assert.ok(["negative", "positive"].includes(row.prediction));
      assert.equal(row.explained, row.prediction);
      assert.ok(Math.abs(row.probabilities[row.explained] - row.full) < 1e-5);
      const sum = row.attribution.A + row.attribution.B;
      assert.ok(Math.abs(sum - (row.full - row.empty)) < 1e-5, `${row.id}: ${sum} vs ${row.full - row.empty}`);
    }
    assert.deepEqual(result.rows[1].missing, ["B"]);
    assert.equal(result.rows[1].attribution.B, 0);
    assert.equal(result.rows[2].attribution.A, 0);
  });

  test("--target explains a fixed class; an unknown class is refused with the valid ones", async () => {
    const out = join(dir, "target.json");
    await explain("--model", join(dir, "model"), "--rows", join(dir, "rows.jsonl"), "--out", out, "--target", "positive", "--value", "logit");
    const result = JSON.parse(readFileSync(out, "utf8"));
    assert.equal(result.value, "logit");
    assert.ok(result.rows.every((r: { explained: string }) => r.explained === "positive"));
    // the prediction is still the model's own, whichever class is explained
    const own = JSON.parse(readFileSync(join(dir, "explained.json"), "utf8"));
    assert.deepEqual(result.rows.map((r: { prediction: string }) => r.prediction), own.rows.map((r: { prediction: string }) => r.prediction));
    assert.ok(result.rows.some((r: { prediction: string }) => r.prediction === "negative"), "the rows should include a negative prediction for this check to bite");
    await assert.rejects(
      explain("--model", join(dir, "model"), "--rows", join(dir, "rows.jsonl"), "--target", "maybe"),
      (e: unknown) => e instanceof FusionkitError && /unknown class "maybe"/.test(e.message) && /negative, positive/.test(e.message),
    );
  });

  test("the installed command prints a readable explanation per row", async () => {
    const { stdout } = await run(process.execPath, ["bin/fusionkit.mjs", "explain", "--model", join(dir, "model"), "--rows", join(dir, "rows.jsonl")], { cwd: process.cwd() });
    assert.match(stdout, /row both: prediction (negative|positive) \(p = 0\.\d+\)/);
    assert.match(stdout, /B\s+\+0\.000\s+\(missing in this row\)/);
  });
});
