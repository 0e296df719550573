/** Our ONNX Runtime sessions flush denormal floats to zero (src/export/sessionOptions.ts). */
import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { startEngine } from "../../src/engine/backend.ts";
import { lowerFixedShape } from "../../src/export/lower.ts";
import { opsetVersion } from "../../src/export/onnxGraph.ts";
import { createOnnxRunner } from "../../src/export/runtime.ts";

before(startEngine);

describe("ONNX Runtime sessions", () => {
  test("flush a product below 1.2e-38 to zero and keep normal ones", async () => {
    const bytes = lowerFixedShape({
      graphName: "square",
      inputs: [{ name: "x", shape: [3], dtype: "float32" }],
      outputs: ["y"],
      fn: ([x]) => [x!.mul(x!)],
      opset: opsetVersion,
      purpose: "test",
    });
    const runner = await createOnnxRunner(bytes);
    try {
      const { y } = await runner.run({ x: { data: Float32Array.from([1e-20, 3e-19, 2]), shape: [3] } });
      // 1e-40 is a float32 denormal (its own value would be 9.99995e-41); 9e-38 and 4 are normal
      assert.equal(y!.data[0], 0);
      assert.ok(Math.abs(y!.data[1]! - 9e-38) < 1e-43);
      assert.equal(y!.data[2], 4);
    } finally {
      await runner.release();
    }
  });
});
