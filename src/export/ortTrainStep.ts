/**
 * Train steps run by ONNX Runtime: the graph from lowerStep.ts in one
 * InferenceSession (CPU, intra-op threads = cores), with the same interface
 * as the jax-js TrainStep (src/engine/step.ts).
 *
 * The state (flat parameters and optimiser slots, see lowerStep.ts) lives in
 * two sets of ORT tensors over JS buffers. Each step feeds one set and hands
 * the other to ORT as pre-allocated outputs, so ONNX Runtime writes the new
 * state straight into it; then the two swap. Per step, JavaScript only wraps
 * the batch arrays and three scalars in tensors: no state is copied or
 * converted on the host.
 */
import os from "node:os";
import { isMainThread } from "node:worker_threads";
import * as ort from "onnxruntime-node";
import type { ParamLayout } from "../engine/params.ts";
import { optimizerSlots } from "../engine/optim.ts";
import type { HostBatch, LossFn, TrainStepOptions } from "../engine/step.ts";

import { leavesOf, lowerTrainStep, type LoweredTrainStep } from "./lowerStep.ts";

export type OrtTrainStepOptions = {
  /**
   * intra-op threads. Default: one per core on the main thread; 1 in a worker thread,
   * because fusionkit starts worker threads to use one core each (the bench pool, `fusionkit worker`)
   */
  threads?: number;
};

let liveSessions = 0;
/** ORT sessions created by OrtTrainStep and not yet released (pinned by a test: no growth across runs). */
export function liveTrainSessions(): number {
  return liveSessions;
}

export class OrtTrainStep {
  readonly backend = "ort" as const;
  private t = 0;
  private released = false;

  private constructor(
    readonly layout: ParamLayout,
    private readonly session: ort.InferenceSession,
    private readonly lowered: LoweredTrainStep,
    private current: ort.Tensor[],
    private spare: ort.Tensor[],
    private readonly batchShapes: number[][],
  ) {}

  /**
   * Lowers the step at `exampleBatch`'s shapes (every later batch must have them)
   * and opens the session. Throws UnsupportedPrimitive (lower.ts) when the step
   * uses a primitive with no lowering.
   */
  static async create(
    layout: ParamLayout,
    initialParams: Float32Array,
    lossFn: LossFn,
    options: TrainStepOptions,
    exampleBatch: HostBatch,
    runOptions: OrtTrainStepOptions = {},
  ): Promise<OrtTrainStep> {
    if (initialParams.length !== layout.total) {
      throw new Error(`OrtTrainStep: ${initialParams.length} parameters given, layout has ${layout.total}`);
    }
    const lowered = lowerTrainStep(layout, lossFn, options, exampleBatch);
    const session = await ort.InferenceSession.create(lowered.bytes, {
      executionProviders: ["cpu"],
      graphOptimizationLevel: "all",
      intraOpNumThreads: runOptions.threads ?? (isMainThread ? os.availableParallelism() : 1),
      interOpNumThreads: 1,
      executionMode: "sequential",
      logSeverityLevel: 3,
    });
    liveSessions++;
    const S = optimizerSlots(options.optimizer);
    const P = layout.total;
    const current = [...Array(S + 1).keys()].map((k) => new ort.Tensor("float32", k === 0 ? initialParams.slice() : new Float32Array(P), [P]));
    const spare = [...Array(S + 1).keys()].map(() => new ort.Tensor("float32", new Float32Array(P), [P]));
    const batchShapes = leavesOf(exampleBatch).map(([, a]) => a.shape);
    return new OrtTrainStep(layout, session, lowered, current, spare, batchShapes);
  }

  get metricNames(): string[] {
    return this.lowered.metricNames;
  }

  /** One optimiser step; returns the step's metrics (loss first). */
  async step(batch: HostBatch, lr: number, seed: number): Promise<Record<string, number>> {
    if (this.released) throw new Error("OrtTrainStep: step() after dispose()");
    this.t += 1;
    const { stateInputs, stateOutputs, batchInputs } = this.lowered;
    const feeds: Record<string, ort.Tensor> = {};
    stateInputs.forEach((name, i) => (feeds[name] = this.current[i]!));
    feeds.lr = new ort.Tensor("float32", new Float32Array([lr]), []);
    feeds.t = new ort.Tensor("float32", new Float32Array([this.t]), []);
    feeds.key = new ort.Tensor("uint32", new Uint32Array([0, seed >>> 0]), [2]);
    leavesOf(batch).forEach(([path, a], i) => {
      if (!sameShape(a.shape, this.batchShapes[i]!)) {
        throw new Error(`OrtTrainStep: batch leaf ${path.join(".")} has shape [${a.shape}], the step was built for [${this.batchShapes[i]}]`);
      }
      feeds[batchInputs[i]!] = new ort.Tensor("float32", a.data, a.shape);
    });
    const fetches: Record<string, ort.Tensor | null> = { metrics: null };
    stateOutputs.forEach((name, i) => (fetches[name] = this.spare[i]!));
    const results = await this.session.run(feeds, fetches);
    [this.current, this.spare] = [this.spare, this.current];
    const values = results.metrics!.data as Float32Array;
    const out: Record<string, number> = {};
    this.lowered.metricNames.forEach((n, i) => (out[n] = values[i]!));
    return out;
  }

  /** A host copy of the current parameters, flat in layout order. */
  currentParams(): Float32Array {
    return (this.current[0]!.data as Float32Array).slice();
  }

  async dispose(): Promise<void> {
    if (this.released) return;
    this.released = true;
    liveSessions--;
    await this.session.release();
    this.current = [];
    this.spare = [];
  }
}

function sameShape(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

