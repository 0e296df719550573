/**
 * The served model: the exported graph in an onnxruntime-node session plus
 * its metadata. `openServedModel` exports the checkpoint into the model
 * directory first when model.onnx is missing or was exported from another
 * checkpoint (its recorded model fingerprint differs), and refuses to start
 * without the checkpoint unless told `onnxOnly`.
 *
 * Explanations are exact modality Shapley values (src/explain/shapley.ts: the
 * players are the modalities, a coalition's value is the predicted class's
 * probability with the other modalities marked missing): each coalition is
 * one pass over the rows with the modalities outside it marked missing.
 */
import { existsSync, readFileSync, realpathSync, statSync } from "node:fs";
import { join } from "node:path";
import type { SplitData } from "../data/types.ts";
import type { HostArray } from "../engine/tensor.ts";
import { FusionkitError } from "../errors.ts";
import { shapleyFromValues, shapleyWeights } from "../explain/shapley.ts";
import { loadCheckpoint } from "../engine/checkpoint.ts";
import { exportModel, inputName, scoreOutputName, type ExportMetadata } from "../export/exportModel.ts";
import { feedsFromSplit } from "../export/feeds.ts";
import { decodeModel } from "../export/onnxGraph.ts";
import { createOnnxRunner, type OnnxRunner } from "../export/runtime.ts";
import { modalityFields, type ModalityFields } from "./rowSchema.ts";
import { AdaptiveSlicer, inSlices } from "./slices.ts";

export const onnxFileName = "model.onnx";

export type ServedModel = {
  /** the model directory, resolved through symlinks (the root every request path must stay inside) */
  root: string;
  onnxPath: string;
  metadata: ExportMetadata;
  fields: ModalityFields[];
  /** what this start exported and why (undefined when it served the graph as found) */
  exported?: string;
  /** true when started with --onnx-only: the graph is served without its checkpoint */
  onnxOnly: boolean;
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

const checkpointFiles = ["config.json", "model.safetensors"];

function unreadableGraph(onnxPath: string, modelDir: string, why: string): FusionkitError {
  return new FusionkitError(
    `not a readable ONNX graph (${why}): truncated or damaged. Re-export it with "fusionkit export --model ${modelDir}" (or delete it: serve exports a missing graph from the checkpoint)`,
    { file: onnxPath },
  );
}

/** The graph's own metadata (metadata_props "fusionkit"): the .json beside it may belong to another export. */
function readMetadata(onnxPath: string, modelDir: string): ExportMetadata {
  let model: { metadataProps: { key: string; value: string }[] };
  try {
    model = decodeModel(readFileSync(onnxPath));
  } catch (error) {
    throw unreadableGraph(onnxPath, modelDir, (error as Error).message);
  }
  const entry = model.metadataProps.find((p) => p.key === "fusionkit");
  if (!entry) throw new FusionkitError(`the graph carries no fusionkit metadata; export it with "fusionkit export --model ${modelDir}"`, { file: onnxPath });
  try {
    return JSON.parse(entry.value) as ExportMetadata;
  } catch {
    throw unreadableGraph(onnxPath, modelDir, "its fusionkit metadata is not JSON");
  }
}

export type OpenOptions = {
  /** serve model.onnx without the checkpoint beside it: no fingerprint check, no re-export */
  onnxOnly?: boolean;
};

async function exportInto(root: string, onnxPath: string, modelDir: string): Promise<void> {
  try {
    await exportModel(root, onnxPath);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== "EACCES" && code !== "EROFS" && code !== "EPERM") throw error;
    throw new FusionkitError(`cannot write ${onnxFileName} into the model directory (${code}); make it writable, or run "fusionkit export --model ${modelDir}" where it is`, { file: onnxPath });
  }
}

/**
 * Which graph to serve. With the checkpoint beside it (the default), the
 * graph is (re-)exported when it is missing or its fingerprint is not the
 * checkpoint's (an older training into the same directory, or an export of
 * another model), so serve and `fusionkit predict` always answer from the same
 * weights and config. `onnxOnly` serves the graph as it is.
 */
