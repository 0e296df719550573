/**
 * npm run bench:engine — median train-step time of four workloads at batch
 * 32 and 256, each step a compiled (params, optimiser state, batch, key) ->
 * (params', state', metrics) function with Adam, parameters fed back every step
 * and the metrics read, so nothing is skipped by lazy evaluation:
 *  (a) MLP 512-512-512-10
 *  (b) low-rank fusion (LMF): inputs 300/74/35 -> 64 each, rank 4, 8 classes
 *  (c) cross-attention: text 20x384 attends to image 16x512, hidden 64, pooled, 8 classes
 *  (d) the default bench's picture encoder (src/encoders/imageCnn.ts) on 32x32x3 inputs, width 64,
 *      9-class head: conv 5x5 3->16, ReLU, max-pool, conv 3x3 16->32, ReLU, max-pool, 64 position
 *      tokens, ReLU(W flatten), the step that dominates the default bench's picture models
 * Each is run on ONNX Runtime (the step lowered to one graph, src/export/ortTrainStep.ts,
 * intra-op threads by defaultTrainThreads unless --threads), on jax-js (the reference), and on PyTorch
 * (bench/engine_torch.py, configured as issue 12 asks: OpenBLAS with its
 * CORETYPE/L2_SIZE overrides unset, glibc malloc thresholds, 2 threads), in
 * alternating rounds in one sitting; the BLAS kernel PyTorch loaded is printed.
 * Before the first round every ORT and jax-js step runs `--warmup` untimed steps:
 * on this 2-core machine the first 20-40 ORT steps of a new session ran 5-30x
 * slower than the rest (measured under load), so a median over 2 rounds of 30
 * steps was mostly warm-up. Also printed: the CPU time per step (user + system
 * of the process, less sensitive to other jobs than wall time), the time to
 * lower the step and open its session, and the process's peak RSS.
 * Usage: npm run bench:engine [-- --steps 30 --batches 32,256 --rounds 3 --warmup 40 --threads N --no-torch]
 */
import os from "node:os";
import { execFileSync } from "node:child_process";
import { OrtTrainStep } from "../src/export/ortTrainStep.ts";
import { startEngine } from "../src/engine/backend.ts";
import { HostRng } from "../src/engine/random.ts";
import { flattenParams } from "../src/engine/params.ts";
import { TrainStep, type HostBatch } from "../src/engine/step.ts";
import type { Tensor } from "../src/engine/tensor.ts";
import { workloads } from "./engineWorkloads.ts";

const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1]! : dflt;
};
const steps = Number(opt("steps", "30"));
const batches = opt("batches", "32,256").split(",").map(Number);
const rounds = Number(opt("rounds", "3"));
const warmup = Number(opt("warmup", "40"));
const withTorch = !args.includes("--no-torch");
/** ONNX Runtime intra-op threads (default: src/export/ortTrainStep.ts defaultTrainThreads) */
const ortThreads = Number(opt("threads", "0"));

await startEngine();
console.log(`fusionkit bench:engine — ${os.cpus()[0]?.model ?? "cpu"} x${os.cpus().length}, Node ${process.version}, ${new Date().toISOString()}, load average ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}`);

/** One PyTorch round (a fresh process, as configured in the header): medians by "workload batch", and its header lines. */
function torchRound(): { medians: Map<string, number>; header: string[] } {
  const env: NodeJS.ProcessEnv = { ...process.env, MALLOC_MMAP_THRESHOLD_: "67108864", MALLOC_TRIM_THRESHOLD_: "134217728" };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  const out = execFileSync("/usr/bin/python3", [new URL("./engine_torch.py", import.meta.url).pathname, "--steps", String(steps), "--batches", batches.join(",")], { env, encoding: "utf8" });
  const medians = new Map<string, number>();
  for (const line of out.split("\n")) {
    const m = /^RESULT (\S+) (\d+) ([\d.]+)$/.exec(line);
    if (m) medians.set(`${m[1]} ${m[2]}`, Number(m[3]));
  }
  return { medians, header: out.split("\n").filter((l) => l.startsWith("PyTorch") || l.startsWith("BLAS")) };
}

