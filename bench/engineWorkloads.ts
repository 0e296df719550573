/**
 * The three bench:engine workloads (see bench/engine.ts), shared with the
 * ONNX Runtime profiler (bench/engine_profile.ts).
 */
import type { HostRng } from "../src/engine/random.ts";
import { attention, initAttention, initLinear, initMlp, linear, maskedMean, mlp } from "../src/engine/layers.ts";
import type { ParamTree } from "../src/engine/params.ts";
import type { HostBatch } from "../src/engine/step.ts";
import { softmaxCrossEntropy } from "../src/engine/losses.ts";
import { concat, ones, type Tensor } from "../src/engine/tensor.ts";

export type Workload = { name: string; tree: ParamTree; loss: (p: any, b: any) => Tensor; batch: (B: number, rng: HostRng) => HostBatch };

const randn = (n: number, rng: HostRng) => Float32Array.from({ length: n }, () => rng.normal());
const labels = (B: number, rng: HostRng) => ({ data: Float32Array.from({ length: B }, () => rng.int(8)), shape: [B] });

export function workloads(rng: HostRng): Workload[] {
  const H = 64;
  const R = 4;
  const dims = [300, 74, 35];
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
  ];
}
