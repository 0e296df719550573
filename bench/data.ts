/**
 * Data-layer benchmark: how long the default dataset takes to prepare.
 *   cold = empty cache directory (decode every image, tokenise, fit, encode, write the cache)
 *   warm = cache present (generate rows, stat files, hash, read the cache)
 * Run: tsx bench/data.ts [--dataset emoji] [--cold-runs 1] [--warm-runs 5]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { defaultDatasetName } from "../src/data/builtin/index.ts";
import { loadDataset } from "../src/data/load.ts";
import type { PreparedDataset } from "../src/data/types.ts";

const { values } = parseArgs({
  options: {
    dataset: { type: "string", default: defaultDatasetName },
    "cold-runs": { type: "string", default: "1" },
    "warm-runs": { type: "string", default: "5" },
  },
});
const dataset = values.dataset;
const coldRuns = Number(values["cold-runs"]);
const warmRuns = Number(values["warm-runs"]);

async function timed(cacheDir: string): Promise<{ ms: number; ds: PreparedDataset }> {
  const start = performance.now();
  const ds = await loadDataset(dataset, { cacheDir });
  return { ms: performance.now() - start, ds };
}

function median(numbers: number[]): number {
  const sorted = [...numbers].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

// Timings on a shared machine swing with its load; print it so a slow figure can be read in context.
const loadBefore = loadavg()[0];
const cold: number[] = [];
const warm: number[] = [];
let prepared: PreparedDataset | undefined;
for (let run = 0; run < coldRuns; run++) {
  const cacheDir = mkdtempSync(join(tmpdir(), "fusionkit-bench-"));
  try {
    const result = await timed(cacheDir);
    cold.push(result.ms);
    prepared = result.ds;
    // Warm runs reuse the last cold run's cache.
    if (run === coldRuns - 1) for (let w = 0; w < warmRuns; w++) warm.push((await timed(cacheDir)).ms);
  } finally {
    rmSync(cacheDir, { recursive: true, force: true });
  }
}

const ds = prepared!;
const rows = (["train", "val", "test"] as const).map((name) => `${name} ${ds.splits[name].n}`).join(", ");
console.log(`dataset ${ds.name}: ${rows}; modalities ${ds.modalities.map((m) => `${m.name} [${m.shape.join("x")}]${m.vocabSize ? ` vocab ${m.vocabSize}` : ""}`).join(", ")}`);
console.log(`machine: ${cpus().length} x ${cpus()[0]?.model ?? "cpu"}, node ${process.version}, 1-min load average ${loadBefore.toFixed(1)} before, ${loadavg()[0].toFixed(1)} after`);
console.log(`cold prepare: ${cold.map((ms) => (ms / 1000).toFixed(2)).join(", ")} s (median ${(median(cold) / 1000).toFixed(2)} s over ${cold.length})`);
console.log(`warm prepare: median ${(median(warm) / 1000).toFixed(3)} s over ${warm.length} (min ${(Math.min(...warm) / 1000).toFixed(3)}, max ${(Math.max(...warm) / 1000).toFixed(3)})`);
