/**
 * Which engine runs the train steps. "ort" lowers the whole step to one ONNX
 * graph and runs it in ONNX Runtime (ortTrainStep.ts); "jax" is the jax-js
 * TrainStep, the reference. "auto", the default, takes ONNX Runtime whenever
 * the step lowers, and otherwise falls back to jax-js with one log line naming
 * the reason (the primitive with no lowering).
 *
 * Why "auto": measured on the 2-core machine (2026-12-02, docs/engine.md
 * "ONNX Runtime training backend"), the ORT step takes 2-5x less CPU than the
 * jax-js step for every method of the default bench at its shapes (width 32,
 * batch 32, image + text), and opening a session costs 0.2-2 s per run. Both
 * compute the same function (test/export/trainStep.test.ts: 10 steps of every
 * method agree within 1e-4).
 *
 * The choice comes from the caller (`--backend` in the CLI), else from
 * FUSIONKIT_BACKEND (so bench workers inherit the CLI's choice), else "auto".
 */
import { z } from "zod";
import type { ParamLayout, ParamTree } from "../engine/params.ts";
import { TrainStep, type HostBatch, type LossFn, type TensorBatch, type TrainStepOptions } from "../engine/step.ts";
import { FusionkitError } from "../errors.ts";
import { UnsupportedPrimitive } from "./lower.ts";
import { OrtTrainStep } from "./ortTrainStep.ts";
import { OrtPredictor } from "./ortPredictor.ts";
import type { SplitData } from "../data/types.ts";
import type { Model, ModelParams } from "../model/model.ts";
import { Predictor, type PredictOptions, type Predictions } from "../train/predict.ts";

export const backendChoice = z.enum(["auto", "ort", "jax"]);
export type BackendChoice = z.infer<typeof backendChoice>;
export type BackendName = "ort" | "jax";

export const backendEnvVar = "FUSIONKIT_BACKEND";
/** See the header for why. */
export const defaultBackend: BackendChoice = "auto";

/** One train-step runner, whichever engine is behind it. */
export type StepRunner = {
  readonly backend: BackendName;
  step(batch: HostBatch, lr: number, seed: number): Record<string, number> | Promise<Record<string, number>>;
  currentParams(): Float32Array;
  dispose(): void | Promise<void>;
};

/** The backend asked for: the explicit choice, else FUSIONKIT_BACKEND, else the default. */
export function requestedBackend(explicit?: BackendChoice): BackendChoice {
  if (explicit) return explicit;
  const env = process.env[backendEnvVar];
  if (env === undefined || env === "") return defaultBackend;
  const parsed = backendChoice.safeParse(env);
  if (!parsed.success) {
    throw new FusionkitError(`${backendEnvVar}=${env} is not a backend: use auto, ort or jax`, { field: backendEnvVar });
  }
  return parsed.data;
}

export type OpenTrainStep<P extends ParamTree = ParamTree, B = TensorBatch> = {
  layout: ParamLayout<P>;
  params: Float32Array;
  lossFn: LossFn<P, B>;
  options: TrainStepOptions;
  /** a batch with the shapes every step will have (the trainer pads batches to one size) */
  exampleBatch: HostBatch;
  backend?: BackendChoice;
  /** where the fallback line goes (default: stderr) */
  log?: (line: string) => void;
  /** what is being trained, for the log line */
  what?: string;
};

/** The train-step runner for `req.backend` (see the header for "auto"). */
export async function openTrainStep<P extends ParamTree = ParamTree, B = TensorBatch>(req: OpenTrainStep<P, B>): Promise<StepRunner> {
  const choice = requestedBackend(req.backend);
  const jax = () => new TrainStep(req.layout, req.params, req.lossFn, req.options);
  if (choice === "jax") return jax();
  try {
    return await OrtTrainStep.create(req.layout, req.params, req.lossFn, req.options, req.exampleBatch);
  } catch (error) {
    if (choice === "ort") throw error;
    const why = error instanceof UnsupportedPrimitive
      ? `primitive "${error.primitive}"${error.detail ? ` (${error.detail})` : ""} has no ONNX lowering`
      : `ONNX Runtime could not run the lowered step (${error instanceof Error ? error.message.split("\n")[0] : String(error)})`;
    (req.log ?? ((line: string) => process.stderr.write(`${line}\n`)))(
      `fusionkit: training ${req.what ?? "this model"} on jax-js, not ONNX Runtime: ${why}`,
    );
    return jax();
  }
}

/** Predictions over a split, whichever engine is behind them (Predictor's interface without options). */
export type SplitPredictor = {
  setParams(flat: Float32Array): void;
  predict(split: SplitData, opts?: PredictOptions): Predictions | Promise<Predictions>;
  dispose(): void | Promise<void>;
};

/** Rows per validation batch on ONNX Runtime: fewer, larger runs (a fixed-shape graph pads the last one). */
export const ortPredictBatch = 128;

/**
 * A predictor over a split (the trainer's validation, the bench's test evaluation)
 * on the engine the train step runs on: ONNX Runtime (ortPredictor.ts) after an
 * ORT step, unless the model's apply does not lower (then jax-js, with one line
 * saying why); jax-js after a jax-js step.
 */
export async function openSplitPredictor(
  backend: BackendName,
  model: Model,
  layout: ParamLayout<ModelParams>,
  flat: Float32Array,
  split: SplitData,
  batchSize: number,
  log: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
  what = "validating",
  /** rows per ONNX Runtime run (jax-js uses batchSize); single-row latency asks 1 */
  ortBatchSize = ortPredictBatch,
): Promise<SplitPredictor> {
  if (backend === "ort") {
    try {
      return await OrtPredictor.create(model, layout, flat, split, ortBatchSize);
    } catch (error) {
      const why = error instanceof UnsupportedPrimitive ? `primitive "${error.primitive}" has no ONNX lowering` : error instanceof Error ? error.message.split("\n")[0] : String(error);
      log(`fusionkit: ${what} ${model.spec.method.name} on jax-js, not ONNX Runtime: ${why}`);
    }
  }
  return new Predictor(model, layout, flat, batchSize);
}
