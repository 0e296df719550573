/**
 * A trained fusionkit model -> an ONNX graph + its preprocessing metadata.
 *
 * The graph is the model's eval-mode apply (no dropout, no modality dropout),
 * with one float32 input per modality plus its presence flag and, for text,
 * audio and sequence, its token mask (the SplitData layout), and a dynamic
 * batch dimension. Outputs: `logits` [batch, outDim] and `probabilities`
 * (softmax for classification, sigmoid for multilabel) or, for regression,
 * `prediction` in label units (the model predicts standardised targets).
 *
 * Everything needed to turn raw rows into those inputs (normalisation
 * statistics, vocabularies, image size, row field names, label names) is
 * written to `<out>.json` beside the graph and also stored in the graph's
 * metadata_props under "fusionkit", so the .onnx file alone is enough. The
 * metadata carries the model fingerprint of the checkpoint it came from
 * (serve compares it with the checkpoint beside the graph) and, for
 * `exportModel`, the measured difference to jax-js on sample rows
 * (src/export/verify.ts); an export above the tolerance writes nothing.
 */
import type { ModalitySpec, Task } from "../data/types.ts";
import { startEngine } from "../engine/backend.ts";
import { writeFilesAtomic } from "../io/atomicWrite.ts";
import { fillSkeleton, layoutOf, namedLeaves, type Params } from "../engine/params.ts";
import { softmax, type Tensor } from "../engine/tensor.ts";
import type { Model, ModelParams } from "../model/model.ts";
import { loadModel } from "../train/persistence.ts";
import type { TrainedModel } from "../train/trainer.ts";
import { lowerToOnnx, type GraphInputSpec } from "./lower.ts";
import { opsetVersion, withMetadataProps } from "./onnxGraph.ts";
import { FusionkitError } from "../errors.ts";
import { verifyAgainstEngine, type Verification } from "./verify.ts";
import { encoderSummaries, type EncoderSummary } from "../data/pretrained/summary.ts";

export const exportFormat = "fusionkit-onnx";
export const exportFormatVersion = 1;

export type InputRole = "input" | "present" | "tokenMask";
export type ExportedTensor = { name: string; shape: (number | "batch")[]; dtype: "float32" };
export type ExportedInput = ExportedTensor & { modality: string; role: InputRole };

export type ExportMetadata = {
  format: typeof exportFormat;
  version: number;
  opset: number;
  method: string;
  family: string;
  task: Task;
  labelField: string;
  labelNames: string[];
  outDim: number;
  targetStats?: { mean: number; std: number };
  /** graph inputs, in graph order */
  inputs: ExportedInput[];
  /** graph outputs: logits, then probabilities (or prediction for regression) */
  outputs: (ExportedTensor & { meaning: string })[];
  /** per modality: type, per-row shape, fitted preprocessing, vocabulary, image size... */
  modalities: ModalitySpec[];
  /** the dataset.json modality entries (which row field feeds each modality), when the model recorded them */
  modalityConfigs?: Record<string, unknown>[];
  dataset: { name: string };
  /** the model fingerprint (config + weights) of the checkpoint this graph was exported from */
  fingerprint?: string;
  /** the graph's outputs compared with jax-js on sample rows at export time */
  verification?: Verification;
  /** frozen pretrained encoders that prepare raw rows for this graph: model, identity (sha256 over files + settings), files */
  encoders?: EncoderSummary[];
};

const hasTokenMask = (spec: ModalitySpec) => spec.type === "text" || spec.type === "audio" || spec.type === "sequence";

export const inputName = (modality: string, role: InputRole): string =>
  role === "input" ? `inputs.${modality}` : role === "present" ? `present.${modality}` : `tokenMask.${modality}`;

/** The graph inputs for these modalities, in graph order. */
export function graphInputs(specs: ModalitySpec[]): ExportedInput[] {
  const out: ExportedInput[] = [];
  for (const spec of specs) {
    out.push({ name: inputName(spec.name, "input"), modality: spec.name, role: "input", shape: ["batch", ...spec.shape], dtype: "float32" });
    out.push({ name: inputName(spec.name, "present"), modality: spec.name, role: "present", shape: ["batch"], dtype: "float32" });
    if (hasTokenMask(spec)) {
      out.push({ name: inputName(spec.name, "tokenMask"), modality: spec.name, role: "tokenMask", shape: ["batch", spec.shape[0]!], dtype: "float32" });
    }
  }
  return out;
}

export function scoreOutputName(task: Task): string {
  return task === "regression" ? "prediction" : "probabilities";
}

function graphOutputs(task: Task, outDim: number): ExportMetadata["outputs"] {
  const meaning =
    task === "classification" ? "class probabilities (softmax of logits), one column per label name"
      : task === "multilabel" ? "label probabilities (sigmoid of logits), one column per label name"
        : "the prediction in label units (logits * std + mean of the training targets)";
  return [
    { name: "logits", shape: ["batch", outDim], dtype: "float32", meaning: task === "regression" ? "standardised prediction" : "pre-softmax/sigmoid scores" },
    { name: scoreOutputName(task), shape: ["batch", outDim], dtype: "float32", meaning },
  ];
}

/** Scores from logits, the same mapping the trainer's predictor applies on the host. */
function scores(model: Model, logits: Tensor): Tensor {
  const { task, targetStats } = model.spec;
  if (task === "classification") return softmax(logits, -1);
  if (task === "multilabel") return logits.sigmoid();
  const { mean, std } = targetStats ?? { mean: 0, std: 1 };
  return logits.mul(std).add(mean);
}

