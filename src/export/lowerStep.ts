/**
 * A whole train step as one ONNX graph: loss, gradient (src/engine/step.ts
 * lossAndGradient, the same code the jax-js TrainStep compiles), clipping and
 * the optimiser update, traced once at the batch's fixed shape (the trainer
 * pads every batch to one size) and lowered with lower.ts.
 *
 * The state crosses the graph boundary flat: `params` [P] and one vector per
 * optimiser slot (`slot0`, `slot1`), in layout order. Inside, the vector is
 * sliced into leaves for the model, the leaf gradients are concatenated back,
 * and clipping and the update run once over the flat vectors (applyUpdateFlat:
 * the per-leaf update elementwise): a few dozen nodes instead of one chain per
 * leaf, and three state tensors per step instead of three per leaf. (jax-js
 * keeps leaves: there concatenate's transpose is slow, see step.ts; here the
 * concatenation is outside the differentiated function.)
 *
 * Graph inputs: `params`, `slot<k>`, `lr` and `t` (float32 scalars), `key`
 * (uint32 [2], the jax-js PRNG key of the step: the random stream is lowered bit
 * for bit, see lowerRandomBits), then every batch leaf (`batch.<path>`).
 * Outputs: `next.params`, `next.slot<k>` (one step's outputs are the next one's
 * inputs) and `metrics` (loss first, in `metricNames` order).
 */
import type { TensorBatch } from "../engine/step.ts";
import { isHostArray, type ParamLayout } from "../engine/params.ts";
import { applyUpdateFlat, clipByGlobalNorm, decayMaskOf, optimizerSlots } from "../engine/optim.ts";
import { lossAndGradient, stackMetrics, type HostBatch, type LossFn, type TrainStepOptions } from "../engine/step.ts";
import { concat, constant, type HostArray, type Tensor } from "../engine/tensor.ts";
import { lowerFixedShape, type FixedInput } from "./lower.ts";
import { trainOpsetVersion } from "./onnxGraph.ts";

export type LoweredTrainStep = {
  bytes: Uint8Array;
  /** state inputs: `params`, then one per optimiser slot */
  stateInputs: string[];
  /** the outputs that replace stateInputs, index for index */
  stateOutputs: string[];
  /** batch leaves (key paths in a HostBatch, walked in key order) and their graph input names */
  batchPaths: string[][];
  batchInputs: string[];
  metricNames: string[];
};

export function lowerTrainStep(layout: ParamLayout, lossFn: LossFn, options: TrainStepOptions, exampleBatch: HostBatch): LoweredTrainStep {
  const S = optimizerSlots(options.optimizer);
  const P = layout.total;
  const stateInputs = ["params", ...Array.from({ length: S }, (_, k) => `slot${k}`)];
  const batchLeaves = leavesOf(exampleBatch);
  const batchInputs = batchLeaves.map(([path]) => `batch.${path.join(".")}`);
  const inputs: FixedInput[] = [
    ...stateInputs.map((name): FixedInput => ({ name, dtype: "float32", shape: [P] })),
    { name: "lr", dtype: "float32", shape: [] },
    { name: "t", dtype: "float32", shape: [] },
    { name: "key", dtype: "uint32", shape: [2] },
    ...batchLeaves.map(([, a], i): FixedInput => ({ name: batchInputs[i]!, dtype: "float32", shape: a.shape })),
  ];
  const stateOutputs = stateInputs.map((n) => `next.${n}`);
  const metricNames: string[] = [];
  const gradient = lossAndGradient(layout, lossFn);
  const mask = decayMaskOf(layout);
  const bytes = lowerFixedShape({
    graphName: "fusionkit_train_step",
    inputs,
    outputs: [...stateOutputs, "metrics"],
    opset: trainOpsetVersion,
    purpose: "this train step cannot run in ONNX Runtime",
    fn: (all: Tensor[]) => {
      const [params, ...rest] = all as [Tensor, ...Tensor[]];
      const slots = rest.slice(0, S);
      const [lr, t, key] = [rest[S]!, rest[S + 1]!, rest[S + 2]!];
      const batch = rebuildLike(exampleBatch, rest.slice(S + 3));
      const leaves = layout.entries.map((e) => params.slice(0, e.offset, e.offset + e.size).reshape(e.shape));
      const { grad, metrics } = gradient(leaves, key, batch as TensorBatch);
      let flatGrad = concat(grad.map((g) => g.reshape([-1])), 0);
      if (options.clipNorm) {
        const clipped = clipByGlobalNorm([flatGrad], options.clipNorm);
        flatGrad = clipped.grad[0]!;
        metrics.gradNorm = clipped.norm;
      }
      const updated = applyUpdateFlat(options.optimizer, params, flatGrad, slots, lr, t, constant(mask, [P]));
      return [updated.params, ...updated.slots, stackMetrics(metrics, metricNames)];
    },
  });
  return { bytes, stateInputs, stateOutputs, batchPaths: batchLeaves.map(([path]) => path), batchInputs, metricNames: [...metricNames] };
}

/** The leaves of a batch (records of records of arrays) with their key paths. */
export function leavesOf(batch: HostBatch, prefix: string[] = []): [string[], HostArray][] {
  if (isHostArray(batch)) return [[prefix, batch]];
  return Object.entries(batch).flatMap(([k, v]) => leavesOf(v as HostBatch, [...prefix, k]));
}

/** `example` with its leaves replaced by `values` in leavesOf order (empty records stay, model code reads them). */
function rebuildLike(example: HostBatch, values: Tensor[]): unknown {
  let next = 0;
  const walk = (node: HostBatch): unknown => {
    if (isHostArray(node)) return values[next++];
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, walk(v as HostBatch)]));
  };
  return walk(example);
}
