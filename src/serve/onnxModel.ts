/**
 * The served model: the exported graph in an onnxruntime-node session plus
 * its metadata. `openServedModel` exports the checkpoint into the model
 * directory first when model.onnx is missing or older than the checkpoint.
 *
 * Explanations are exact modality Shapley values (src/explain/shapley.ts: the
 * players are the modalities, a coalition's value is the predicted class's
 * probability with the other modalities marked missing). All 2^M coalitions
 * of all rows go through the graph as ONE batch: the dynamic batch dimension
 * makes that a single session run.
 */
import { existsSync, readFileSync, realpathSync, statSync } from "node:fs";
import { join } from "node:path";
import type { SplitData } from "../data/types.ts";
import type { HostArray } from "../engine/tensor.ts";
import { FusionkitError } from "../errors.ts";
import { shapleyFromValues, shapleyWeights } from "../explain/shapley.ts";
import { exportModel, metadataPathFor, scoreOutputName, type ExportMetadata } from "../export/exportModel.ts";
import { feedsFromSplit } from "../export/feeds.ts";
import { decodeModel } from "../export/onnxGraph.ts";
import { createOnnxRunner, type OnnxRunner } from "../export/runtime.ts";
import { modalityFields, type ModalityFields } from "./rowSchema.ts";

export const onnxFileName = "model.onnx";

export type ServedModel = {
  /** the model directory, resolved through symlinks (the root every request path must stay inside) */
  root: string;
  onnxPath: string;
  metadata: ExportMetadata;
  fields: ModalityFields[];
  /** true when this start exported the graph */
  exported: boolean;
  predict(split: SplitData): Promise<{ logits: Float32Array; scores: Float32Array }>;
  explain(split: SplitData, scores: Float32Array): Promise<Explanation>;
  close(): Promise<void>;
};

export type Explanation = {
  /** [n] the output explained per row: the predicted class (regression: the prediction) */
  target: Int32Array;
  /** [n, M] Shapley value per row and modality */
  phi: Float64Array;
  /** [n] the explained output with no modality present */
  base: Float64Array;
};

function needsExport(dir: string, onnxPath: string): boolean {
  if (!existsSync(onnxPath)) return true;
  const built = statSync(onnxPath).mtimeMs;
  return ["model.safetensors", "config.json"].some((f) => existsSync(join(dir, f)) && statSync(join(dir, f)).mtimeMs > built);
}

function readMetadata(onnxPath: string): ExportMetadata {
  const jsonPath = metadataPathFor(onnxPath);
  if (existsSync(jsonPath)) return JSON.parse(readFileSync(jsonPath, "utf8")) as ExportMetadata;
  // the graph carries the same JSON in its metadata_props
  const model = decodeModel(readFileSync(onnxPath));
  const entry = (model.metadataProps as { key: string; value: string }[]).find((p) => p.key === "fusionkit");
  if (!entry) throw new FusionkitError(`${onnxFileName} has no fusionkit metadata and no ${onnxFileName}.json beside it; export it with "fusionkit export"`, { file: onnxPath });
  return JSON.parse(entry.value) as ExportMetadata;
}

export async function openServedModel(modelDir: string): Promise<ServedModel> {
  if (!existsSync(modelDir) || !statSync(modelDir).isDirectory()) {
    throw new FusionkitError(`model directory not found; point --model at a directory written by "fusionkit train"`, { file: modelDir });
  }
  const root = realpathSync(modelDir);
  const onnxPath = join(root, onnxFileName);
  const exported = needsExport(root, onnxPath);
  if (exported) {
    try {
      await exportModel(root, onnxPath);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== "EACCES" && code !== "EROFS" && code !== "EPERM") throw error;
      throw new FusionkitError(`cannot write ${onnxFileName} into the model directory (${code}); make it writable, or run "fusionkit export --model ${modelDir}" where it is`, { file: onnxPath });
    }
  }
  const metadata = readMetadata(onnxPath);
  const runner: OnnxRunner = await createOnnxRunner(onnxPath);
  const fields = modalityFields(metadata);
  for (const { spec } of fields) {
    const config = metadata.modalityConfigs?.find((c) => c.name === spec.name) ?? spec.config;
    if (spec.type === "vector" && typeof config?.file === "string") {
      await runner.release();
      throw new FusionkitError(
        `modality "${spec.name}" was trained from ${config.file}, a matrix aligned with the training rows, so request rows have no field to carry it; retrain from a dataset whose vectors are inline ("field" instead of "file")`,
        { field: spec.name },
      );
    }
  }
  const specs = metadata.modalities;
  const scoreName = scoreOutputName(metadata.task);

  async function run(split: SplitData): Promise<Record<string, HostArray>> {
    return runner.run(feedsFromSplit(split, specs));
  }

  return {
    root,
    onnxPath,
    metadata,
    fields,
    exported,
    async predict(split) {
      const out = await run(split);
      return { logits: out.logits!.data, scores: out[scoreName]!.data };
    },
    async explain(split, scores) {
      const M = specs.length;
      const weights = shapleyWeights(M);
      const coalitions = 2 ** M;
      const n = split.n;
      const { outDim, task } = metadata;
      const target = new Int32Array(n);
      if (task !== "regression") {
        for (let i = 0; i < n; i++) {
          let best = 0;
          for (let c = 1; c < outDim; c++) if (scores[i * outDim + c]! > scores[i * outDim + best]!) best = c;
          target[i] = best;
        }
      }
      // row (S * n + i) = row i with only the modalities in coalition S kept present
      const stacked = stackCoalitions(split, specs.map((s) => s.name), coalitions);
      const out = (await run(stacked))[scoreName]!.data;
      const phi = new Float64Array(n * M);
      const base = new Float64Array(n);
      const values = new Float64Array(coalitions);
      for (let i = 0; i < n; i++) {
        for (let S = 0; S < coalitions; S++) values[S] = out[(S * n + i) * outDim + target[i]!]!;
        phi.set(shapleyFromValues(values, M, weights), i * M);
        base[i] = values[0]!;
      }
      return { target, phi, base };
    },
    close: () => runner.release(),
  };
}

/** 2^M copies of the split, copy S with every modality outside coalition S marked missing. */
function stackCoalitions(split: SplitData, modalities: string[], coalitions: number): SplitData {
  const n = split.n;
  const repeat = (source: Float32Array) => {
    const out = new Float32Array(source.length * coalitions);
    for (let S = 0; S < coalitions; S++) out.set(source, S * source.length);
    return out;
  };
  const present: Record<string, Float32Array> = {};
  modalities.forEach((name, m) => {
    const source = split.present[name]!;
    const out = new Float32Array(n * coalitions);
    for (let S = 0; S < coalitions; S++) if (S & (1 << m)) out.set(source, S * n);
    present[name] = out;
  });
  return {
    n: n * coalitions,
    ids: [],
    inputs: Object.fromEntries(Object.entries(split.inputs).map(([k, v]) => [k, repeat(v)])),
    tokenMasks: Object.fromEntries(Object.entries(split.tokenMasks).map(([k, v]) => [k, repeat(v)])),
    present,
    labels: new Float32Array(0),
    fields: {},
  };
}
