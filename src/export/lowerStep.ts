/**
 * A whole train step as one ONNX graph: the function TrainStep compiles for
 * jax-js (src/engine/step.ts trainStepFunction: forward, loss, backward,
 * clipping, optimiser update) is traced once at the batch's fixed shape
 * (the trainer pads every batch to one size) and lowered with lower.ts.
 *
 * Graph inputs, in order: every parameter leaf (`param.<name>`), every optimiser
 * slot leaf (`slot<k>.<name>`), `lr` and `t` (float32 scalars), `key` (uint32
 * [2], the jax-js PRNG key of the step: the random stream is lowered bit for
 * bit, see lowerRandomBits) and every batch leaf (`batch.<path>`). Outputs:
 * `next.param.<name>`, `next.slot<k>.<name>` (same order and shapes as the
 * state inputs, so one step's outputs are the next step's inputs) and
 * `metrics` (loss first, in `metricNames` order).
 */
import { isHostArray, type ParamLayout } from "../engine/params.ts";
import { optimizerSlots } from "../engine/optim.ts";
import { trainStepFunction, type HostBatch, type LossFn, type TrainStepOptions } from "../engine/step.ts";
import type { HostArray, Tensor } from "../engine/tensor.ts";
import { lowerFixedShape, type FixedInput } from "./lower.ts";
import { trainOpsetVersion } from "./onnxGraph.ts";

export type LoweredTrainStep = {
  bytes: Uint8Array;
  /** state inputs: parameter leaves, then each slot's leaves (layout order) */
  stateInputs: string[];
  /** the outputs that replace stateInputs, index for index */
  stateOutputs: string[];
  /** batch leaves (key paths in a HostBatch, walked in key order) and their graph input names */
  batchPaths: string[][];
  batchInputs: string[];
  metricNames: string[];
};

export function lowerTrainStep(layout: ParamLayout, lossFn: LossFn, options: TrainStepOptions, exampleBatch: HostBatch): LoweredTrainStep {
  const L = layout.entries.length;
  const S = optimizerSlots(options.optimizer);
  const paramInputs = layout.entries.map((e) => `param.${e.name}`);
  const slotInputs = Array.from({ length: S }, (_, k) => layout.entries.map((e) => `slot${k}.${e.name}`));
  const stateInputs = [...paramInputs, ...slotInputs.flat()];
  const batchLeaves = leavesOf(exampleBatch);
  const batchInputs = batchLeaves.map(([path]) => `batch.${path.join(".")}`);
  const stateShapes = [...Array(S + 1)].flatMap(() => layout.entries.map((e) => e.shape));
  const inputs: FixedInput[] = [
    ...stateInputs.map((name, i): FixedInput => ({ name, dtype: "float32", shape: stateShapes[i]! })),
    { name: "lr", dtype: "float32", shape: [] },
    { name: "t", dtype: "float32", shape: [] },
    { name: "key", dtype: "uint32", shape: [2] },
    ...batchLeaves.map(([, a], i): FixedInput => ({ name: batchInputs[i]!, dtype: "float32", shape: a.shape })),
  ];
  const stateOutputs = stateInputs.map((n) => `next.${n}`);
  const metricNames: string[] = [];
  const step = trainStepFunction(layout, lossFn, options, metricNames);
  const bytes = lowerFixedShape({
    graphName: "fusionkit_train_step",
    inputs,
    outputs: [...stateOutputs, "metrics"],
    opset: trainOpsetVersion,
    purpose: "this train step cannot run in ONNX Runtime",
    fn: (all: Tensor[]) => {
      const params = all.slice(0, L);
      const slots = Array.from({ length: S }, (_, k) => all.slice(L * (k + 1), L * (k + 2)));
      const at = L * (S + 1);
      const [lr, t, key] = [all[at]!, all[at + 1]!, all[at + 2]!];
      const batch = rebuild(batchLeaves.map(([path]) => path), all.slice(at + 3));
      const [nextParams, nextSlots, metrics] = step(params, slots, lr, t, key, batch) as [Tensor[], Tensor[][], Tensor];
      return [...nextParams, ...nextSlots.flat(), metrics];
    },
  });
  return { bytes, stateInputs, stateOutputs, batchPaths: batchLeaves.map(([path]) => path), batchInputs, metricNames: [...metricNames] };
}

/** The leaves of a batch (records of records of arrays) with their key paths. */
export function leavesOf(batch: HostBatch, prefix: string[] = []): [string[], HostArray][] {
  if (isHostArray(batch)) return [[prefix, batch]];
  return Object.entries(batch).flatMap(([k, v]) => leavesOf(v as HostBatch, [...prefix, k]));
}

/** Leaf paths + values -> the nested record. */
function rebuild(paths: string[][], values: Tensor[]): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  paths.forEach((parts, i) => {
    let node = root;
    for (const part of parts.slice(0, -1)) node = (node[part] ??= {}) as Record<string, unknown>;
    node[parts[parts.length - 1]!] = values[i];
  });
  return root;
}
