/**
 * Predictions over a split on ONNX Runtime, for the trainer's validation after
 * every epoch: the model's eval-mode apply lowered once, at one fixed batch
 * size, with the parameters as one flat graph input, so each epoch's new
 * parameters cost no lowering and no copy (the flat vector is fed as it is).
 *
 * Why: validation on the jax-js Predictor was 13-20% of a default bench job's
 * wall time after the train steps moved to ONNX Runtime, and the bench's test
 * evaluation (each modality missing, noise levels) another 5-8%
 * (FUSIONKIT_PHASE_TIMES, docs/benchmarks.md). Same outputs as Predictor,
 * perturbations included (test/export/ortPredictor.test.ts); no explain
 * outputs (attention maps, gates): the bench's Shapley passes run here, the
 * sample rows' views come from the jax-js Predictor (src/explain/report.ts).
 */
import os from "node:os";
import { isMainThread } from "node:worker_threads";
import * as ort from "onnxruntime-node";
import { sessionConfig } from "./sessionOptions.ts";
import type { SplitData } from "../data/types.ts";
import { fillSkeleton, type ParamLayout, type Params } from "../engine/params.ts";
import type { Tensor } from "../engine/tensor.ts";
import type { Model, ModelBatch, ModelParams } from "../model/model.ts";
import { chunks, paddedBatch, type ModelHostBatch } from "../train/batching.ts";
import { checkOptions, perturb, toScores, type PredictOptions, type Predictions } from "../train/predict.ts";
import { HostRng } from "../engine/random.ts";
import { lowerFixedShape, type FixedInput } from "./lower.ts";
import { leavesOf, rebuildLike } from "../engine/hostBatch.ts";
import { trainOpsetVersion } from "./onnxGraph.ts";

export class OrtPredictor {
  private params: ort.Tensor;

  private constructor(
    private readonly model: Model,
    private readonly layout: ParamLayout,
    private session: ort.InferenceSession | undefined,
    private readonly batchInputs: string[],
    readonly batchSize: number,
  ) {
    this.params = new ort.Tensor("float32", new Float32Array(layout.total), [layout.total]);
  }

  /** Lowers `model`'s eval apply at `batchSize` rows (batches shaped like `split`'s) and opens the session. Throws UnsupportedPrimitive (lower.ts). */
  static async create(model: Model, layout: ParamLayout<ModelParams>, flat: Float32Array, split: SplitData, batchSize: number, threads?: number): Promise<OrtPredictor> {
    const { spec } = model;
    const example = paddedBatch(split, spec.modalities, spec.task, spec.outDim, [0], batchSize);
    const leaves = leavesOf(example);
    const batchInputs = leaves.map(([path]) => `batch.${path.join(".")}`);
    const inputs: FixedInput[] = [
      { name: "params", dtype: "float32", shape: [layout.total] },
      ...leaves.map(([, a], i): FixedInput => ({ name: batchInputs[i]!, dtype: "float32", shape: a.shape })),
    ];
    const bytes = lowerFixedShape({
      graphName: "fusionkit_predict",
      inputs,
      outputs: ["logits"],
      opset: trainOpsetVersion,
      purpose: "this model's predictions cannot run in ONNX Runtime",
      fn: (all: Tensor[]) => {
        const flatParams = all[0]!;
        const tree = fillSkeleton<Params<ModelParams>>(
          layout.skeleton,
          layout.entries.map((e) => flatParams.slice(0, e.offset, e.offset + e.size).reshape(e.shape)),
        );
        const batch = rebuildLike(example, all.slice(1)) as ModelBatch;
        return [model.apply(tree, batch, { train: false }).logits];
      },
    });
    const session = await ort.InferenceSession.create(bytes, {
      executionProviders: ["cpu"],
      graphOptimizationLevel: "all",
      intraOpNumThreads: threads ?? (isMainThread ? os.availableParallelism() : 1),
      interOpNumThreads: 1,
      executionMode: "sequential",
      logSeverityLevel: 3,
      extra: sessionConfig(),
    });
    const predictor = new OrtPredictor(model, layout, session, batchInputs, batchSize);
    predictor.setParams(flat);
    return predictor;
  }

  /** The parameters the next predictions use (fed as they are: the caller must not change the array meanwhile). */
  setParams(flat: Float32Array): void {
    if (flat.length !== this.layout.total) throw new Error(`OrtPredictor: ${flat.length} parameters given, layout has ${this.layout.total}`);
    this.params = new ort.Tensor("float32", flat, [flat.length]);
  }

  /** Logits and scores of every row of `split`, as Predictor.predict (explanations aside). */
  async predict(split: SplitData, opts: PredictOptions = {}): Promise<Predictions> {
    if (!this.session) throw new Error("OrtPredictor: predict() after dispose()");
    const { spec } = this.model;
    checkOptions(spec.modalities, opts);
    const noiseRng = opts.noise ? new HostRng(opts.noise.seed ?? 0) : undefined;
    const outDim = spec.outDim;
    const logits = new Float32Array(split.n * outDim);
    let at = 0;
    let reused: ModelHostBatch | undefined;
    for (const rows of chunks(Array.from({ length: split.n }, (_, i) => i), this.batchSize)) {
      const feeds: Record<string, ort.Tensor> = { params: this.params };
      // the session is done with the last batch: its arrays are refilled (batching.ts paddedBatch)
      const batch = paddedBatch(split, spec.modalities, spec.task, outDim, rows, this.batchSize, reused);
      reused = batch;
      perturb(batch, spec.modalities, opts, rows.length, noiseRng);
      leavesOf(batch).forEach(([, a], i) => {
        feeds[this.batchInputs[i]!] = new ort.Tensor("float32", a.data, a.shape);
      });
      const out = (await this.session.run(feeds)).logits!;
      logits.set((out.data as Float32Array).subarray(0, rows.length * outDim), at * outDim);
      out.dispose();
      at += rows.length;
    }
    return { logits, probs: toScores(this.model, logits) };
  }

  async dispose(): Promise<void> {
    const session = this.session;
    this.session = undefined;
    await session?.release();
  }
}
