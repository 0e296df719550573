/**
 * Train steps run by ONNX Runtime: the graph from lowerStep.ts in one
 * InferenceSession (CPU), with the same interface as the jax-js TrainStep
 * (src/engine/step.ts).
 *
 * The state (parameters and optimiser slots in groups of leaves, see lowerStep.ts) lives in
 * two sets of ORT tensors over JS buffers. Each step feeds one set and hands
 * the other to ORT as pre-allocated outputs, so ONNX Runtime writes the new
 * state straight into it; then the two swap. The two feed/fetch records are
 * built once, and the per-step scalars and the key are written into tensors
 * that live as long as the step: per step, JavaScript only wraps the batch
 * arrays in tensors. No state is copied or converted on the host.
 */
import os from "node:os";
import { isMainThread } from "node:worker_threads";
import * as ort from "onnxruntime-node";
import { sessionConfig } from "./sessionOptions.ts";
import type { ParamLayout, ParamTree } from "../engine/params.ts";
import type { HostBatch, LossFn, TensorBatch, TrainStepOptions } from "../engine/step.ts";

import { drawReplay, drawShapes } from "../engine/drawFeed.ts";
import { lowerTrainStep, type LoweredTrainStep } from "./lowerStep.ts";
import { leavesOf } from "../engine/hostBatch.ts";

export type OrtTrainStepOptions = {
  /** intra-op threads. Default: defaultTrainThreads (below) */
  threads?: number;
  /**
   * let idle intra-op threads spin for work (ONNX Runtime's default). Default false: on the
   * shared 2-core machine (load average 12-16) 2 spinning threads made steps 2-7x slower than
   * 2 threads that sleep (MLP batch 256: 61.7 vs 21.9 ms; LMF batch 32: 3.86 vs 0.76 ms),
   * which were level with 1 thread or better (docs/engine.md)
   */
  spinning?: boolean;
  /** leaves of at least this many elements get their own state tensors (default lowerStep.ts ownStateFrom; bench:engine compares) */
  ownStateFrom?: number;
  /** lower the random stream into the graph instead of feeding the draws from the host (lowerStep.ts; default false: bench:ort-warmup compares) */
  drawsInGraph?: boolean;
  /** write an ONNX Runtime profile (per-node timings, JSON) to a file starting with this prefix; read it with endProfiling() (bench:ort-profile) */
  profilePrefix?: string;
};

/** parameters x batch rows from which a train step on the main thread uses every core (defaultTrainThreads) */
export const parallelStepWork = 2 ** 26;

/**
 * Intra-op threads of a train step: 1 in a worker thread, because fusionkit
 * starts worker threads to use one core each (the bench pool, `fusionkit
 * worker`). On the main thread, one per core only for a step with at least
 * `parallelStepWork` parameters x batch rows, else 1. Measured with
 * bench:ort-warmup on the 2-core machine (docs/engine.md, "Intra-op
 * threads"): with 2 threads the MLP 512-512-512-10 at batch 256 (137 M) ran
 * faster, while every batch-32 workload (MLP 17 M) and cross-attention and LMF
 * at batch 256 (18 M, 25 M) ran slower: their ops are too small to split,
 * and waking a sleeping thread costs more than it saves.
 */
export function defaultTrainThreads(paramCount: number, batchRows: number): number {
  if (!isMainThread) return 1;
  return paramCount * batchRows >= parallelStepWork ? os.availableParallelism() : 1;
}

let liveSessions = 0;
/** ORT sessions created by OrtTrainStep and not yet released (pinned by a test: no growth across runs). */
export function liveTrainSessions(): number {
  return liveSessions;
}

export class OrtTrainStep {
  readonly backend = "ort" as const;
  private t = 0;
  private released = false;
  /** which of the two state sets holds the current state */
  private side = 0;

  private constructor(
    readonly layout: ParamLayout,
    private session: ort.InferenceSession | undefined,
    private readonly lowered: LoweredTrainStep,
    /** two state sets, each one tensor per state input */
    private sets: ort.Tensor[][],
    /** per side: the feeds (state of that side, scalars, key) and the fetches (the other side's state) */
    private readonly calls: { feeds: Record<string, ort.Tensor>; fetches: Record<string, ort.Tensor | null> }[],
    private readonly scalars: Float32Array[],
    private readonly key: Uint32Array,
    private readonly batchShapes: number[][],
    /** the step's random draws from its seed (src/engine/drawFeed.ts), when the loss draws any */
    private readonly replay: ((seed: number) => Float32Array[]) | undefined,
    /** the starting parameters when some leaves are unread (they keep these values), else undefined */
    private readonly unread: Float32Array | undefined,
  ) {}

