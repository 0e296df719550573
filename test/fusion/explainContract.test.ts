/**
 * The explain contract (src/fusion/explain.ts): every registered method's explain
 * tensors are exactly the keys its `explains` declares, each with the per-row shape
 * its declaration implies, so explain/, the report and the web page can read them
 * by declaration. Run through the whole model (compiled eval step) on three
 * modalities with M = C = 3, where shapes alone could not tell a per-modality
 * tensor from a per-class one.
 */
import assert from "node:assert/strict";
import { before, test } from "node:test";
import type { ModalitySpec, SplitData } from "../../src/data/types.ts";
import { startEngine } from "../../src/engine/backend.ts";
import { flattenParams } from "../../src/engine/params.ts";
import { HostRng } from "../../src/engine/random.ts";
import { explainRowShape } from "../../src/fusion/explain.ts";
import { listMethods } from "../../src/fusion/registry.ts";
import { buildModel } from "../../src/model/model.ts";
import { Predictor } from "../../src/train/predict.ts";

before(startEngine);

const specs: ModalitySpec[] = [
  { name: "txt", type: "text", shape: [5], vocabSize: 10 },
  { name: "img", type: "image", shape: [4, 4, 1] },
  { name: "vec", type: "vector", shape: [3] },
];

function split(n: number): SplitData {
  const rng = new HostRng(3);
  const ids = Float32Array.from({ length: n * 5 }, () => 2 + rng.int(8));
  const mask = Float32Array.from({ length: n * 5 }, (_, i) => (i % 5 < 3 + (Math.floor(i / 5) % 3) ? 1 : 0));
  return {
    n,
    ids: Array.from({ length: n }, (_, i) => `r${i}`),
    inputs: { txt: ids, img: Float32Array.from({ length: n * 16 }, () => rng.normal()), vec: Float32Array.from({ length: n * 3 }, () => rng.normal()) },
    tokenMasks: { txt: mask },
    present: { txt: new Float32Array(n).fill(1), img: Float32Array.from({ length: n }, (_, i) => (i === 1 ? 0 : 1)), vec: new Float32Array(n).fill(1) },
    labels: Float32Array.from({ length: n }, (_, i) => i % 3),
    fields: {},
  };
}

test("every registered method returns exactly the explain tensors it declares, with the declared per-row shapes", () => {
  const rows = split(4);
  let declaring = 0;
  for (const method of listMethods()) {
    const model = buildModel({ modalities: specs, task: "classification", outDim: 3, method, methodConfig: { ...method.defaults }, encoderDim: 8, dropout: 0 });
    const params = model.init(new HostRng(1));
    const { layout, flat } = flattenParams(params);
    const predictor = new Predictor(model, layout, flat, 4);
    let explain;
    try {
      explain = predictor.predict(rows).explain ?? {};
    } finally {
      predictor.dispose();
    }
    assert.deepEqual(Object.keys(explain).sort(), Object.keys(model.explains).sort(), `${method.name}: explain keys vs its declaration`);
    for (const [key, declared] of Object.entries(model.explains)) {
      assert.deepEqual(explain[key]!.shape, [rows.n, ...explainRowShape(declared, model.inputDims, 3)], `${method.name}: ${key} (${declared.kind})`);
    }
    if (Object.keys(model.explains).length) declaring++;
  }
  // attention maps, modality weights, gates, votes, pair similarities, progressive's round changes
  assert.ok(declaring >= 10, `${declaring} methods declare explain outputs`);
});
