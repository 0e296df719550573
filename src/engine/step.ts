/**
 * Train and eval steps as pure functions, compiled once each:
 *   trainStep(params, optimiser slots, lr, t, key, batch) -> (params', slots', metrics)
 *   evalStep(params, batch) -> outputs
 * Parameters cross the jit boundary as a list of leaves (one array per named
 * parameter) and metrics come back stacked in one small vector. Why not one
 * flat vector: in jax-js 0.1.25 the transpose of split/concatenate is a sum of
 * padded copies, so a flat vector costs O(leaves x parameters) per step, far
 * more than passing the leaves (bench/engine.ts, "parameter layout probe"). The runner owns
 * the raw arrays between steps, so nothing above the engine handles jax-js memory.
 */
import { numpy as np } from "@jax-js/jax";
import { compile } from "./transforms.ts";
import { valueAndGrad } from "./transforms.ts";
import { stack, scalar, isRaw, mapTree, type RawArray, type Tensor, type TensorTree, type HostArray } from "./tensor.ts";
import { fillSkeleton, type ParamLayout, type ParamTree, type Params } from "./params.ts";
import { applyUpdate, clipByGlobalNorm, optimizerSlots, type OptimizerConfig } from "./optim.ts";
import { Rng, stepKey } from "./random.ts";
import { leavesReadByLoss } from "./readLeaves.ts";

export type { HostBatch } from "./hostBatch.ts";
import type { HostBatch } from "./hostBatch.ts";
/** The same batch as Tensors, as model code receives it (a model names its own layout, e.g. ModelBatch). */
export type TensorBatch = { [key: string]: Tensor | TensorBatch };

export type LossOutput = { loss: Tensor; metrics?: Record<string, Tensor> };
export type LossFn<P extends ParamTree = ParamTree, B = TensorBatch> = (params: Params<P>, batch: B, rng: Rng) => LossOutput;
export type ApplyFn<P extends ParamTree = ParamTree, B = TensorBatch> = (params: Params<P>, batch: B) => TensorTree;

const isHostArray = (x: unknown): x is HostArray =>
  x !== null && typeof x === "object" && (x as HostArray).data instanceof Float32Array && Array.isArray((x as HostArray).shape);

export function toRaw(batch: unknown): unknown {
  return mapTree(batch, isHostArray, (h) => np.array(h.data).reshape(h.shape));
}

function readRaw(r: RawArray): HostArray {
  const shape = r.shape;
  return { data: r.dataSync() as Float32Array, shape };
}

export type TrainStepOptions = {
  optimizer: OptimizerConfig;
  clipNorm?: number;
  /**
   * read[i]: whether the loss reads layout leaf i (src/engine/readLeaves.ts); an unread leaf is never
   * updated. Default: traced from the loss at the first batch's shapes (the trainer passes it in,
   * once for all the steps it opens).
   */
  readLeaves?: boolean[];
};

function uploadLeaves(layout: ParamLayout, flat: Float32Array): RawArray[] {
  return layout.entries.map((e) => np.array(flat.slice(e.offset, e.offset + e.size)).reshape(e.shape));
}

function downloadLeaves(layout: ParamLayout, leaves: RawArray[]): Float32Array {
  const flat = new Float32Array(layout.total);
  leaves.forEach((leaf, i) => flat.set(leaf.ref.dataSync() as Float32Array, layout.entries[i]!.offset));
  return flat;
}

/**
 * Loss, metrics and gradient over parameter leaves: the differentiated part of a
 * train step, shared by the jax-js step and the ONNX Runtime step (src/export/lowerStep.ts).
 */
export function lossAndGradient<P extends ParamTree = ParamTree, B = TensorBatch>(
  layout: ParamLayout<P>,
  lossFn: LossFn<P, B>,
  /** the loss's Rng from the step key (the ONNX lowering records and feeds the draws, src/engine/drawFeed.ts) */
  rngOf: (key: Tensor) => Rng = (key) => new Rng(key),
) {
  return (leaves: Tensor[], key: Tensor, batch: B): { grad: Tensor[]; metrics: Record<string, Tensor> } => {
    const rng = rngOf(key);
    const { value, grad, aux } = valueAndGrad((p: Tensor[]) => {
      const out = lossFn(fillSkeleton<Params<P>>(layout.skeleton, p), batch, rng);
      return [out.loss, out.metrics ?? {}];
    }, leaves);
    return { grad, metrics: { loss: value, ...(aux as Record<string, Tensor>) } };
  };
}

/** Metrics stacked into one vector; `names` receives their order while tracing. */
export function stackMetrics(metrics: Record<string, Tensor>, names: string[]): Tensor {
  names.length = 0;
  names.push(...Object.keys(metrics));
  return stack(Object.values(metrics).map((m) => m.reshape([])));
}

/**
 * The pure function one train step computes:
 *   (parameter leaves, optimiser slots, lr, t, key, batch) -> [leaves', slots', metrics vector].
 * `metricNames` is filled with the metric order while the function is traced.
 */