  /**
   * Lowers the step at `exampleBatch`'s shapes (every later batch must have them)
   * and opens the session. Throws UnsupportedPrimitive (lower.ts) when the step
   * uses a primitive with no lowering.
   */
  static async create<P extends ParamTree = ParamTree, B = TensorBatch>(
    layout: ParamLayout<P>,
    initialParams: Float32Array,
    lossFn: LossFn<P, B>,
    options: TrainStepOptions,
    exampleBatch: HostBatch,
    runOptions: OrtTrainStepOptions = {},
  ): Promise<OrtTrainStep> {
    if (initialParams.length !== layout.total) {
      throw new Error(`OrtTrainStep: ${initialParams.length} parameters given, layout has ${layout.total}`);
    }
    const lowered = lowerTrainStep(layout, lossFn, options, exampleBatch, runOptions.ownStateFrom, runOptions.drawsInGraph);
    const session = await ort.InferenceSession.create(lowered.bytes, {
      executionProviders: ["cpu"],
      graphOptimizationLevel: "all",
      intraOpNumThreads: runOptions.threads ?? defaultTrainThreads(layout.total, batchRows(exampleBatch)),
      interOpNumThreads: 1,
      executionMode: "sequential",
      logSeverityLevel: 3,
      ...(runOptions.profilePrefix ? { enableProfiling: true, profileFilePrefix: runOptions.profilePrefix } : {}),
      extra: sessionConfig({ spinning: runOptions.spinning === true }),
    });
    liveSessions++;
    const G = lowered.groups.length;
    const sets = [0, 1].map((side) =>
      lowered.stateShapes.map((shape, i) => {
        const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
        if (side === 0 && i < G) gatherGroup(layout, lowered.groups[i]!, initialParams, data);
        return new ort.Tensor("float32", data, shape);
      }),
    );
    const scalars = lowered.hyperInputs.map(() => new Float32Array(1));
    const key = new Uint32Array(2);
    const fixed: Record<string, ort.Tensor> = { key: new ort.Tensor("uint32", key, [2]) };
    lowered.hyperInputs.forEach((name, i) => (fixed[name] = new ort.Tensor("float32", scalars[i]!, [])));
    const calls = [0, 1].map((side) => {
      const feeds: Record<string, ort.Tensor> = { ...fixed };
      const fetches: Record<string, ort.Tensor | null> = { metrics: null };
      lowered.stateInputs.forEach((name, i) => (feeds[name] = sets[side]![i]!));
      lowered.stateOutputs.forEach((name, i) => (fetches[name] = sets[1 - side]![i]!));
      return { feeds, fetches };
    });
    const batchShapes = leavesOf(exampleBatch).map(([, a]) => a.shape);
    const replay = lowered.drawOps.length ? drawReplay(lowered.drawOps) : undefined;
    const unread = lowered.read.every(Boolean) ? undefined : Float32Array.from(initialParams);
    return new OrtTrainStep(layout, session, lowered, sets, calls, scalars, key, batchShapes, replay, unread);
  }

  get metricNames(): string[] {
    return this.lowered.metricNames;
  }

  /** One optimiser step; returns the step's metrics (loss first). */
  async step(batch: HostBatch, lr: number, seed: number): Promise<Record<string, number>> {
    if (this.released || !this.session) throw new Error("OrtTrainStep: step() after dispose()");
    this.t += 1;
    this.lowered.hyperValues(lr, this.t).forEach((v, i) => (this.scalars[i]![0] = v));
    this.key[1] = seed >>> 0;
    const { feeds, fetches } = this.calls[this.side]!;
    const { batchInputs } = this.lowered;
    leavesOf(batch).forEach(([path, a], i) => {
      if (!sameShape(a.shape, this.batchShapes[i]!)) {
        throw new Error(`OrtTrainStep: batch leaf ${path.join(".")} has shape [${a.shape}], the step was built for [${this.batchShapes[i]}]`);
      }
      feeds[batchInputs[i]!] = new ort.Tensor("float32", a.data, a.shape);
    });
    if (this.replay) {
      const shapes = drawShapes(this.lowered.drawOps);
      this.replay(seed).forEach((values, i) => (feeds[this.lowered.drawInputs[i]!] = new ort.Tensor("float32", values, shapes[i]!)));
    }
    const results = await this.session.run(feeds, fetches);
    this.side = 1 - this.side;
    const values = results.metrics!.data as Float32Array;
    const out: Record<string, number> = {};
    this.lowered.metricNames.forEach((n, i) => (out[n] = values[i]!));
    return out;
  }

  /** A host copy of the current parameters, flat in layout order. */
  currentParams(): Float32Array {
    // leaves the loss does not read are in no state group: they keep their starting values
    const flat = this.unread ? Float32Array.from(this.unread) : new Float32Array(this.layout.total);
    this.lowered.groups.forEach((group, gi) => {
      const data = this.sets[this.side]![gi]!.data as Float32Array;
      let at = 0;
      for (const i of group) {
        const e = this.layout.entries[i]!;
        flat.set(data.subarray(at, at + e.size), e.offset);
        at += e.size;
      }
    });
    return flat;
  }

  /** Stops the profiler started by `profilePrefix` and flushes its file (ONNX Runtime names it: the newest file with that prefix). */
  endProfiling(): void {
    this.session?.endProfiling();
  }

  async dispose(): Promise<void> {
    if (this.released) return;
    this.released = true;
    liveSessions--;
    const session = this.session!;
    this.session = undefined;
    this.sets = [];
    this.calls.length = 0;
    await session.release();
  }
}

/** The leaves of `group`, in order, from the flat layout-order vector into `into`. */
function gatherGroup(layout: ParamLayout, group: number[], flat: Float32Array, into: Float32Array): void {
  let at = 0;
  for (const i of group) {
    const e = layout.entries[i]!;
    into.set(flat.subarray(e.offset, e.offset + e.size), at);
    at += e.size;
  }
}

/** Rows of a batch: the leading dimension of its first leaf. */
function batchRows(batch: HostBatch): number {
  return leavesOf(batch)[0]?.[1].shape[0] ?? 1;
}

function sameShape(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
