/**
 * docs/architecture.md's example of adding a fusion method is real code: the page
 * shows exactly test/architecture/exampleMethod.ts (below its marker line), which
 * typechecks with the project, trains through trainModel, learns a task, and keeps
 * the explain contract it declares.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { before, test } from "node:test";
import { startEngine } from "../../src/engine/backend.ts";
import { taskMetrics } from "../../src/eval/metrics.ts";
import { FusionkitError } from "../../src/errors.ts";
import { parseMethodConfig } from "../../src/fusion/config.ts";
import { predict } from "../../src/train/predict.ts";
import { trainModel } from "../../src/train/trainer.ts";
import { makeDataset } from "../../bench/fixtures/synthetic.ts";
import { meanPoolFusion } from "./exampleMethod.ts";

before(startEngine);

const marker = "// --- the page's example starts here\n";

test("docs/architecture.md shows exampleMethod.ts's code, character for character", () => {
  const source = readFileSync(resolve(import.meta.dirname, "exampleMethod.ts"), "utf8");
  const example = source.slice(source.indexOf(marker) + marker.length).trim();
  const page = readFileSync(resolve(import.meta.dirname, "../../docs/architecture.md"), "utf8");
  const blocks = [...page.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!.trim());
  assert.ok(blocks.includes(example), "the page's ts block differs from test/architecture/exampleMethod.ts");
  assert.ok(example.split("\n").length <= 32, `${example.split("\n").length} lines`);
});

test("the example method trains through trainModel, learns the task and reports its declared weights", async () => {
  const d = 4;
  const ds = makeDataset({
    labelNames: ["negative", "positive"],
    modalities: [
      { name: "A", type: "vector", shape: [d] },
      { name: "B", type: "vector", shape: [d] },
    ],
    sizes: { train: 256, val: 64, test: 256 },
    seed: 11,
    row: (rng) => {
      const label = rng.uniform() < 0.5 ? 0 : 1;
      const signal = () => (2 * label - 1) + 0.8 * rng.normal();
      return { inputs: { A: [signal(), ...Array.from({ length: d - 1 }, () => rng.normal())], B: [signal(), ...Array.from({ length: d - 1 }, () => rng.normal())] }, label };
    },
  });
  const trained = await trainModel(ds, { method: meanPoolFusion, epochs: 6, batchSize: 32, lr: 1e-2, seed: 0, backend: "jax" });
  assert.deepEqual(trained.model.config, { dim: 16 });
  const both = predict(trained, ds.splits.test);
  const accuracy = taskMetrics("classification", both.probs, ds.splits.test.labels, 2).accuracy!;
  // each modality alone is ~89% separable (signal 1 vs noise 0.8); both together ~96%
  assert.ok(accuracy > 0.85, `accuracy ${accuracy}`);
  assert.deepEqual(Object.keys(trained.model.explains), ["weights"]);
  assert.deepEqual(both.explain!.weights!.shape, [ds.splits.test.n, 2]);
  assert.deepEqual([...both.explain!.weights!.data.subarray(0, 2)], [0.5, 0.5]);
  const withoutB = predict(trained, ds.splits.test, { presentOverride: { B: 0 } });
  assert.deepEqual([...withoutB.explain!.weights!.data.subarray(0, 2)], [1, 0]);
});

test("the example's settings are its zod schema: unknown keys and bad values are refused naming the method", () => {
  assert.throws(() => parseMethodConfig(meanPoolFusion, { dims: 8 }), (e: unknown) => e instanceof FusionkitError && /method "mean_pool" has no setting "dims"/.test(e.message));
  assert.throws(() => parseMethodConfig(meanPoolFusion, { dim: 0 }), (e: unknown) => e instanceof FusionkitError && /field "dim", layer mean_pool: dim must be an integer >= 1, got 0/.test(e.message));
});
