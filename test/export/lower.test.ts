import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { numpy as np } from "@jax-js/jax";
import { startEngine } from "../../src/engine/backend.ts";
import { FusionkitError } from "../../src/errors.ts";
import {
  attention, conv1d, conv2d, initAttention, initConv1d, initConv2d, initLayerNorm, initLinear, layerNorm, linear, maskedMean,
} from "../../src/engine/layers.ts";
import { fillSkeleton, flattenParams, namedLeaves, type ParamTree } from "../../src/engine/params.ts";
import { HostRng } from "../../src/engine/random.ts";
import { adopt, concat, constant, scoped, softmax, takeRows, where, zeros, type HostArray, type Tensor } from "../../src/engine/tensor.ts";
import { lowerToOnnx, type GraphInputSpec } from "../../src/export/lower.ts";
import { decodeModel } from "../../src/export/onnxGraph.ts";
import { createOnnxRunner } from "../../src/export/runtime.ts";

before(async () => {
  await startEngine();
});

type Fn = (params: any, inputs: Tensor[]) => Tensor[];

/** Lowers `fn`, then checks ONNX Runtime against eager jax-js at each batch size. */
async function checkAgainstEngine(tree: ParamTree, inputs: GraphInputSpec[], fn: Fn, batches: number[], makeInput: (spec: GraphInputSpec, B: number, rng: HostRng) => Float32Array) {
  const { layout } = flattenParams(tree);
  const leaves = namedLeaves(tree);
  const outputs = ["out0", "out1", "out2", "out3", "out4", "out5"];
  const bytes = lowerToOnnx({
    graphName: "test",
    inputs,
    params: leaves.map(([name, a]) => ({ name, data: a.data, shape: a.shape })),
    outputs,
    fn: (ps, xs) => fn(fillSkeleton(layout.skeleton, ps), xs),
  });
  const runner = await createOnnxRunner(bytes);
  const rng = new HostRng(11);
  for (const B of batches) {
    const data = inputs.map((spec) => makeInput(spec, B, rng));
    const expected = scoped(() =>
      fn(fillSkeleton(layout.skeleton, leaves.map(([, a]) => constant(a.data, a.shape))), data.map((d, i) => constant(d, [B, ...inputs[i]!.shape]))),
    ) as HostArray[];
    const feeds = Object.fromEntries(inputs.map((spec, i) => [spec.name, { data: data[i]!, shape: [B, ...spec.shape] }]));
    const got = await runner.run(feeds);
    expected.forEach((e, i) => {
      const g = got[outputs[i]!]!;
      assert.deepEqual(g.shape, e.shape, `output ${i} shape at batch ${B}`);
      for (let k = 0; k < e.data.length; k++) {
        assert.ok(Math.abs(e.data[k]! - g.data[k]!) <= 1e-5 * (1 + Math.abs(e.data[k]!)), `output ${i} element ${k} at batch ${B}: engine ${e.data[k]}, onnx ${g.data[k]}`);
      }
    });
  }
  await runner.release();
  return decodeModel(bytes);
}

const normalInput = (spec: GraphInputSpec, B: number, rng: HostRng) =>
  Float32Array.from({ length: B * spec.shape.reduce((a, b) => a * b, 1) }, () => rng.normal());

function opCounts(model: any): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const node of model.graph.node) counts[node.opType] = (counts[node.opType] ?? 0) + 1;
  return counts;
}

