/**
 * The page's graph: the exported graph of src/export/exportModel.ts plus one
 * output per tensor the fusion method explains itself with (GMU's gates and
 * modality weights, cross-attention maps, late fusion's per-modality
 * predictions...), named `explain:<key>`, so the page shows the same method
 * views as `fusionkit explain` (src/explain/views.ts runs in the page).
 *
 * Which tensors a method explains with, and their per-row shapes, are the
 * method's own declaration (`model.explains`, src/fusion/explain.ts). A method whose explain tensors the
 * lowering cannot express keeps the plain graph (the page then shows the
 * prediction and the Shapley values only); the first output names stay
 * `logits` and `probabilities`/`prediction` either way.
 */
import { fillSkeleton, layoutOf, namedLeaves, type Params } from "../../engine/params.ts";
import { softmax, type Tensor } from "../../engine/tensor.ts";
import { FusionkitError } from "../../errors.ts";
import { explainRowShape } from "../../fusion/explain.ts";
import type { ModelParams } from "../../model/model.ts";
import type { TrainedModel } from "../../train/trainer.ts";
import { lowerTrainedModel, type ExportMetadata, type ExportSource } from "../exportModel.ts";
import { lowerToOnnx } from "../lower.ts";
import { explainOutputPrefix } from "./client/views.ts";

export type PageGraph = { bytes: Uint8Array; metadata: ExportMetadata; explainOutputs: string[]; explainSkipped?: string };

/** Per explain key, its per-row shape, as the method declares it. */
function explainShapes(trained: ExportSource): Record<string, number[]> {
  const { model, spec } = trained;
  return Object.fromEntries(Object.entries(model.explains).map(([key, declared]) => [key, explainRowShape(declared, model.inputDims, spec.outDim)]));
}

export function lowerPageGraph(trained: ExportSource & Pick<TrainedModel, "layout">): PageGraph {
  const plain = lowerTrainedModel(trained);
  const shapes = explainShapes(trained);
  const keys = Object.keys(shapes);
  if (keys.length === 0) return { ...plain, explainOutputs: [] };
  const { spec, model } = trained;
  const metadata: ExportMetadata = {
    ...plain.metadata,
    outputs: [
      ...plain.metadata.outputs,
      ...keys.map((key) => ({ name: `${explainOutputPrefix}${key}`, shape: ["batch" as const, ...shapes[key]!], dtype: "float32" as const, meaning: `the method's own "${key}": ${model.explains[key]!.kind} (src/fusion/explain.ts)` })),
    ],
  };
  const layout = layoutOf(trained.params);
  const inputs = plain.metadata.inputs;
  try {
    const bytes = lowerToOnnx({
      graphName: `fusionkit_${spec.method.name.replace(/[^A-Za-z0-9_]/g, "_")}_page`,
      inputs: inputs.map((i) => ({ name: i.name, shape: i.shape.slice(1) as number[] })),
      params: namedLeaves(trained.params).map(([name, a]) => ({ name, data: a.data, shape: a.shape })),
      outputs: metadata.outputs.map((o) => o.name),
      docString: `fusionkit ${spec.method.name} (${spec.method.family}) on ${trained.datasetName}, with its explain tensors, for the web page`,
      metadata: { fusionkit: JSON.stringify(metadata) },
      fn: (paramLeaves, tensors) => {
        const params = fillSkeleton<Params<ModelParams>>(layout.skeleton, paramLeaves);
        const batch = { inputs: {} as Record<string, Tensor>, tokenMasks: {} as Record<string, Tensor>, present: {} as Record<string, Tensor> };
        inputs.forEach((input, i) => {
          const target = input.role === "input" ? batch.inputs : input.role === "present" ? batch.present : batch.tokenMasks;
          target[input.modality] = tensors[i]!;
        });
        const out = model.apply(params, batch as never, { train: false });
        // the same scores as exportModel.ts: softmax, sigmoid, or label units
        const scores = spec.task === "classification" ? softmax(out.logits, -1) : spec.task === "multilabel" ? out.logits.sigmoid() : out.logits.mul(spec.targetStats?.std ?? 1).add(spec.targetStats?.mean ?? 0);
        return [out.logits, scores, ...keys.map((key) => out.explain![key]!)];
      },
    });
    return { bytes, metadata, explainOutputs: keys };
  } catch (error) {
    if (!(error instanceof FusionkitError)) throw error;
    return { ...plain, explainOutputs: [], explainSkipped: error.message };
  }
}