const torchKey = ["mlp", "lmf", "cross-attention", "cnn"];
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const rng = new HostRng(0);
type Cell = { name: string; B: number; ort: number[]; jax: number[]; torch: number[]; ortCpu: number[]; jaxCpu: number[]; openMs: number };
const cells: Cell[] = [];
const runs: { cell: Cell; ort: OrtTrainStep; jax: TrainStep; batch: HostBatch }[] = [];
for (const [wi, w] of workloads(rng).entries()) {
  for (const B of batches) {
    const { layout, flat } = flattenParams(w.tree);
    const loss = (p: any, b: any) => ({ loss: w.loss(p, b) });
    const batch = w.batch(B, rng);
    const t0 = performance.now();
    const ort = await OrtTrainStep.create(layout, flat, loss, { optimizer: { kind: "adam" } }, batch, ortThreads ? { threads: ortThreads } : {});
    const cell: Cell = { name: `${w.name}|${torchKey[wi]} ${B}`, B, ort: [], jax: [], torch: [], ortCpu: [], jaxCpu: [], openMs: performance.now() - t0 };
    cells.push(cell);
    const jax = new TrainStep(layout, flat, loss, { optimizer: { kind: "adam" } });
    for (let i = 0; i < warmup; i++) {
      await ort.step(batch, 1e-3, i);
      jax.step(batch, 1e-3, i);
    }
    runs.push({ cell, ort, jax, batch });
  }
}
let torchHeader: string[] = [];
for (let round = 0; round < rounds; round++) {
  for (const r of runs) {
    for (const [engine, times, cpu] of [["ort", r.cell.ort, r.cell.ortCpu], ["jax", r.cell.jax, r.cell.jaxCpu]] as const) {
      for (let i = 0; i < steps + 3; i++) {
        const t0 = performance.now();
        const c0 = process.cpuUsage();
        const m = engine === "ort" ? await r.ort.step(r.batch, 1e-3, i) : r.jax.step(r.batch, 1e-3, i);
        const c = process.cpuUsage(c0);
        if (i >= 3) {
          times.push(performance.now() - t0);
          cpu.push((c.user + c.system) / 1000);
        }
        if (!Number.isFinite(m.loss!)) throw new Error(`${r.cell.name}: loss is not finite on ${engine}`);
      }
    }
  }
  if (withTorch) {
    const t = torchRound();
    torchHeader = t.header;
    for (const c of cells) {
      const v = t.medians.get(c.name.split("|")[1]!);
      if (v !== undefined) c.torch.push(v);
    }
  }
}
// JS work per ORT step beyond ONNX Runtime's own: the same call path on a one-node graph
{
  const probeLayout = flattenParams({ w: { data: new Float32Array(4), shape: [4] } });
  const probe = await OrtTrainStep.create(probeLayout.layout, probeLayout.flat, (p) => ({ loss: (p as { w: Tensor }).w.sum() }), { optimizer: { kind: "sgd" } }, { x: { data: new Float32Array(1), shape: [1] } });
  const times: number[] = [];
  for (let i = 0; i < 200; i++) {
    const t0 = performance.now();
    await probe.step({ x: { data: new Float32Array(1), shape: [1] } }, 1e-3, i);
    times.push(performance.now() - t0);
  }
  await probe.dispose();
  console.log(`ORT step call overhead (a 4-parameter step, feeds, run, metrics read): median ${(median(times) * 1000).toFixed(0)} µs`);
}
for (const r of runs) {
  r.jax.dispose();
  await r.ort.dispose();
}
if (torchHeader.length) console.log(torchHeader.join("\n"));
console.log(`medians over ${rounds} alternating rounds of ${steps} steps (PyTorch: median of its per-round medians)`);
console.log("| workload | batch | fusionkit-ORT ms | fusionkit-jax ms | PyTorch ms | ORT / PyTorch | jax / ORT |");
console.log("|---|--:|--:|--:|--:|--:|--:|");
for (const c of cells) {
  const o = median(c.ort);
  const j = median(c.jax);
  const t = c.torch.length ? median(c.torch) : NaN;
  console.log(`| ${c.name.split("|")[0]} | ${c.B} | ${o.toFixed(2)} | ${j.toFixed(2)} | ${Number.isNaN(t) ? "-" : t.toFixed(2)} | ${Number.isNaN(t) ? "-" : (o / t).toFixed(2)}x | ${(j / o).toFixed(1)}x |`);
}
console.log(`\nCPU time per step (process user + system, median ms; ORT ${ortThreads ? `${ortThreads} intra-op threads` : "intra-op threads by defaultTrainThreads: 1, or one per core from 2^26 parameters x rows"}), and lowering + session open:`);
console.log("| workload | batch | ORT cpu | jax-js cpu | jax / ORT cpu | ORT lower + open s |");
console.log("|---|--:|--:|--:|--:|--:|");
for (const c of cells) {
  console.log(`| ${c.name.split("|")[0]} | ${c.B} | ${median(c.ortCpu).toFixed(2)} | ${median(c.jaxCpu).toFixed(2)} | ${(median(c.jaxCpu) / median(c.ortCpu)).toFixed(1)}x | ${(c.openMs / 1000).toFixed(2)} |`);
}
console.log(`peak RSS of this process: ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB; load average at the end: ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}`);

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
