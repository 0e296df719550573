/**
 * A whole train step as one ONNX graph: loss, gradient (src/engine/step.ts
 * lossAndGradient, the same code the jax-js TrainStep compiles), clipping and
 * the optimiser update, traced once at the batch's fixed shape (the trainer
 * pads every batch to one size) and lowered with lower.ts.
 *
 * How the state crosses the graph boundary (stateGroups): every parameter
 * leaf of at least `ownStateFrom` elements is its own group, with its own
 * inputs (`param/<name>`, `slot<k>/<name>`, the leaf's shape); the smaller
 * leaves share one flat group (`param/*`, `slot<k>/*`). Why not all flat, as
 * before: splitting one flat vector into leaves for the model and
 * concatenating the gradient back is two passes over every parameter (a third
 * of the MLP step's optimiser time). Why not all per leaf: each group's
 * optimiser update is about a dozen ONNX nodes, and for a small leaf their
 * fixed cost is more than the copies (LMF, 14 leaves of 8 to 19,200).
 * Measured with bench:engine, see docs/engine.md. A leaf the loss does not
 * read (src/engine/readLeaves.ts) is in no group: not an input, not updated.
 *
 * Adam and AdamW run as applyFoldedAdam (optim.ts): its per-step scalars
 * (bias corrections folded with the learning rate) come from the host as
 * graph inputs, so the graph does no scalar arithmetic per step.
 *
 * Random draws (dropout, modality dropout) are graph inputs computed on the
 * host (src/engine/drawFeed.ts: a first trace records the loss's splits and
 * draws, drawReplay makes the same ones from the step key in jax-js): the
 * threefry stream lowered in the graph was most of a dropout model's nodes
 * (early fusion: 700 of 979) and 4-8% of its step time. With `drawsInGraph` the stream is lowered bit
 * for bit instead (lowerRandomBits in lower.ts; the structure test compares).
 *
 * Graph inputs: the state (params of every group, then each slot's), then the
 * per-step scalars (`hyperInputs`, float32 scalars, values from
 * `hyperValues(lr, t)`), `key` (uint32 [2], the jax-js PRNG key of the step;
 * read only with drawsInGraph), then every batch leaf (`batch.<path>`), then
 * the draws (`draw/<i>`, float32, in `drawOps` order). Outputs:
 * `next/<state input>` (one step's outputs are the next one's inputs) and
 * `metrics` (loss first, in `metricNames` order).
 */
import type { TensorBatch } from "../engine/step.ts";
import type { ParamLayout, ParamTree } from "../engine/params.ts";
import { applyFoldedAdam, applyUpdate, clipByGlobalNorm, decayedLeaves, foldedAdamScalars, optimizerSlots } from "../engine/optim.ts";
import { lossAndGradient, stackMetrics, type LossFn, type TrainStepOptions } from "../engine/step.ts";
import { leavesOf, rebuildLike, type HostBatch } from "../engine/hostBatch.ts";
import { leavesReadByLoss } from "../engine/readLeaves.ts";
import { concat, constant, zeros, type Tensor } from "../engine/tensor.ts";
import { lowerFixedShape, traceOnly, type FixedInput } from "./lower.ts";
import { drawShapes, FedRng, RecordingRng, type DrawOp } from "../engine/drawFeed.ts";
import { trainOpsetVersion } from "./onnxGraph.ts";

/** Leaves of at least this many elements get their own state tensors (see the header). */
export const ownStateFrom = 65536;

/**
 * Parameter leaves (layout entry indices) that share state tensors: one leaf, or the flat group of
 * small leaves. Leaves the loss does not read (`read`, src/engine/readLeaves.ts) are in no group:
 * the step neither takes nor updates them.
 */
export function stateGroups(layout: ParamLayout, threshold = ownStateFrom, read?: boolean[]): number[][] {
  const kept = (i: number) => !read || read[i] === true;
  const own = layout.entries.flatMap((e, i) => (e.size >= threshold && kept(i) ? [[i]] : []));
  const small = layout.entries.flatMap((e, i) => (e.size < threshold && kept(i) ? [i] : []));
  return small.length ? [...own, small] : own;
}

