/** Models and datasets for the explain tests: trained on synthetic data, or built by hand with known symmetry. */
import type { ModalitySpec, PreparedDataset } from "../../src/data/types.ts";
import { layoutOf, type ParamTree } from "../../src/engine/params.ts";
import { HostRng } from "../../src/engine/random.ts";
import type { HostArray } from "../../src/engine/tensor.ts";
import type { ExplainableModel } from "../../src/explain/rows.ts";
import { earlyFusion } from "../../src/fusion/earlyFusion.ts";
import type { FusionMethod } from "../../src/fusion/types.ts";
import { buildModel } from "../../src/model/model.ts";
import { makeDataset } from "../../bench/fixtures/synthetic.ts";

/**
 * Vector modalities A, B (and C when `withC`), `dims` each, standard normal;
 * label = 1 when A0 > 0. Only A carries information about the label.
 */
export function onlyADataset(opts: { seed: number; dims?: number; withC?: boolean; missingB?: number; train?: number }): PreparedDataset {
  const d = opts.dims ?? 4;
  const modalities: ModalitySpec[] = [
    { name: "A", type: "vector", shape: [d] },
    { name: "B", type: "vector", shape: [d] },
    ...(opts.withC ? [{ name: "C", type: "vector", shape: [d] } as ModalitySpec] : []),
  ];
  return makeDataset({
    name: "onlyA",
    labelNames: ["negative", "positive"],
    modalities,
    sizes: { train: opts.train ?? 512, val: 128, test: 128 },
    seed: opts.seed,
    row: (rng) => {
      const vec = () => Array.from({ length: d }, () => rng.normal());
      const inputs: Record<string, number[]> = { A: vec(), B: vec() };
      if (opts.withC) inputs.C = vec();
      const present = opts.missingB && rng.uniform() < opts.missingB ? { B: 0 } : undefined;
      return { inputs, ...(present ? { present } : {}), label: inputs.A![0]! > 0 ? 1 : 0 };
    },
  });
}

function copyInto(target: HostArray, source: HostArray): void {
  target.data.set(source.data);
}

function copyTree(target: any, source: any): void {
  if (target.data instanceof Float32Array) return copyInto(target, source);
  for (const key of Object.keys(target)) copyTree(target[key], source[key]);
}

/**
 * Early fusion over two vector modalities made exactly interchangeable: B's
 * encoder and projection are copies of A's, and the joint MLP's first layer
 * reads B's block and presence flag with A's weights. Swapping A and B (inputs
 * and presence) leaves the output unchanged, so Shapley symmetry must hold.
 */
export function mirroredEarlyFusion(d: number, seed: number): ExplainableModel {
  const modalities: ModalitySpec[] = [
    { name: "A", type: "vector", shape: [d] },
    { name: "B", type: "vector", shape: [d] },
  ];
  const config = { projectDim: 8, hidden: [16], dropout: 0 };
  const model = buildModel({
    modalities,
    task: "classification",
    outDim: 3,
    method: earlyFusion as unknown as FusionMethod,
    methodConfig: config,
    encoderDim: 8,
    dropout: 0,
  });
  const params = model.init(new HostRng(seed)) as any;
  copyTree(params.encoders.B, params.encoders.A);
  copyTree(params.fusion.projections[1], params.fusion.projections[0]);
  // joint[0].w rows: [u_A (p rows); u_B (p rows); s_A; s_B]
  const w = params.fusion.joint[0].w as HostArray;
  const p = config.projectDim;
  const width = w.shape[1]!;
  w.data.copyWithin(p * width, 0, p * width);
  w.data.copyWithin((2 * p + 1) * width, 2 * p * width, (2 * p + 1) * width);
  return { model, layout: layoutOf(params), params, labelNames: ["x", "y", "z"], options: { seed: 0, epochs: 0, batchSize: 16, lr: 0, weightDecay: 0, patience: 0 } };
}
