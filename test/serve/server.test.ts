import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { flattenParams } from "../../src/engine/params.ts";
import { buildServeApp, type ServeApp } from "../../src/serve/server.ts";
import { Predictor } from "../../src/train/predict.ts";
import { servedModelFixture, type ServedFixture } from "../../bench/fixtures/servedModel.ts";

let fixture: ServedFixture;
let served: ServeApp;

before(async () => {
  fixture = await servedModelFixture();
  served = await buildServeApp({ modelDir: fixture.modelDir });
});

after(async () => {
  await served?.app.close();
});

type Prediction = { id?: string; prediction: string; probabilities: Record<string, number>; missing: string[]; explain?: { base: number; attribution: Record<string, number> } };

async function predict(body: unknown): Promise<{ status: number; json: any }> {
  const response = await served.app.inject({ method: "POST", url: "/predict", payload: body as Record<string, unknown> });
  return { status: response.statusCode, json: response.json() };
}

/** raw rows as a client sends them: model inputs, id and label (the dataset's split field is not a model input) */
const asRequestRow = ({ split: _split, ...row }: Record<string, unknown>) => row;
const testRows = () => fixture.rows.filter((row) => row.split === "test").map(asRequestRow);

describe("fusionkit serve", () => {
  it("exports model.onnx into the model directory on first start and serves the engine's probabilities for raw rows", async () => {
    assert.match(served.model.exported ?? "", /^exported model\.onnx from the checkpoint \(fingerprint [0-9a-f]{12}\)$/);
    assert.ok(existsSync(join(fixture.modelDir, "model.onnx")) && existsSync(join(fixture.modelDir, "model.onnx.json")));
    const rows = testRows();
    const { status, json } = await predict({ rows });
    assert.equal(status, 200, JSON.stringify(json));
    // reference: the data layer's prepared test split through the jax-js model
    const { trained, dataset } = fixture;
    const predictor = new Predictor(trained.model, trained.layout, flattenParams(trained.params).flat, 8);
    const engine = predictor.predict(dataset.splits.test);
    predictor.dispose();
    const labels = dataset.labelNames;
    assert.deepEqual(dataset.splits.test.ids, rows.map((r) => r.id));
    (json.predictions as Prediction[]).forEach((p, i) => {
      assert.equal(p.id, rows[i]!.id);
      labels.forEach((name, c) => {
        const expected = engine.probs[i * labels.length + c]!;
        assert.ok(Math.abs(p.probabilities[name]! - expected) <= 1e-4, `row ${i} ${name}: served ${p.probabilities[name]}, engine ${expected}`);
      });
      const missing = dataset.modalities.filter((m) => dataset.splits.test.present[m.name]![i] === 0).map((m) => m.name);
      assert.deepEqual(p.missing, missing);
    });
  });

  it("accepts rows with modalities missing (absent or null), even all of them", async () => {
    const { status, json } = await predict({ rows: [{ v: [1, 0, 0] }, { caption: null, photo: "img/red.png" }, {}] });
    assert.equal(status, 200, JSON.stringify(json));
    assert.deepEqual(json.predictions[0].missing, ["facts", "caption", "photo", "clip"]);
    assert.deepEqual(json.predictions[2].missing, ["embedding", "facts", "caption", "photo", "clip"]);
    const total = Object.values(json.predictions[1].probabilities as Record<string, number>).reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(total - 1) < 1e-5);
  });

  it("describes itself on GET /health and GET /model", async () => {
    const health = await served.app.inject({ method: "GET", url: "/health" });
    assert.equal(health.statusCode, 200);
    assert.equal(health.json().status, "ok");
    const model = (await served.app.inject({ method: "GET", url: "/model" })).json();
    assert.deepEqual(model.labelNames, ["cold", "warm"]);
    assert.equal(model.task, "classification");
    assert.deepEqual(model.modalities.map((m: { name: string; field?: string }) => [m.name, m.field]), [
      ["embedding", "v"], ["facts", undefined], ["caption", "caption"], ["photo", "photo"], ["clip", "clip"],
    ]);
    assert.deepEqual(model.modalities[1].columns, { numeric: ["age"], categorical: ["city"] });
    assert.deepEqual(Object.keys(model.rowSchema.properties).sort(), ["age", "caption", "city", "clip", "id", "label", "photo", "v"]);
    assert.equal(model.rowSchema.additionalProperties, false);
    assert.equal(model.graph.inputs[0].name, "inputs.embedding");
  });

  it("answers a malformed row with 400 naming the field", async () => {
    const wrongType = await predict({ rows: [{ v: [1, 2, 3] }, { v: [1, "x", 3] }] });
    assert.equal(wrongType.status, 400);
    assert.equal(wrongType.json.field, "rows[1].v[1]");
    const wrongLength = await predict({ rows: [{ v: [1, 2] }] });
    assert.equal(wrongLength.status, 400);
    assert.match(wrongLength.json.error, /^rows\[0\]\.v: must be an array of 3 numbers/);
    const wrongText = await predict({ rows: [{ caption: 7 }] });
    assert.equal(wrongText.json.field, "rows[0].caption");
    assert.equal((await predict({ rows: [] })).status, 400);
    assert.equal((await predict({ rows: [{}], extra: 1 })).status, 400);
    const badJson = await served.app.inject({ method: "POST", url: "/predict", headers: { "content-type": "application/json" }, payload: "{rows:" });
    assert.equal(badJson.statusCode, 400);
  });

  it("never opens a file outside the model directory", async () => {
    // the data directory holds the same images, one level away from the model directory
    const escapes = [`../${"img/red.png"}`, join(fixture.dataDir, "img/red.png"), "/etc/passwd", "img/../../model/../../etc/passwd"];
    for (const photo of escapes) {
      const { status, json } = await predict({ rows: [{ photo }] });
      assert.equal(status, 400, `${photo} was accepted`);
      assert.equal(json.field, "rows[0].photo");
      assert.match(json.error, /model directory/);
    }
    symlinkSync(join(fixture.dataDir, "img", "blue.png"), join(fixture.modelDir, "img", "linked.png"));
    const linked = await predict({ rows: [{ photo: "img/linked.png" }] });
    assert.equal(linked.status, 400);
    assert.match(linked.json.error, /symbolic link/);
    const absent = await predict({ rows: [{ clip: "audio/none.wav" }] });
    assert.equal(absent.status, 400);
    assert.equal(absent.json.field, "rows[0].clip");
  });

  it("refuses a body over the limit with 413 before parsing it", async () => {
    const huge = { rows: [{ caption: "x".repeat(1024 * 1024) }] };
    const response = await served.app.inject({ method: "POST", url: "/predict", payload: huge });
    assert.equal(response.statusCode, 413);
  });

  it("explains with modality Shapley values: they add up to the prediction minus the no-modality baseline, and a missing modality gets 0", async () => {
    const rows = testRows();
    const { status, json } = await predict({ rows, explain: true });
    assert.equal(status, 200, JSON.stringify(json));
    (json.predictions as Prediction[]).forEach((p, i) => {
      const attribution = p.explain!.attribution;
      const sum = Object.values(attribution).reduce((a, b) => a + b, 0);
      const predicted = p.probabilities[p.prediction]!;
      assert.ok(Math.abs(sum - (predicted - p.explain!.base)) < 1e-4, `row ${i}: sum ${sum} vs ${predicted} - ${p.explain!.base}`);
      for (const name of p.missing) assert.equal(attribution[name], 0, `row ${i}: missing ${name} got ${attribution[name]}`);
    });
  });

  it("gives concurrent requests the same answers as sequential ones", async () => {
    const rows = fixture.rows.slice(0, 24).map(asRequestRow);
    const sequential: Prediction[] = [];
    for (const row of rows) sequential.push((await predict({ rows: [row] })).json.predictions[0]);
    const concurrent = await Promise.all(rows.map((row) => predict({ rows: [row] })));
    concurrent.forEach((r, i) => assert.deepEqual(r.json.predictions[0], sequential[i]));
  });

  it("runs as `fusionkit serve` on 127.0.0.1", async () => {
    const child = spawn(process.execPath, ["bin/fusionkit.mjs", "serve", "--model", fixture.modelDir, "--port", "0"], { stdio: ["ignore", "ignore", "pipe"] });
    try {
      const address = await new Promise<string>((resolve, reject) => {
        let text = "";
        child.stderr.on("data", (chunk) => {
          text += chunk;
          const match = /at (http:\/\/127\.0\.0\.1:\d+)/.exec(text);
          if (match) resolve(match[1]!);
        });
        child.on("exit", (code) => reject(new Error(`serve exited with ${code}: ${text}`)));
      });
      const health = await fetch(`${address}/health`);
      assert.equal(health.status, 200);
      const response = await fetch(`${address}/predict`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ rows: testRows().slice(0, 2) }) });
      assert.equal(response.status, 200);
      assert.equal(((await response.json()) as { predictions: unknown[] }).predictions.length, 2);
    } finally {
      child.kill("SIGTERM");
    }
  });
});