export type LoweredTrainStep = {
  bytes: Uint8Array;
  /** read[i]: whether the loss reads layout leaf i; unread leaves are in no group and keep their values */
  read: boolean[];
  /** state groups (stateGroups): the state inputs are every group's params, then every group's slot 0, ... */
  groups: number[][];
  /** state inputs, and their shapes, index for index */
  stateInputs: string[];
  stateShapes: number[][];
  /** the outputs that replace stateInputs, index for index */
  stateOutputs: string[];
  /** float32 scalar inputs set every step, in hyperValues order */
  hyperInputs: string[];
  hyperValues: (lr: number, t: number) => number[];
  /** batch leaves (key paths in a HostBatch, walked in key order) and their graph input names */
  batchPaths: string[][];
  batchInputs: string[];
  metricNames: string[];
  /** the loss's splits and draws, in call order (empty with drawsInGraph), and the draws' graph inputs */
  drawOps: DrawOp[];
  drawInputs: string[];
};

export function lowerTrainStep<P extends ParamTree = ParamTree, B = TensorBatch>(
  layout: ParamLayout<P>,
  lossFn: LossFn<P, B>,
  options: TrainStepOptions,
  exampleBatch: HostBatch,
  ownFrom = ownStateFrom,
  drawsInGraph = false,
): LoweredTrainStep {
  const S = optimizerSlots(options.optimizer);
  // SGD (rare here) keeps every leaf apart: its update reads the layout for weight decay
  const threshold = options.optimizer.kind === "sgd" ? 0 : ownFrom;
  const read = options.readLeaves ?? leavesReadByLoss(layout, lossFn, exampleBatch);
  const groups = stateGroups(layout, threshold, read);
  const G = groups.length;
  const entries = layout.entries;
  const groupName = (g: number[]) => (g.length === 1 && entries[g[0]!]!.size >= threshold ? entries[g[0]!]!.name : "*");
  const groupShape = (g: number[]) => (g.length === 1 && entries[g[0]!]!.size >= threshold ? entries[g[0]!]!.shape : [g.reduce((n, i) => n + entries[i]!.size, 0)]);
  const stateInputs = ["param", ...Array.from({ length: S }, (_, k) => `slot${k}`)].flatMap((part) => groups.map((g) => `${part}/${groupName(g)}`));
  const stateShapes = Array.from({ length: S + 1 }, () => groups.map(groupShape)).flat();
  const cfg = options.optimizer;
  const hyperInputs = cfg.kind === "sgd" ? ["lr"] : ["alpha", "epsHat", "keep"];
  const hyperValues = (lr: number, t: number): number[] => {
    if (cfg.kind === "sgd") return [lr];
    const s = foldedAdamScalars(cfg, lr, t);
    return [s.alpha, s.epsHat, s.keep];
  };
  const batchLeaves = leavesOf(exampleBatch);
  const batchInputs = batchLeaves.map(([path]) => `batch.${path.join(".")}`);
  const inputs: FixedInput[] = [
    ...stateInputs.map((name, i): FixedInput => ({ name, dtype: "float32", shape: stateShapes[i]! })),
    ...hyperInputs.map((name): FixedInput => ({ name, dtype: "float32", shape: [] })),
    { name: "key", dtype: "uint32", shape: [2] },
    ...batchLeaves.map(([, a], i): FixedInput => ({ name: batchInputs[i]!, dtype: "float32", shape: a.shape })),
  ];
  const drawOps = drawsInGraph ? [] : recordDraws(layout, lossFn, exampleBatch);
  const draws = drawShapes(drawOps);
  const drawInputs = draws.map((_, i) => `draw/${i}`);
  inputs.push(...draws.map((shape, i): FixedInput => ({ name: drawInputs[i]!, dtype: "float32", shape })));
  const stateOutputs = stateInputs.map((n) => `next/${n}`);
  const metricNames: string[] = [];
  const feed = { values: [] as Tensor[], next: 0 };
  const gradient = lossAndGradient(layout, lossFn, drawsInGraph ? undefined : (key) => new FedRng(key, feed));
  const decays = decayedLeaves(layout);
  // weight decay per group: the leaf's flag, or a 0/1 mask over the flat group
  const groupDecay = groups.map((g): boolean | Float32Array =>
    g.length === 1 && entries[g[0]!]!.size >= threshold ? decays[g[0]!]! : Float32Array.from(g.flatMap((i) => Array(entries[i]!.size).fill(decays[i] ? 1 : 0))),
  );
  const H = hyperInputs.length;
  const bytes = lowerFixedShape({
    graphName: "fusionkit_train_step",
    inputs,
    outputs: [...stateOutputs, "metrics"],
    opset: trainOpsetVersion,
    purpose: "this train step cannot run in ONNX Runtime",
    fn: (all: Tensor[]) => {
      const state = Array.from({ length: S + 1 }, (_, k) => all.slice(G * k, G * (k + 1)));
      const [params, ...slots] = state as [Tensor[], ...Tensor[][]];
      const hyper = all.slice(G * (S + 1), G * (S + 1) + H);
      const key = all[G * (S + 1) + H]!;
      const batchStart = G * (S + 1) + H + 1;
      const batch = rebuildLike(exampleBatch, all.slice(batchStart, batchStart + batchLeaves.length));
      feed.values = all.slice(batchStart + batchLeaves.length);
      // the model's leaves: a group's own tensor, or slices of the flat group; an unread leaf's value
      // reaches no output, so zeros stand in for it
      const leaves: Tensor[] = layout.entries.map((e, i) => (read[i] ? undefined! : zeros(e.shape)));
      groups.forEach((g, gi) => {
        if (!(g.length === 1 && entries[g[0]!]!.size >= threshold)) {
          let at = 0;
          for (const i of g) {
            leaves[i] = params[gi]!.slice(0, at, at + entries[i]!.size).reshape(entries[i]!.shape);
            at += entries[i]!.size;
          }
        } else leaves[g[0]!] = params[gi]!;
      });
      // the batch rebuilt in exampleBatch's structure: the loss function's own batch type
      const { grad, metrics } = gradient(leaves, key, batch as B);
      let g = groups.map((group) => (group.length === 1 && entries[group[0]!]!.size >= threshold ? grad[group[0]!]! : concat(group.map((i) => grad[i]!.reshape([-1])), 0)));
      if (options.clipNorm) {
        const clipped = clipByGlobalNorm(g, options.clipNorm);
        g = clipped.grad;
        metrics.gradNorm = clipped.norm;
      }
      let updated: { params: Tensor[]; slots: Tensor[][] };
      if (cfg.kind === "sgd") {
        // every read leaf is its own group (threshold 0 above), in layout order; t is unused by SGD
        updated = applyUpdate(cfg, layout, params, g, slots, hyper[0]!, hyper[0]!, groups.map((group) => group[0]!));
      } else {
        const decay = groupDecay.map((d, gi) => (d instanceof Float32Array ? constant(d, stateShapes[gi]!) : d));
        updated = applyFoldedAdam(cfg, decay, params, g, slots, { alpha: hyper[0]!, epsHat: hyper[1]!, keep: hyper[2]! });
      }
      return [...updated.params, ...updated.slots.flat(), stackMetrics(metrics, metricNames)];
    },
  });
  if (feed.next !== draws.length) throw new Error(`lowerTrainStep: the loss took ${feed.next} random draws while lowered, ${draws.length} while recorded`);
  return {
    bytes,
    read,
    groups,
    stateInputs,
    stateShapes,
    stateOutputs,
    hyperInputs,
    hyperValues,
    batchPaths: batchLeaves.map(([path]) => path),
    batchInputs,
    metricNames: [...metricNames],
    drawOps,
    drawInputs,
  };
}

/** The loss's splits and draws at `exampleBatch`'s shapes: one trace of loss and gradient (the lowering's own call pattern) with a RecordingRng. */
function recordDraws<P extends ParamTree, B>(layout: ParamLayout<P>, lossFn: LossFn<P, B>, exampleBatch: HostBatch): DrawOp[] {
  const ops: DrawOp[] = [];
  const gradient = lossAndGradient(layout, lossFn, (key) => RecordingRng.root(key, ops));
  const leaves = leavesOf(exampleBatch);
  const L = layout.entries.length;
  traceOnly(
    [
      ...layout.entries.map((e) => ({ dtype: "float32" as const, shape: e.shape })),
      { dtype: "uint32" as const, shape: [2] },
      ...leaves.map(([, a]) => ({ dtype: "float32" as const, shape: a.shape })),
    ],
    (all) => {
      const { grad, metrics } = gradient(all.slice(0, L), all[L]!, rebuildLike(exampleBatch, all.slice(L + 1)) as B);
      return [...grad, ...Object.values(metrics)];
    },
  );
  return ops;
}
