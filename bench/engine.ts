/**
 * npm run bench:engine — median train-step time of three workloads at batch
 * 32 and 256, each step a compiled (params, optimiser state, batch, key) ->
 * (params', state', metrics) function with Adam, parameters fed back every step
 * and the metrics read, so nothing is skipped by lazy evaluation:
 *  (a) MLP 512-512-512-10
 *  (b) low-rank fusion (LMF): inputs 300/74/35 -> 64 each, rank 4, 8 classes
 *  (c) cross-attention: text 20x384 attends to image 16x512, hidden 64, pooled, 8 classes
 * Usage: npm run bench:engine [-- --steps 30 --batches 32,256]
 */
import os from "node:os";
import { startEngine } from "../src/engine/backend.ts";
import { HostRng } from "../src/engine/random.ts";
import { attention, initAttention, initLinear, initMlp, linear, maskedMean, mlp } from "../src/engine/layers.ts";
import { flattenParams, type ParamTree } from "../src/engine/params.ts";
import { TrainStep, type HostBatch } from "../src/engine/step.ts";
import { softmaxCrossEntropy } from "../src/engine/losses.ts";
import { concat, ones, type Tensor } from "../src/engine/tensor.ts";

const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1]! : dflt;
};
const steps = Number(opt("steps", "30"));
const batches = opt("batches", "32,256").split(",").map(Number);

type Workload = { name: string; tree: ParamTree; loss: (p: any, b: any) => Tensor; batch: (B: number, rng: HostRng) => HostBatch };

const randn = (n: number, rng: HostRng) => Float32Array.from({ length: n }, () => rng.normal());
const labels = (B: number, rng: HostRng) => ({ data: Float32Array.from({ length: B }, () => rng.int(8)), shape: [B] });

function workloads(rng: HostRng): Workload[] {
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

await startEngine();
console.log(`fusionkit bench:engine — ${os.cpus()[0]?.model ?? "cpu"} x${os.cpus().length}, Node ${process.version}, ${new Date().toISOString()}`);
console.log("| workload | batch | median train step (ms) | p10 | p90 |");
console.log("|---|---|---|---|---|");
const rng = new HostRng(0);
for (const w of workloads(rng)) {
  for (const B of batches) {
    const { layout, flat } = flattenParams(w.tree);
    const step = new TrainStep(layout, flat, (p, b) => ({ loss: w.loss(p, b) }), { optimizer: { kind: "adam" } });
    const batch = w.batch(B, rng);
    for (let i = 0; i < 3; i++) step.step(batch, 1e-3, i);
    const times: number[] = [];
    for (let i = 0; i < steps; i++) {
      const t0 = performance.now();
      const m = step.step(batch, 1e-3, 100 + i);
      times.push(performance.now() - t0);
      if (!Number.isFinite(m.loss!)) throw new Error(`${w.name}: loss is not finite`);
    }
    step.dispose();
    times.sort((a, b) => a - b);
    const q = (f: number) => times[Math.min(times.length - 1, Math.floor(f * times.length))]!.toFixed(2);
    console.log(`| ${w.name} | ${B} | ${q(0.5)} | ${q(0.1)} | ${q(0.9)} |`);
  }
}

// Why parameters cross the jit boundary as leaves and not as one flat vector:
// a flat vector must be split into leaves and the update concatenated back,
// and in jax-js 0.1.25 concatenate (the transpose of split) is a sum of padded copies.
{
  const { numpy: np, jit } = await import("@jax-js/jax");
  const sizes = [19200, 64, 4736, 64, 2240, 64, 16640, 256, 16640, 256, 16640, 256, 512, 8]; // the LMF workload's leaves
  const total = sizes.reduce((a, b) => a + b);
  const cuts: number[] = [];
  sizes.slice(0, -1).reduce((at, s) => (cuts.push(at + s), at + s), 0);
  const time = (f: (s: any) => [any, any], state: any) => {
    let s = state;
    const times: number[] = [];
    for (let i = 0; i < 60; i++) {
      const t0 = performance.now();
      const [next, probe] = f(s);
      probe.dataSync();
      times.push(performance.now() - t0);
      s = next;
    }
    return times.sort((a, b) => a - b)[30]!.toFixed(3);
  };
  const leaves = jit((ls: any[]) => {
    const probe = ls[13].ref.sum();
    return [ls.map((l) => l.mul(0.99)), probe];
  });
  const flat = jit((f: any) => {
    const parts = np.split(f, cuts);
    const probe = parts[13]!.ref.sum();
    return [np.concatenate(parts.map((p) => p.mul(0.99))), probe];
  });
  console.log(`\nparameter layout probe (${sizes.length} leaves, ${total} parameters, one elementwise update, median ms):`);
  console.log(`  leaves: ${time(leaves as any, sizes.map((s) => np.zeros([s])))}   flat vector split+concatenate: ${time(flat as any, np.zeros([total]))}`);
}
