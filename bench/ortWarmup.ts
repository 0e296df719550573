/**
 * npm run bench:ort-warmup — how one fresh ONNX Runtime train-step session
 * behaves over its first steps: the median step time over steps 0-10, 10-50,
 * 50-100 and 100-300 of one bench:engine workload at batch 32, alone in the
 * process (no jax-js steps in between), for each intra-op thread count given.
 * Written for issue 12's open question: bench:engine's ORT figures are slower
 * than the same steps measured alone, and fresh sessions start slow.
 * Usage: npm run bench:ort-warmup -- [--workloads lmf,mlp,cross] [--threads 1,2] [--steps 300]
 */
import { parseArgs } from "node:util";
import { startEngine } from "../src/engine/backend.ts";
import { flattenParams } from "../src/engine/params.ts";
import { HostRng } from "../src/engine/random.ts";
import { OrtTrainStep } from "../src/export/ortTrainStep.ts";
import { workloads } from "./engineWorkloads.ts";

const { values } = parseArgs({
  options: {
    workloads: { type: "string", default: "lmf,mlp,cross" },
    threads: { type: "string", default: "1,2" },
    steps: { type: "string", default: "300" },
  },
});
await startEngine();
const steps = Number(values.steps);
const median = (a: number[]) => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)]!;
const segments: [number, number][] = [[0, 10], [10, 50], [50, 100], [100, steps]];
console.log(`bench:ort-warmup ${new Date().toISOString()}, batch 32, median ms per step over each range of steps`);
console.log(`| workload | threads | ${segments.map(([a, b]) => `steps ${a}-${b}`).join(" | ")} |\n|---|--:|${segments.map(() => "--:").join("|")}|`);
for (const prefix of values.workloads.split(",")) {
  for (const threads of values.threads.split(",").map(Number)) {
    const rng = new HostRng(0);
    const w = workloads(rng).find((x) => x.name.startsWith(prefix));
    if (!w) throw new Error(`no workload starting with "${prefix}"`);
    const { layout, flat } = flattenParams(w.tree);
    const batch = w.batch(32, rng);
    const step = await OrtTrainStep.create(layout, flat, (p, b) => ({ loss: w.loss(p, b) }), { optimizer: { kind: "adam" } }, batch, { threads });
    const times: number[] = [];
    for (let i = 0; i < steps; i++) {
      const started = performance.now();
      await step.step(batch, 1e-3, i);
      times.push(performance.now() - started);
    }
    await step.dispose();
    console.log(`| ${w.name} | ${threads} | ${segments.map(([a, b]) => median(times.slice(a, b)).toFixed(2)).join(" | ")} |`);
  }
}
