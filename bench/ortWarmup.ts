/**
 * npm run bench:ort-warmup — how one fresh ONNX Runtime train-step session
 * behaves over its first steps: the median step time over steps 0-10, 10-50,
 * 50-100 and 100-300 of one bench:engine workload at batch 32, alone in the
 * process (no jax-js steps in between), for each intra-op thread count given.
 * Written for issue 12's open question: bench:engine's ORT figures are slower
 * than the same steps measured alone, and fresh sessions start slow.
 * `--spinning` lets idle intra-op threads spin (ortTrainStep.ts; off by default).
 * `--method NAME` measures that method's step as the default bench trains it (see bench/engineWorkloads.ts openableStep).
 * `--draws host,graph` compares random draws fed from the host (the default) with the
 * random stream lowered into the graph (src/export/lowerStep.ts).
 * Usage: npm run bench:ort-warmup -- [--workloads lmf,mlp,cross | --method early] [--draws host,graph] [--threads 1,2] [--batch 32] [--steps 300] [--rounds 1] [--spinning]
 */
import os from "node:os";
import { parseArgs } from "node:util";
import { startEngine } from "../src/engine/backend.ts";
import { openableStep } from "./engineWorkloads.ts";

const { values } = parseArgs({
  options: {
    workloads: { type: "string", default: "lmf,mlp,cross" },
    method: { type: "string" },
    threads: { type: "string", default: "1,2" },
    steps: { type: "string", default: "300" },
    batch: { type: "string", default: "32" },
    spinning: { type: "boolean", default: false },
    rounds: { type: "string", default: "1" },
    draws: { type: "string", default: "host" },
  },
});
await startEngine();
const steps = Number(values.steps);
const median = (a: number[]) => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)]!;
const segments: [number, number][] = [[0, 10], [10, 50], [50, 100], [100, steps]];
const B = Number(values.batch);
console.log(`bench:ort-warmup ${new Date().toISOString()}, batch ${B}${values.spinning ? ", spinning threads" : ""}, load average ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}, median ms per step over each range of steps`);
console.log(`| workload | threads | random draws | ${segments.map(([a, b]) => `steps ${a}-${b}`).join(" | ")} | CPU ms per step from step 50 (mean) |\n|---|--:|---|${segments.map(() => "--:").join("|")}|--:|`);
// rounds alternate the thread counts in one process (A/B blocks), so load drifts hit both
for (let round = 0; round < Number(values.rounds); round++) for (const prefix of values.method ? [values.method] : values.workloads.split(",")) {
  for (const threads of values.threads.split(",").map(Number)) for (const draws of values.draws.split(",")) {
    const w = await openableStep(values.method ? { method: values.method } : { workload: prefix }, B);
    if (draws !== "host" && draws !== "graph") throw new Error(`--draws takes host and/or graph, got ${draws}`);
    const step = await w.open({ threads, spinning: values.spinning, drawsInGraph: draws === "graph" });
    const times: number[] = [];
    let cpuFrom50 = 0;
    for (let i = 0; i < steps; i++) {
      const batch = w.batch(i);
      const started = performance.now();
      const cpu = process.cpuUsage();
      await step.step(batch, 1e-3, i);
      times.push(performance.now() - started);
      if (i >= 50) {
        const c = process.cpuUsage(cpu);
        cpuFrom50 += (c.user + c.system) / 1000;
      }
    }
    await step.dispose();
    console.log(`| ${w.name} | ${threads} | ${draws === "host" ? "fed from the host" : "in the graph"} | ${segments.map(([a, b]) => median(times.slice(a, b)).toFixed(2)).join(" | ")} | ${(cpuFrom50 / Math.max(1, steps - 50)).toFixed(2)} |`);
  }
}
