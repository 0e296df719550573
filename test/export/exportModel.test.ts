import assert from "node:assert/strict";
import { z } from "zod";
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { numpy as np } from "@jax-js/jax";
import { adopt } from "../../src/engine/tensor.ts";
import { FusionkitError } from "../../src/errors.ts";
import { exportModel, exportTrainedModel, type ExportMetadata } from "../../src/export/exportModel.ts";
import { decodeModel } from "../../src/export/onnxGraph.ts";
import type { FusionMethod } from "../../src/fusion/types.ts";
import { HostRng } from "../../src/engine/random.ts";
import { buildModel } from "../../src/model/model.ts";
import { tempDir } from "../../bench/fixtures/datasetFiles.ts";
import { servedModelFixture, type ServedFixture } from "../../bench/fixtures/servedModel.ts";
import { vectorSpec } from "../../bench/fixtures/tinyDatasets.ts";

let fixture: ServedFixture;

before(async () => {
  fixture = await servedModelFixture();
});

describe("fusionkit export", () => {
  it("writes the graph and the preprocessing metadata beside it (and inside it as metadata_props)", async () => {
    const out = join(tempDir("fusionkit-export-"), "nested", "model.onnx");
    const summary = await exportModel(fixture.modelDir, out);
    assert.equal(summary.metadataPath, `${out}.json`);
    const metadata = JSON.parse(readFileSync(`${out}.json`, "utf8")) as ExportMetadata;
    const { dataset } = fixture;
    assert.equal(metadata.task, "classification");
    assert.deepEqual(metadata.labelNames, dataset.labelNames);
    assert.deepEqual(
      metadata.inputs.map((i) => `${i.name} [${i.shape.join(",")}]`),
      [
        "inputs.embedding [batch,3]", "present.embedding [batch]",
        "inputs.facts [batch,2]", "present.facts [batch]",
        "inputs.caption [batch,5]", "present.caption [batch]", "tokenMask.caption [batch,5]",
        "inputs.photo [batch,4,4,3]", "present.photo [batch]",
        "inputs.clip [batch,4,6]", "present.clip [batch]", "tokenMask.clip [batch,4]",
      ],
    );
    assert.deepEqual(metadata.outputs.map((o) => o.name), ["logits", "probabilities"]);
    // the fitted statistics are the data layer's, unchanged
    const byName = Object.fromEntries(metadata.modalities.map((m) => [m.name, m]));
    for (const spec of dataset.modalities) assert.deepEqual(byName[spec.name]!.preprocessing, JSON.parse(JSON.stringify(spec.preprocessing)));
    assert.deepEqual(byName.caption!.vocabulary, dataset.modalities.find((m) => m.name === "caption")!.vocabulary);
    assert.equal((byName.photo!.preprocessing as { size: number }).size, 4);
    const ages = fixture.rows.filter((r) => r.split === "train" && typeof r.age === "number").map((r) => r.age as number);
    const ageMean = ages.reduce((a, b) => a + b, 0) / ages.length;
    assert.ok(Math.abs((byName.facts!.preprocessing as { means: number[] }).means[0]! - ageMean) < 1e-9, "age mean is the train mean");
    assert.deepEqual(metadata.modalityConfigs?.map((c) => c.name), ["embedding", "facts", "caption", "photo", "clip"]);
    const graph = decodeModel(readFileSync(out));
    const props = Object.fromEntries((graph.metadataProps as { key: string; value: string }[]).map((p) => [p.key, p.value]));
    assert.deepEqual(JSON.parse(props.fusionkit!), metadata);
    assert.equal(Number(graph.opsetImport[0].version), 17);
  });

  it("refuses a model with an operation ONNX cannot express, names it, and writes no file", () => {
    // a legitimate-looking method that sorts each modality's features (order statistics pooling)
    const sorted: FusionMethod = {
      name: "sorted_pool",
      family: "early",
      summary: "sorted features",
      citation: "test only",
      config: z.strictObject({}),
      defaults: {},
      init: () => ({}),
      apply: (_p, encoded) => ({ fused: adopt(np.sort(encoded[0]!.pooled.borrow, -1)) }),
      fusedDim: (inputs) => inputs[0]!.dim,
    };
    // not trained: sort has no gradient in jax-js's jit, and export only needs the structure
    const model = buildModel({ modalities: [vectorSpec], task: "classification", outDim: 3, method: sorted, methodConfig: {}, encoderDim: 4, dropout: 0 });
    const trained = { spec: model.spec, model, params: model.init(new HostRng(0)), labelNames: ["a", "b", "c"], labelField: "label", datasetName: "tiny" };
    const dir = tempDir("fusionkit-export-");
    const out = join(dir, "model.onnx");
    assert.throws(
      () => exportTrainedModel(trained, out),
      (error: unknown) => error instanceof FusionkitError && /primitive "sort"/.test(error.message),
    );
    assert.deepEqual(readdirSync(dir), []);
  });

  it("runs from the command line, and a bad model directory is one error line", () => {
    const out = join(tempDir("fusionkit-export-"), "cli.onnx");
    const ok = spawnSync(process.execPath, ["bin/fusionkit.mjs", "export", "--model", fixture.modelDir, "--out", out], { encoding: "utf8" });
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /early \(early\), classification/);
    assert.ok(existsSync(out) && existsSync(`${out}.json`));
    const bad = spawnSync(process.execPath, ["bin/fusionkit.mjs", "export", "--model", join(fixture.dataDir, "nope"), "--out", out], { encoding: "utf8" });
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /^error: /);
    assert.doesNotMatch(bad.stderr, /at .*\.ts:\d+/, "no stack trace without --debug");
  });
});
