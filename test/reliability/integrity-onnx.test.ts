/**
 * Catalogue: the served graph is the checkpoint beside it.
 * - a model.onnx exported from an older training into the same directory
 *   (even one that looks newer on disk) is re-exported at serve start, saying so;
 * - serve refuses to start without config.json/model.safetensors unless told --onnx-only;
 * - a truncated model.onnx is one line naming the file and what to do, not
 *   "internal error: ... Protobuf parsing failed";
 * - `fusionkit export` measures the graph against jax-js and records it.
 */
import assert from "node:assert/strict";
import { cpSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { exportModel, lowerTrainedModel, type ExportMetadata } from "../../src/export/exportModel.ts";
import { decodeModel } from "../../src/export/onnxGraph.ts";
import { verifyAgainstEngine, verifyTolerance } from "../../src/export/verify.ts";
import { FusionkitError } from "../../src/errors.ts";
import { loadModel } from "../../src/train/persistence.ts";
import { buildServeApp } from "../../src/serve/server.ts";
import { tempDir } from "../../bench/fixtures/datasetFiles.ts";
import { cli, modelFixture, retrain, startServe, type ModelFixture } from "./fixtures.ts";

let fixture: ModelFixture;

before(async () => {
  fixture = await modelFixture("early");
  await exportModel(fixture.modelDir, join(fixture.modelDir, "model.onnx"));
});

/** A copy of the fixture's directory (checkpoint + current model.onnx) to damage. */
function copyOfModel(): string {
  const dir = join(tempDir("fusionkit-reliability-"), "model");
  cpSync(fixture.modelDir, dir, { recursive: true });
  return dir;
}

const requestRow = { v: [1, 0, 0], age: 30, city: "Rome", caption: "sunny day", photo: "img/red.png", clip: "audio/low.wav" };

describe("integrity: the served ONNX graph", () => {
  it("a model.onnx from an older training into the same directory is re-exported at start, saying so, and serve answers like the new checkpoint", async () => {
    const dir = join(tempDir("fusionkit-reliability-"), "model");
    const old = await retrain(fixture, "early", 11, dir);
    await exportModel(dir, join(dir, "model.onnx"));
    // retrain into the same directory; the stale graph even looks newer than the checkpoint
    const fresh = await retrain(fixture, "early", 12, dir);
    const future = new Date(Date.now() + 3600_000);
    utimesSync(join(dir, "model.onnx"), future, future);
    assert.notEqual(old.fingerprint, fresh.fingerprint);
    const served = await buildServeApp({ modelDir: dir });
    try {
      assert.equal(served.model.exported, `model.onnx did not match the checkpoint beside it (fingerprint ${old.fingerprint.slice(0, 12)}, checkpoint ${fresh.fingerprint.slice(0, 12)}): re-exported it from the checkpoint`);
      assert.equal(served.model.metadata.fingerprint, fresh.fingerprint);
      const response = await served.app.inject({ method: "POST", url: "/predict", payload: { rows: [requestRow] } });
      assert.equal(response.statusCode, 200, response.body);
      // the same answer as `fusionkit predict` (jax-js on the checkpoint in the directory)
      const cliRows = join(tempDir("fusionkit-reliability-"), "rows.jsonl");
      writeFileSync(cliRows, `${JSON.stringify(requestRow)}\n`);
      const predicted = cli(["predict", "--model", dir, "--rows", cliRows, "--base-dir", dir]);
      assert.equal(predicted.status, 0, predicted.stderr);
      const expected = JSON.parse(predicted.stdout) as { probabilities: Record<string, number> };
      const got = response.json().predictions[0] as { probabilities: Record<string, number> };
      for (const [name, p] of Object.entries(expected.probabilities)) assert.ok(Math.abs(got.probabilities[name]! - p) <= 1e-4, `${name}: served ${got.probabilities[name]}, predict ${p}`);
    } finally {
      await served.app.close();
    }
  });

  it("refuses to start without config.json or model.safetensors beside the graph, unless --onnx-only", async () => {
    const dir = copyOfModel();
    rmSync(join(dir, "config.json"));
    const line = `${dir}: no config.json in the model directory: serve checks model.onnx against the checkpoint it was exported from. Point --model at a directory written by "fusionkit train", or pass --onnx-only to serve model.onnx unchecked`;
    await assert.rejects(buildServeApp({ modelDir: dir }), (e: unknown) => e instanceof FusionkitError && e.message === line);
    const server = await startServe(["--model", dir, "--onnx-only"]);
    try {
      assert.match(server.stderr(), /^--onnx-only: serving .*model\.onnx without its checkpoint; its fingerprint is not checked$/m);
      const response = await fetch(`${server.address}/predict`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ rows: [requestRow] }) });
      assert.equal(response.status, 200);
    } finally {
      server.stop();
    }
  });

  it("a truncated model.onnx at serve start is one line naming the file and what to do", async () => {
    const dir = copyOfModel();
    const bytes = readFileSync(join(dir, "model.onnx"));
    writeFileSync(join(dir, "model.onnx"), bytes.subarray(0, Math.floor(bytes.length / 2)));
    const expected = (why: string) =>
      `${join(dir, "model.onnx")}: not a readable ONNX graph (${why}): truncated or damaged. Re-export it with "fusionkit export --model ${dir}" (or delete it: serve exports a missing graph from the checkpoint)`;
    const run = cli(["serve", "--model", dir, "--port", "0"]);
    assert.equal(run.status, 1);
    const why = /not a readable ONNX graph \((.+)\): truncated/.exec(run.stderr)?.[1] ?? "?";
    assert.equal(run.stderr, `error: ${expected(why)}\n`);
    assert.doesNotMatch(run.stderr, /internal error/);
    // the same without the checkpoint check
    await assert.rejects(buildServeApp({ modelDir: dir, onnxOnly: true }), (e: unknown) => e instanceof FusionkitError && e.message.startsWith(`${join(dir, "model.onnx")}: not a readable ONNX graph (`) && e.message.endsWith(expected("").slice(expected("").indexOf("): truncated"))));
  });

  it("`fusionkit export` verifies the graph against jax-js, prints the max error and records it in the metadata", () => {
    const out = join(tempDir("fusionkit-reliability-"), "model.onnx");
    const run = cli(["export", "--model", fixture.modelDir, "--out", out]);
    assert.equal(run.status, 0, run.stderr);
    const metadata = JSON.parse(readFileSync(`${out}.json`, "utf8")) as ExportMetadata;
    const v = metadata.verification!;
    assert.equal(v.rows, 32);
    assert.equal(v.source, "synthetic");
    assert.ok(v.maxError >= 0 && v.maxError <= verifyTolerance, `max error ${v.maxError}`);
    assert.match(run.stdout, new RegExp(`^  verified against jax-js on 32 synthetic rows in onnxruntime-node: max error ${v.maxError.toExponential(2).replace("+", "\\+")} \\(tolerance 0\\.0001\\)$`, "m"));
    assert.equal(metadata.fingerprint, fixture.fingerprint);
    // the graph itself carries the same record
    const props = Object.fromEntries((decodeModel(readFileSync(out)).metadataProps as { key: string; value: string }[]).map((p) => [p.key, p.value]));
    assert.deepEqual(JSON.parse(props.fusionkit!).verification, v);
  });

  it("the verification fails a graph that does not compute the model (another training's weights)", async () => {
    const model = loadModel(fixture.modelDir);
    const other = await retrain(fixture, "early", 13);
    const { bytes } = lowerTrainedModel(loadModel(other.modelDir));
    const result = await verifyAgainstEngine(model, bytes, "probabilities");
    assert.ok(result.maxError > verifyTolerance, `max error ${result.maxError}`);
    // and the model's own graph passes
    const own = await verifyAgainstEngine(model, lowerTrainedModel(model).bytes, "probabilities");
    assert.ok(own.maxError <= verifyTolerance);
  });
});
