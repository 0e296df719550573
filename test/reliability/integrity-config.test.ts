/**
 * Catalogue: config.json is bound to the weights by the model fingerprint.
 * A reversed labelNames or another method name in config.json used to give
 * every prediction under the wrong class name (or run another method on the
 * same weights) without a word; now every command that loads a model refuses
 * it with one line naming the file, the field and what to do.
 */
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { loadAligned, saveAligned } from "../../src/align/persistence.ts";
import { trainAlignment } from "../../src/align/trainer.ts";
import { decodeSafetensors, modelFingerprintOf } from "../../src/engine/checkpoint.ts";
import { FusionkitError } from "../../src/errors.ts";
import { buildServeApp } from "../../src/serve/server.ts";
import { toyPairs } from "../align/synthetic.ts";
import { tempDir } from "../../bench/fixtures/datasetFiles.ts";
import { cli, modelFixture, type ModelFixture } from "./fixtures.ts";

let fixture: ModelFixture;
let rowsFile: string;

before(async () => {
  fixture = await modelFixture("late_mean");
  rowsFile = join(fixture.dataDir, "data.jsonl");
});

/** Edits config.json; returns the exact line every command must print and a function restoring the file. */
function editConfig(dir: string, field: string, edit: (config: Record<string, unknown>) => void): { line: string; restore: () => void } {
  const configPath = join(dir, "config.json");
  const original = readFileSync(configPath, "utf8");
  const config = JSON.parse(original) as Record<string, unknown>;
  edit(config);
  writeFileSync(configPath, JSON.stringify(config, null, 2));
  const weights = join(dir, "model.safetensors");
  const { metadata } = decodeSafetensors(readFileSync(weights), weights);
  const saved = metadata.fusionkit_fingerprint!;
  const now = modelFingerprintOf(config, metadata.fusionkit_sha256!);
  const line =
    `${configPath}: does not match model.safetensors (field "${field}" changed since the model was saved; model fingerprint ${saved.slice(0, 12)}, this config gives ${now.slice(0, 12)}). ` +
    `Restore the config.json saved with these weights, or retrain the model into this directory.`;
  return { line, restore: () => writeFileSync(configPath, original) };
}

describe("integrity: config.json edited after saving", () => {
  it("reversed labelNames: eval, predict, explain and export refuse with the same one line", () => {
    const { line, restore } = editConfig(fixture.modelDir, "labelNames", (c) => (c.labelNames as string[]).reverse());
    try {
      for (const args of [
        ["eval", "--model", fixture.modelDir],
        ["predict", "--model", fixture.modelDir, "--rows", rowsFile],
        ["explain", "--model", fixture.modelDir, "--rows", rowsFile],
        ["export", "--model", fixture.modelDir, "--out", join(tempDir("fusionkit-reliability-"), "m.onnx")],
      ]) {
        const run = cli(args);
        assert.equal(run.status, 1, `${args[0]}: ${run.stderr}`);
        assert.equal(run.stderr, `error: ${line}\n`, args[0]);
        assert.equal(run.stdout, "", args[0]);
      }
    } finally {
      restore();
    }
  });

  it("method late_mean changed to late_vote: predict and serve refuse", async () => {
    const { line, restore } = editConfig(fixture.modelDir, "method", (c) => (c.method = "late_vote"));
    try {
      const run = cli(["predict", "--model", fixture.modelDir, "--rows", rowsFile]);
      assert.equal(run.status, 1);
      assert.equal(run.stderr, `error: ${line}\n`);
      await assert.rejects(buildServeApp({ modelDir: fixture.modelDir }), (e: unknown) => e instanceof FusionkitError && e.message === line);
    } finally {
      restore();
    }
  });

  it("search refuses an aligned model whose config.json was edited", async () => {
    const dataset = toyPairs(0, 0.15, { train: 48, val: 16, test: 16 });
    const aligned = await trainAlignment(dataset, { pair: ["shape", "caption"], matchField: "concept", epochs: 1, batchSize: 16, encoderDim: 8, embedDim: 8 });
    const dir = join(tempDir("fusionkit-reliability-"), "aligned");
    saveAligned(dir, aligned, dataset, { source: "toy" });
    assert.equal(loadAligned(dir).config.labelNames.length, dataset.labelNames.length);
    const { line } = editConfig(dir, "labelNames", (c) => (c.labelNames as string[]).reverse());
    assert.throws(() => loadAligned(dir), (e: unknown) => e instanceof FusionkitError && e.message === line);
    const run = cli(["search", "--model", dir, "--query", "a red circle"]);
    assert.equal(run.status, 1);
    assert.equal(run.stderr, `error: ${line}\n`);
  });
});