describe("lowering jaxprs to ONNX", () => {
  it("lowers a linear layer to one MatMul, not an elementwise product and a sum", async () => {
    const rng = new HostRng(1);
    const tree = { layer: initLinear(rng, 6, 5) } as unknown as ParamTree;
    const model = await checkAgainstEngine(tree, [{ name: "x", shape: [6] }], (p, [x]) => [linear(p.layer, x!)], [1, 32], normalInput);
    const ops = opCounts(model);
    assert.equal(ops.MatMul, 1);
    assert.equal(ops.ReduceSum, undefined);
    // the batch dim is symbolic in the graph's input and output types
    assert.equal(model.graph.input[0].type.tensorType.shape.dim[0].dimParam, "batch");
    assert.equal(model.graph.output[0].type.tensorType.shape.dim[0].dimParam, "batch");
  });

  it("matches the engine for attention, convolutions, gathers, masks and reshapes that fold the batch, at batch 1, 7 and 32", async () => {
    const rng = new HostRng(2);
    const tree = {
      embed: { table: { data: Float32Array.from({ length: 10 * 8 }, () => rng.normal()), shape: [10, 8] } },
      proj: initLinear(rng, 3, 8),
      attn: initAttention(rng, 8, 8, 8),
      conv: initConv1d(rng, 8, 4, 3),
      conv2: initConv2d(rng, 1, 2, 3),
      norm: initLayerNorm(4),
    } as unknown as ParamTree;
    const T = 5;
    const inputs: GraphInputSpec[] = [
      { name: "ids", shape: [T] },
      { name: "mask", shape: [T] },
      { name: "frames", shape: [T, 3] },
      { name: "image", shape: [1, 6, 6] },
    ];
    const makeInput = (spec: GraphInputSpec, B: number, r: HostRng) => {
      if (spec.name === "ids") return Float32Array.from({ length: B * T }, () => Math.floor(r.uniform() * 10));
      // row b has 1 + (b mod T) real tokens
      if (spec.name === "mask") return Float32Array.from({ length: B * T }, (_, i) => (i % T <= Math.floor(i / T) % T ? 1 : 0));
      return normalInput(spec, B, r);
    };
    const fn: Fn = (p, [ids, mask, frames, image]) => {
      const B = ids!.shape[0]!;
      const tokens = takeRows(p.embed.table, ids!).add(linear(p.proj, frames!));
      const { out, weights } = attention(p.attn, tokens, tokens, { heads: 2, keyMask: mask! });
      const conv = conv1d(p.conv, out);
      const pooled = layerNorm(p.norm, maskedMean(conv, mask!));
      // [B, T, 4] -> [B * T, 4] -> [B, T * 4]: two reshapes whose sizes follow the batch
      const folded = conv.reshape([B * T, 4]).relu().reshape([B, T * 4]);
      const present = mask!.max(1).reshape([B, 1]).broadcastTo([B, 4]);
      const gated = where(present, pooled, zeros([B, 4]).add(-1));
      const picture = conv2d(p.conv2, image!, 2).reshape([B, -1]);
      return [softmax(gated, -1), folded.slice(1, 3, 17), weights.sum(1), concat([picture, gated.argmax(1).reshape([B, 1])], 1), adopt(np.flip(out.borrow, 1)).gelu()];
    };
    const model = await checkAgainstEngine(tree, inputs, fn, [1, 7, 32], makeInput);
    const ops = opCounts(model);
    assert.ok(ops.MatMul! >= 6, `expected the projections and both attention products as MatMul, got ${JSON.stringify(ops)}`);
  });

  it("matches the engine for split, integer casts, remainders and floor division (negative values included)", async () => {
    // (integer floor division is left out: jax-js itself has no int32 Floor kernel)
    const fn: Fn = (_, [x]) => {
      const [left, middle, right] = np.split(x!.borrow, [2, 5], 1).map((part) => adopt(part)) as [Tensor, Tensor, Tensor];
      const whole = x!.mul(3).toInt();
      return [
        concat([right, left], 1).add(middle.sum(1, true)),
        adopt(np.remainder(whole.borrow, 4)).toFloat(),
        adopt(np.remainder(x!.borrow, 1.5)),
        adopt(np.floorDivide(x!.borrow, 1.5)),
      ];
    };
    await checkAgainstEngine({} as ParamTree, [{ name: "x", shape: [6] }], fn, [1, 9], normalInput);
  });

  it("still finds the batch dims when a model width equals a traced batch size", async () => {
    // at batch 13, reshaping [13, 13] to [13, 13] is a no-op jax-js drops, so the two traces differ; the second pair of sizes resolves it
    const model = await checkAgainstEngine({} as ParamTree, [{ name: "x", shape: [13] }], (_, [x]) => [x!.reshape([13, x!.shape[0]!]).mul(2)], [1, 5], normalInput);
    assert.equal(opCounts(model).Reshape, 1);
  });

  it("refuses a primitive it cannot lower and names it", () => {
    const tree = { scale: { data: new Float32Array([2]), shape: [1] } } as unknown as ParamTree;
    const leaves = namedLeaves(tree);
    assert.throws(
      () =>
        lowerToOnnx({
          graphName: "sorted",
          inputs: [{ name: "x", shape: [4] }],
          params: leaves.map(([name, a]) => ({ name, data: a.data, shape: a.shape })),
          outputs: ["y"],
          fn: ([scale], [x]) => [adopt(np.sort(x!.borrow, -1)).mul(scale!)],
        }),
      (error: unknown) => error instanceof FusionkitError && /primitive "sort"/.test(error.message) && /Supported primitives: add/.test(error.message),
    );
  });

  it("refuses a computation that mixes rows of the batch", () => {
    assert.throws(
      () =>
        lowerToOnnx({
          graphName: "batchnorm",
          inputs: [{ name: "x", shape: [3] }],
          params: [],
          outputs: ["y"],
          // subtracting the batch mean: the divisor 1/B is a constant that differs between traces
          fn: (_, [x]) => [x!.sub(x!.mean(0, true))],
        }),
      (error: unknown) => error instanceof FusionkitError && /changes with the batch size/.test(error.message),
    );
  });
});
