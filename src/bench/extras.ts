/**
 * What a bench job can do beside training and evaluating its method, all of it
 * inside the worker and returned as plain JSON (it crosses a thread boundary):
 *
 *  - explanations: exact modality Shapley values of the trained model on the
 *    first `maxRows` test rows (src/explain/report.ts). 2^M forward passes per
 *    row, on the engine the test evaluation used (ONNX Runtime unless
 *    --backend jax; the sample rows' attention maps and gates from one jax-js
 *    pass over those rows), so a bounded row count keeps it to a second or so;
 *  - gate history: Flamingo's tanh(alpha), tanh(beta) after every epoch, and
 *    at epoch 0 from the initialisation (the same seed, so the same init);
 *  - retrieval: a short contrastive alignment run (src/align, CLIP recipe) of
 *    an image and a text modality, then retrievalForReport on the test split.
 *
 * A failure here never fails the method's run: it is recorded as `error`.
 */
import { retrievalForReport } from "../align/report.ts";
import { trainAlignment } from "../align/trainer.ts";
import type { PreparedDataset } from "../data/types.ts";
import { flattenParams } from "../engine/params.ts";
import { HostRng } from "../engine/random.ts";
import { explainForReport } from "../explain/report.ts";
import { gateParameters } from "../explain/views.ts";
import type { Model, ModelParams } from "../model/model.ts";
import type { TrainedModel } from "../train/trainer.ts";
import type { BenchRetrieval, GateEpoch, MethodExplanations } from "./results.ts";

export type ExplainRequest = { maxRows: number; samples: number; imageSize: number };

export type RetrievalRequest = { pair: string[]; matchField?: string; seed: number; epochs: number; batchSize: number; encoderDim: number };

/** The explanation section's size, and the alignment run's: measured to add well under a minute to the default bench (see README). */
export const explainDefaults: ExplainRequest = { maxRows: 256, samples: 3, imageSize: 48 };
export const retrievalDefaults = { epochs: 15, batchSize: 64 };

/** The built-in datasets' true-match field (as `fusionkit align`: rows of one emoji are all true matches of each other). */
const builtinMatchFields: Record<string, string> = { emoji: "emoji" };

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** tanh of every gate the model's method names in its parameters, or undefined for a method without gates. */
export function gateEpoch(model: Pick<Model, "gates">, epoch: number, params: ModelParams): GateEpoch | undefined {
  const gates = gateParameters(model, params);
  if (gates.length === 0) return undefined;
  return { epoch, tanh: Object.fromEntries(gates.map((g) => [g.name, g.tanh])) };
}

/** The gates of the initial parameters: trainModel initialises with model.init(new HostRng(seed)), so this is its epoch 0. */
export function initialGates(model: Model, seed: number): GateEpoch | undefined {
  return gateEpoch(model, 0, model.init(new HostRng(seed)));
}

export async function explainTrained(trained: TrainedModel, dataset: PreparedDataset, seed: number, request: ExplainRequest): Promise<MethodExplanations> {
  const started = performance.now();
  try {
    const { openSplitPredictor, requestedBackend } = await import("../export/trainBackend.ts");
    const { flat } = flattenParams(trained.params);
    const backend = requestedBackend() === "jax" ? "jax" : "ort";
    const report = await explainForReport(trained, dataset, {
      split: "test",
      maxRows: request.maxRows,
      samples: request.samples,
      imageSize: request.imageSize,
      batchSize: 64,
      openPredictor: (split) => openSplitPredictor(backend, trained.model, trained.layout, flat, split, 64, undefined, "explaining"),
    });
    return { seed, ms: performance.now() - started, report };
  } catch (error) {
    return { seed, ms: performance.now() - started, error: message(error) };
  }
}

/** The first image and the first text modality, when the dataset has both: the pair the retrieval section aligns. */
export function retrievalPair(dataset: Pick<PreparedDataset, "modalities">): string[] | undefined {
  const image = dataset.modalities.find((m) => m.type === "image");
  const text = dataset.modalities.find((m) => m.type === "text");
  return image && text ? [image.name, text.name] : undefined;
}

export function retrievalRequest(dataset: Pick<PreparedDataset, "name" | "modalities">, encoderDim: number): RetrievalRequest | undefined {
  const pair = retrievalPair(dataset);
  if (!pair) return undefined;
  const matchField = builtinMatchFields[dataset.name];
  return { pair, ...(matchField ? { matchField } : {}), seed: 0, epochs: retrievalDefaults.epochs, batchSize: retrievalDefaults.batchSize, encoderDim };
}

export async function runRetrieval(dataset: PreparedDataset, request: RetrievalRequest): Promise<BenchRetrieval> {
  const started = performance.now();
  const base = { pair: request.pair, ...(request.matchField ? { matchField: request.matchField } : {}), seed: request.seed, epochs: request.epochs, batchSize: request.batchSize };
  try {
    const aligned = await trainAlignment(dataset, {
      pair: request.pair,
      ...(request.matchField ? { matchField: request.matchField } : {}),
      seed: request.seed,
      epochs: request.epochs,
      batchSize: request.batchSize,
      encoderDim: request.encoderDim,
    });
    const report = await retrievalForReport(aligned, dataset, { split: "test", sampleSize: 8, queries: 3, k: 5, seed: request.seed });
    return { ...base, epochsRun: aligned.history.length, bestEpoch: aligned.bestEpoch, trainRows: aligned.trainRows, trainMs: aligned.trainMs, ms: performance.now() - started, report };
  } catch (error) {
    return { ...base, epochsRun: 0, bestEpoch: 0, trainRows: 0, trainMs: 0, ms: performance.now() - started, error: message(error) };
  }
}