async function resolveGraph(modelDir: string, root: string, onnxPath: string, options: OpenOptions): Promise<{ exported?: string }> {
  if (options.onnxOnly) {
    if (!existsSync(onnxPath)) throw new FusionkitError(`no ${onnxFileName} to serve with --onnx-only; export one with "fusionkit export", or drop --onnx-only to export it from the checkpoint`, { file: onnxPath });
    return {};
  }
  const missing = checkpointFiles.filter((f) => !existsSync(join(root, f)));
  if (missing.length) {
    throw new FusionkitError(
      `no ${missing.join(" or ")} in the model directory: serve checks ${onnxFileName} against the checkpoint it was exported from. Point --model at a directory written by "fusionkit train", or pass --onnx-only to serve ${onnxFileName} unchecked`,
      { file: modelDir },
    );
  }
  // verifies the weights' checksum and that config.json is the one saved with them
  const { fingerprint } = loadCheckpoint(root);
  if (!existsSync(onnxPath)) {
    await exportInto(root, onnxPath, modelDir);
    return { exported: `exported ${onnxFileName} from the checkpoint (fingerprint ${fingerprint.slice(0, 12)})` };
  }
  const graphFingerprint = readMetadata(onnxPath, modelDir).fingerprint;
  if (graphFingerprint === fingerprint) return {};
  await exportInto(root, onnxPath, modelDir);
  const was = graphFingerprint ? `fingerprint ${graphFingerprint.slice(0, 12)}` : "no fingerprint";
  return { exported: `${onnxFileName} did not match the checkpoint beside it (${was}, checkpoint ${fingerprint.slice(0, 12)}): re-exported it from the checkpoint` };
}

export async function openServedModel(modelDir: string, options: OpenOptions = {}): Promise<ServedModel> {
  if (!existsSync(modelDir) || !statSync(modelDir).isDirectory()) {
    throw new FusionkitError(`model directory not found; point --model at a directory written by "fusionkit train"`, { file: modelDir });
  }
  const root = realpathSync(modelDir);
  const onnxPath = join(root, onnxFileName);
  const { exported } = await resolveGraph(modelDir, root, onnxPath, options);
  const metadata = readMetadata(onnxPath, modelDir);
  let runner: OnnxRunner;
  try {
    runner = await createOnnxRunner(onnxPath);
  } catch (error) {
    throw unreadableGraph(onnxPath, modelDir, (error as Error).message.split("\n")[0]!.slice(0, 200));
  }
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

  // graph rows are cheap (tens of µs): start with 64 before anything is measured
  const slicer = new AdaptiveSlicer(10, 64);

  /**
   * `total` graph rows in slices that each take about 10 ms (onnxruntime-node
   * runs session.run on the event loop's thread): between slices the loop
   * answers /health and other requests, and only one slice's feeds are in
   * memory at a time.
   */
  async function runSliced(total: number, feedsFor: (from: number, to: number) => Record<string, HostArray>, consume: (out: Record<string, HostArray>, from: number) => void): Promise<void> {
    await inSlices(total, slicer, async (from, to) => consume(await runner.run(feedsFor(from, to)), from));
  }

  /** Feeds for graph rows [from, to) of the stacked coalitions: graph row g is row g % n with only the modalities in coalition floor(g / n) present. */
  function coalitionFeeds(split: SplitData, from: number, to: number): Record<string, HostArray> {
    const n = split.n;
    const rows = Array.from({ length: to - from }, (_, k) => (from + k) % n);
    const feeds = feedsFromSplit(split, specs, rows);
    specs.forEach((spec, m) => {
      const present = feeds[inputName(spec.name, "present")]!.data;
      for (let k = 0; k < present.length; k++) if (!(Math.floor((from + k) / n) & (1 << m))) present[k] = 0;
    });
    return feeds;
  }

  return {
    root,
    onnxPath,
    metadata,
    fields,
    ...(exported ? { exported } : {}),
    onnxOnly: options.onnxOnly === true,
    async predict(split) {
      const { outDim } = metadata;
      const logits = new Float32Array(split.n * outDim);
      const scores = new Float32Array(split.n * outDim);
      const rowsOf = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => from + k);
      await runSliced(split.n, (from, to) => feedsFromSplit(split, specs, rowsOf(from, to)), (out, from) => {
        logits.set(out.logits!.data, from * outDim);
        scores.set(out[scoreName]!.data, from * outDim);
      });
      return { logits, scores };
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
      // values[i * coalitions + S]: row i's explained output with only the modalities in coalition S kept present.
      // The n x 2^M graph rows go through in slices, so a 1-row request is one run and a 1,024-row one never holds them all.
      const values = new Float64Array(n * coalitions);
      await runSliced(n * coalitions, (from, to) => coalitionFeeds(split, from, to), (out, from) => {
        const data = out[scoreName]!.data;
        const count = data.length / outDim;
        for (let k = 0; k < count; k++) {
          const g = from + k;
          const [S, i] = [Math.floor(g / n), g % n];
          values[i * coalitions + S] = data[k * outDim + target[i]!]!;
        }
      });
      const phi = new Float64Array(n * M);
      const base = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const row = values.subarray(i * coalitions, (i + 1) * coalitions);
        phi.set(shapleyFromValues(row, M, weights), i * M);
        base[i] = row[0]!;
      }
      return { target, phi, base };
    },
    close: () => runner.release(),
  };
}