export type ExportSource = Pick<TrainedModel, "spec" | "model" | "params" | "labelNames" | "labelField" | "datasetName"> & {
  config?: { modalityConfigs?: Record<string, unknown>[] };
  /** set for a model loaded from a checkpoint: recorded in the metadata */
  fingerprint?: string;
};

/** Lowers a trained model; nothing is written. Throws a FusionkitError naming any primitive ONNX cannot express. */
export function lowerTrainedModel(trained: ExportSource): { bytes: Uint8Array; metadata: ExportMetadata } {
  const { spec, model } = trained;
  const inputs = graphInputs(spec.modalities);
  const layout = layoutOf(trained.params);
  const leaves = namedLeaves(trained.params);
  const metadata: ExportMetadata = {
    format: exportFormat,
    version: exportFormatVersion,
    opset: opsetVersion,
    method: spec.method.name,
    family: spec.method.family,
    task: spec.task,
    labelField: trained.labelField,
    labelNames: trained.labelNames,
    outDim: spec.outDim,
    ...(spec.targetStats ? { targetStats: spec.targetStats } : {}),
    inputs,
    outputs: graphOutputs(spec.task, spec.outDim),
    modalities: spec.modalities,
    ...(trained.config?.modalityConfigs ? { modalityConfigs: trained.config.modalityConfigs } : {}),
    dataset: { name: trained.datasetName },
    ...(trained.fingerprint ? { fingerprint: trained.fingerprint } : {}),
    ...(encoderSummaries(spec.modalities).length ? { encoders: encoderSummaries(spec.modalities) } : {}),
  };
  const graphInputSpecs: GraphInputSpec[] = inputs.map((i) => ({ name: i.name, shape: i.shape.slice(1) as number[] }));
  const bytes = lowerToOnnx({
    graphName: `fusionkit_${spec.method.name.replace(/[^A-Za-z0-9_]/g, "_")}`,
    inputs: graphInputSpecs,
    params: leaves.map(([name, a]) => ({ name, data: a.data, shape: a.shape })),
    outputs: metadata.outputs.map((o) => o.name),
    docString: `fusionkit ${spec.method.name} (${spec.method.family}) on ${trained.datasetName}: ${spec.task}, ${spec.outDim} outputs`,
    metadata: {
      fusionkit: JSON.stringify(metadata),
      task: spec.task,
      method: spec.method.name,
      labelNames: JSON.stringify(trained.labelNames),
    },
    fn: (paramLeaves, tensors) => {
      const params = fillSkeleton<Params<ModelParams>>(layout.skeleton, paramLeaves);
      const byName = new Map(inputs.map((input, i) => [input.name, tensors[i]!]));
      const batch = { inputs: {} as Record<string, Tensor>, tokenMasks: {} as Record<string, Tensor>, present: {} as Record<string, Tensor> };
      for (const input of inputs) {
        const target = input.role === "input" ? batch.inputs : input.role === "present" ? batch.present : batch.tokenMasks;
        target[input.modality] = byName.get(input.name)!;
      }
      // labels and row weights only feed the loss; apply never reads them
      const out = model.apply(params, batch as never, { train: false });
      return [out.logits, scores(model, out.logits)];
    },
  });
  return { bytes, metadata };
}

export type ExportSummary = { onnxPath: string; metadataPath: string; bytes: number; metadata: ExportMetadata };

/** Where the metadata of `onnxPath` lives: model.onnx -> model.onnx.json. */
export const metadataPathFor = (onnxPath: string): string => `${onnxPath}.json`;

/** Lowers `trained` and writes `outPath` and `outPath`.json; a failed lowering writes nothing. */
export function exportTrainedModel(trained: ExportSource, outPath: string): ExportSummary {
  const { bytes, metadata } = lowerTrainedModel(trained);
  return writeExport(outPath, bytes, metadata);
}

function writeExport(outPath: string, bytes: Uint8Array, metadata: ExportMetadata): ExportSummary {
  const metadataPath = metadataPathFor(outPath);
  // the metadata last: serve needs both, and the pair is written all-or-nothing (src/io/atomicWrite.ts)
  writeFilesAtomic([
    { path: outPath, data: bytes },
    { path: metadataPath, data: `${JSON.stringify(metadata, null, 2)}\n` },
  ]);
  return { onnxPath: outPath, metadataPath, bytes: bytes.length, metadata };
}

/**
 * Loads the checkpoint in `modelDir`, lowers it, verifies the graph against
 * jax-js (refusing it above the tolerance) and writes `outPath` and
 * `outPath`.json with the fingerprint and the verification in the metadata.
 */
export async function exportModel(modelDir: string, outPath: string): Promise<ExportSummary> {
  await startEngine();
  const trained = loadModel(modelDir);
  const lowered = lowerTrainedModel(trained);
  const verification = await verifyAgainstEngine(trained, lowered.bytes, scoreOutputName(trained.spec.task));
  if (!(verification.maxError <= verification.tolerance)) {
    throw new FusionkitError(
      `the exported graph differs from the jax-js model by ${verification.maxError.toExponential(2)} on ${verification.rows} ${verification.source} rows (tolerance ${verification.tolerance}); nothing was written. This is a fusionkit bug in the ONNX lowering of method "${trained.spec.method.name}": please report it with the model directory`,
      { file: outPath },
    );
  }
  const metadata: ExportMetadata = { ...lowered.metadata, verification };
  return writeExport(outPath, withMetadataProps(lowered.bytes, { fusionkit: JSON.stringify(metadata) }), metadata);
}