export function trainStepFunction<P extends ParamTree = ParamTree, B = TensorBatch>(
  layout: ParamLayout<P>,
  lossFn: LossFn<P, B>,
  options: TrainStepOptions,
  metricNames: string[],
  read: boolean[] = layout.entries.map(() => true),
) {
  const gradient = lossAndGradient(layout, lossFn);
  // the leaves the loss reads: the only ones clipped and updated (unread leaves pass through, slots too)
  const trained = read.flatMap((r, i) => (r ? [i] : []));
  const pick = <T>(xs: T[]) => trained.map((i) => xs[i]!);
  return (leaves: Tensor[], slots: Tensor[][], lr: Tensor, t: Tensor, key: Tensor, batch: B) => {
    const { grad, metrics } = gradient(leaves, key, batch);
    let g = pick(grad);
    if (options.clipNorm) {
      const clipped = clipByGlobalNorm(g, options.clipNorm);
      g = clipped.grad;
      metrics.gradNorm = clipped.norm;
    }
    const updated = applyUpdate(options.optimizer, layout, pick(leaves), g, slots.map(pick), lr, t, trained);
    const params = [...leaves];
    const nextSlots = slots.map((s) => [...s]);
    trained.forEach((i, j) => {
      params[i] = updated.params[j]!;
      updated.slots.forEach((s, k) => (nextSlots[k]![i] = s[j]!));
    });
    return [params, nextSlots, stackMetrics(metrics, metricNames)];
  };
}

/** P: the parameter tree the layout was built from; B: the Tensor batch the loss reads. */
export class TrainStep<P extends ParamTree = ParamTree, B = TensorBatch> {
  readonly backend = "jax" as const;
  private params: RawArray[];
  private slots: RawArray[][];
  private t = 0;
  private metricNames: string[] = [];
  /** compiled at the first step, when the batch's shapes are known (readLeaves traces the loss at them) */
  private compiled: ((...args: any[]) => any) | undefined;
  private read: boolean[] | undefined;

  constructor(
    readonly layout: ParamLayout<P>,
    initialParams: Float32Array,
    private readonly lossFn: LossFn<P, B>,
    readonly options: TrainStepOptions,
  ) {
    if (initialParams.length !== layout.total) {
      throw new Error(`TrainStep: ${initialParams.length} parameters given, layout has ${layout.total}`);
    }
    this.params = uploadLeaves(layout, initialParams);
    this.slots = Array.from({ length: optimizerSlots(options.optimizer) }, () => layout.entries.map((e) => np.zeros(e.shape)));
    this.read = options.readLeaves;
  }

  private compiledFor(batch: HostBatch): (...args: any[]) => any {
    if (!this.compiled) {
      this.read ??= leavesReadByLoss(this.layout, this.lossFn, batch);
      this.compiled = compile(trainStepFunction(this.layout, this.lossFn, this.options, this.metricNames, this.read));
    }
    return this.compiled;
  }

  /** One optimiser step; returns the step's metrics (loss first). */
  step(batch: HostBatch, lr: number, seed: number): Record<string, number> {
    this.t += 1;
    const [params, slots, metrics] = this.compiledFor(batch)(
      this.params,
      this.slots,
      np.array(new Float32Array([lr])).reshape([]),
      np.array(new Float32Array([this.t])).reshape([]),
      stepKey(seed),
      toRaw(batch),
    );
    this.params = params;
    this.slots = slots;
    // Reading the metrics submits the whole step, so pending work never piles up.
    const values = (metrics as RawArray).dataSync();
    const out: Record<string, number> = {};
    this.metricNames.forEach((n, i) => (out[n] = values[i]!));
    return out;
  }

  /** A host copy of the current parameters, flat in layout order. */
  currentParams(): Float32Array {
    return downloadLeaves(this.layout, this.params);
  }

  dispose(): void {
    for (const p of this.params) p.dispose();
    for (const slot of this.slots) for (const s of slot) s.dispose();
    this.params = [];
    this.slots = [];
  }
}

/**
 * A compiled inference function. Keeps its own engine copy of the parameters;
 * outputs come back to the host as { data, shape } trees.
 */
export class EvalStep<P extends ParamTree = ParamTree, B = TensorBatch> {
  private params: RawArray[];
  private readonly compiled: (...args: any[]) => any;

  constructor(readonly layout: ParamLayout<P>, params: Float32Array, readonly applyFn: ApplyFn<P, B>) {
    this.params = uploadLeaves(layout, params);
    this.compiled = compile((leaves: Tensor[], batch: B) => applyFn(fillSkeleton<Params<P>>(layout.skeleton, leaves), batch));
  }

  /** The outputs of applyFn as a tree of HostArrays (the caller knows the tree it returned). */
  run(batch: HostBatch): unknown {
    const out = this.compiled(this.params.map((p) => p.ref), toRaw(batch));
    return mapTree(out, isRaw, readRaw);
  }

  setParams(params: Float32Array): void {
    for (const p of this.params) p.dispose();
    this.params = uploadLeaves(this.layout, params);
  }

  dispose(): void {
    for (const p of this.params) p.dispose();
    this.params = [];
  }
}

export { scalar };
