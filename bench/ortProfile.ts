/**
 * npm run bench:ort-profile — where an ONNX Runtime train step spends its
 * time, per op type and per node: one bench:engine workload (bench/engineWorkloads.ts)
 * lowered to one graph (src/export/ortTrainStep.ts) with ONNX Runtime's
 * profiler on, `--warmup` untimed steps, then `--steps` profiled ones; the
 * kernel times of the profiled steps are summed by op type and divided by
 * the step count. "run" is the wall time of the profiled steps (model_run
 * events); what the kernels do not cover is ORT's own scheduling and copies.
 * `--method NAME` profiles that method's train step as the default bench
 * trains it instead (emoji, 4000 rows, encoder width 64, AdamW, clipping at 1).
 * `--draws graph` lowers the random stream into the graph instead of feeding the draws (lowerStep.ts).
 * Usage: npm run bench:ort-profile -- [--workload mlp | --method early] [--draws host|graph] [--batch 32] [--threads 1] [--warmup 100] [--steps 100] [--top 15]
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { startEngine } from "../src/engine/backend.ts";
import { openableStep } from "./engineWorkloads.ts";

const { values } = parseArgs({
  options: {
    workload: { type: "string", default: "mlp" },
    batch: { type: "string", default: "32" },
    threads: { type: "string", default: "1" },
    warmup: { type: "string", default: "100" },
    steps: { type: "string", default: "100" },
    top: { type: "string", default: "15" },
    method: { type: "string" },
    draws: { type: "string", default: "host" },
  },
});
await startEngine();
const B = Number(values.batch);
const warmup = Number(values.warmup);
const steps = Number(values.steps);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fusionkit-ort-profile-"));
if (values.draws !== "host" && values.draws !== "graph") throw new Error(`--draws is host or graph, got ${values.draws}`);
const drawsInGraph = values.draws === "graph";
const runOptions = { threads: Number(values.threads), profilePrefix: path.join(dir, "step"), drawsInGraph };
const w = await openableStep({ workload: values.workload, ...(values.method ? { method: values.method } : {}) }, B);
const name = w.name;
const nextBatch = w.batch;
const step = await w.open(runOptions);
/** the same step in a session without the profiler (its overhead per node is not small) */
const plain = await w.open({ threads: runOptions.threads, drawsInGraph });
const plainTimes: number[] = [];
for (let i = 0; i < warmup + steps; i++) {
  await step.step(nextBatch(i), 1e-3, i);
  const batch = nextBatch(i);
  const started = performance.now();
  await plain.step(batch, 1e-3, i);
  if (i >= warmup) plainTimes.push(performance.now() - started);
}
await plain.dispose();
step.endProfiling();
await step.dispose();
const file = fs.readdirSync(dir).map((f) => path.join(dir, f)).find((f) => f.endsWith(".json"));
if (!file) throw new Error(`ONNX Runtime wrote no profile into ${dir}`);
type Event = { cat: string; name: string; ts: number; dur: number; args?: { op_name?: string; output_type_shape?: unknown } };
const events = JSON.parse(fs.readFileSync(file, "utf8")) as Event[];
fs.rmSync(dir, { recursive: true });
const runs = events.filter((e) => e.cat === "Session" && e.name === "model_run").sort((a, b) => a.ts - b.ts);
const from = runs[warmup]!.ts;
const profiled = runs.slice(warmup);
const nodes = events.filter((e) => e.cat === "Node" && e.ts >= from && e.name.endsWith("_kernel_time"));
const byOp = new Map<string, { us: number; count: number }>();
const byNode = new Map<string, { op: string; us: number; shape: string }>();
for (const e of nodes) {
  const op = e.args?.op_name ?? "?";
  const o = byOp.get(op) ?? { us: 0, count: 0 };
  o.us += e.dur;
  o.count += 1;
  byOp.set(op, o);
  const name = e.name.replace(/_kernel_time$/, "");
  const n = byNode.get(name) ?? { op, us: 0, shape: JSON.stringify(e.args?.output_type_shape ?? "") };
  n.us += e.dur;
  byNode.set(name, n);
}
const runUs = profiled.reduce((s, e) => s + e.dur, 0) / profiled.length;
const kernelUs = nodes.reduce((s, e) => s + e.dur, 0) / profiled.length;
console.log(`bench:ort-profile ${new Date().toISOString()}, ${name}, batch ${B}, ${values.threads} intra-op thread(s), random draws ${drawsInGraph ? "in the graph" : "fed from the host"}, ${byNode.size} nodes, steps ${warmup}-${warmup + steps}, load average ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}`);
const plainMedian = [...plainTimes].sort((a, b) => a - b)[Math.floor(plainTimes.length / 2)]!;
console.log(`per step: run ${(runUs / 1000).toFixed(3)} ms, kernels ${(kernelUs / 1000).toFixed(3)} ms (profiled, mean); without the profiler (the same steps, interleaved): median ${plainMedian.toFixed(3)} ms`);
console.log("| op type | nodes | ms per step | share of kernels |\n|---|--:|--:|--:|");
for (const [op, o] of [...byOp].sort((a, b) => b[1].us - a[1].us)) {
  console.log(`| ${op} | ${o.count / profiled.length} | ${(o.us / profiled.length / 1000).toFixed(3)} | ${((100 * o.us) / profiled.length / kernelUs).toFixed(1)}% |`);
}
console.log(`\ntop ${values.top} nodes:\n| node | op | ms per step | output |\n|---|---|--:|---|`);
for (const [name, n] of [...byNode].sort((a, b) => b[1].us - a[1].us).slice(0, Number(values.top))) {
  console.log(`| ${name} | ${n.op} | ${(n.us / profiled.length / 1000).toFixed(3)} | ${n.shape.slice(0, 80)} |`);
}
