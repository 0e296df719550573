/**
 * The four bench:engine workloads (see bench/engine.ts), shared with the
 * ONNX Runtime profiler (bench/engine_profile.ts).
 */
import { HostRng } from "../src/engine/random.ts";
import { loadDataset } from "../src/data/load.ts";
import { OrtTrainStep, type OrtTrainStepOptions } from "../src/export/ortTrainStep.ts";
import { buildModel, type ModelBatch } from "../src/model/model.ts";
import { buildSpec } from "../src/model/spec.ts";
import { paddedBatch } from "../src/train/batching.ts";
import { stepOptions } from "../src/train/fit.ts";
import { attention, initAttention, initLinear, initMlp, linear, maskedMean, mlp } from "../src/engine/layers.ts";
import { flattenParams, type ParamTree } from "../src/engine/params.ts";
import type { HostBatch } from "../src/engine/step.ts";
import { softmaxCrossEntropy } from "../src/engine/losses.ts";
import { concat, ones, type Tensor } from "../src/engine/tensor.ts";
import { cnnImageEncoder } from "../src/encoders/imageCnn.ts";

export type Workload = { name: string; tree: ParamTree; loss: (p: any, b: any) => Tensor; batch: (B: number, rng: HostRng) => HostBatch };

const randn = (n: number, rng: HostRng) => Float32Array.from({ length: n }, () => rng.normal());
const labels = (B: number, rng: HostRng) => ({ data: Float32Array.from({ length: B }, () => rng.int(8)), shape: [B] });

export function workloads(rng: HostRng): Workload[] {
  const H = 64;
  const R = 4;
  const dims = [300, 74, 35];
  // the default bench's picture encoder on emoji's 32x32 RGB pictures, width 64, with a 9-class head
  const cnn = cnnImageEncoder({ name: "image", type: "image", shape: [32, 32, 3] }, H);
  return [
    {
      name: "mlp 512-512-512-10",
      tree: { mlp: initMlp(rng, [512, 512, 512, 10]) },
      loss: (p, b) => softmaxCrossEntropy(mlp(p.mlp, b.x), b.y),
      batch: (B, r) => ({ x: { data: randn(B * 512, r), shape: [B, 512] }, y: { ...labels(B, r), data: Float32Array.from({ length: B }, () => r.int(10)) } }),
    },
    {
      name: "lmf 300/74/35 r4",
      tree: {
        encoders: dims.map((d) => initLinear(rng, d, H)),
        factors: dims.map(() => initLinear(rng, H + 1, R * H)),
        head: initLinear(rng, H, 8),
      },
      loss: (p, b) => {
        let product: Tensor | undefined;
        dims.forEach((_, m) => {
          const h = linear(p.encoders[m], b[`x${m}`]).relu();
          const B = h.shape[0]!;
          const factor = linear(p.factors[m], concat([h, ones([B, 1])], -1)).reshape([B, R, H]);
          product = product ? product.mul(factor) : factor;
        });
        return softmaxCrossEntropy(linear(p.head, product!.sum(1)), b.y);
      },
      batch: (B, r) => ({
        x0: { data: randn(B * 300, r), shape: [B, 300] },
        x1: { data: randn(B * 74, r), shape: [B, 74] },
        x2: { data: randn(B * 35, r), shape: [B, 35] },
        y: labels(B, r),
      }),
    },
    {
      name: "cross-attention 20x384<-16x512",
      tree: { text: initLinear(rng, 384, H), image: initLinear(rng, 512, H), attention: initAttention(rng, H, H, H), head: initLinear(rng, H, 8) },
      loss: (p, b) => {
        const text = linear(p.text, b.text);
        const image = linear(p.image, b.image);
        const attended = text.add(attention(p.attention, text, image, { heads: 4 }).out);
        return softmaxCrossEntropy(linear(p.head, maskedMean(attended, ones(attended.shape.slice(0, 2)))), b.y);
      },
      batch: (B, r) => ({ text: { data: randn(B * 20 * 384, r), shape: [B, 20, 384] }, image: { data: randn(B * 16 * 512, r), shape: [B, 16, 512] }, y: labels(B, r) }),
    },
    {
      name: "cnn 32x32x3 (emoji picture encoder)",
      tree: { encoder: cnn.init(rng), head: initLinear(rng, H, 9) },
      loss: (p, b) => softmaxCrossEntropy(linear(p.head, cnn.apply(p.encoder, { input: b.x, present: b.present }).pooled), b.y),
      batch: (B, r) => ({
        x: { data: Float32Array.from({ length: B * 32 * 32 * 3 }, () => r.uniform()), shape: [B, 32, 32, 3] },
        present: { data: new Float32Array(B).fill(1), shape: [B] },
        y: { data: Float32Array.from({ length: B }, () => r.int(9)), shape: [B] },
      }),
    },
  ];
}

/** A train step to measure: how to open it (ORT, any options) and the batch of step i. */
export type OpenableStep = { name: string; open: (options: OrtTrainStepOptions) => Promise<OrtTrainStep>; batch: (i: number) => HostBatch };

/**
 * One bench:engine workload (name prefix: "mlp", "lmf", "cross", "cnn"), Adam, one fixed batch;
 * or with `method`, that method's step as the default bench trains it: emoji (4000 rows),
 * encoder width 64, AdamW with clipping at 1 (src/train/fit.ts stepOptions), real batches in order.
 */
export async function openableStep(which: { workload?: string; method?: string }, B: number): Promise<OpenableStep> {
  if (which.method) {
    const method = which.method;
    const dataset = await loadDataset("emoji", { maxRows: 4000 });
    const spec = buildSpec(dataset, { method, encoderDim: 64 });
    const model = buildModel(spec);
    const { layout, flat } = flattenParams(model.init(new HostRng(0)));
    const train = dataset.splits.train;
    const batchOf = (start: number) => paddedBatch(train, spec.modalities, spec.task, spec.outDim, Array.from({ length: B }, (_, r) => (start + r) % train.n), B);
    return {
      name: `${method} (emoji 4000 rows, width 64, ${layout.total} parameters)`,
      open: (o) => OrtTrainStep.create(layout, flat, (p, b: ModelBatch, key) => model.loss(p, b, key), stepOptions({ weightDecay: 0.01, clipNorm: 1 }), batchOf(0), o),
      batch: (i) => batchOf(i * B),
    };
  }
  const rng = new HostRng(0);
  const w = workloads(rng).find((x) => x.name.startsWith(which.workload ?? "mlp"));
  if (!w) throw new Error(`no workload starting with "${which.workload}"`);
  const { layout, flat } = flattenParams(w.tree);
  const batch = w.batch(B, rng);
  return {
    name: w.name,
    open: (o) => OrtTrainStep.create(layout, flat, (p, b) => ({ loss: w.loss(p, b) }), { optimizer: { kind: "adam" } }, batch, o),
    batch: () => batch,
  };
}
