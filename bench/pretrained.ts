/**
 * Embedding-pass throughput of the pretrained-encoder path (transformers.js +
 * onnxruntime-node), on the tiny generated models of test/pretrained (random
 * weights; no pretrained model ships with any npm package). Rows per second
 * of the frozen encoder for each batch size and onnxruntime thread count
 * (FUSIONKIT_ENCODER_THREADS), and of reading the same rows back from the
 * embedding cache. The median of --repeats passes; the session is loaded
 * before timing.
 *
 * Run: npm run bench:pretrained [-- --rows 512 --repeats 3 --batches 1,16,64 --threads 1,2]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import sharp from "sharp";
import { normaliseEncoder } from "../src/data/pretrained/config.ts";
import { contentKey, EmbeddingCache } from "../src/data/pretrained/embeddingCache.ts";
import { resolveEncoder, type ResolvedEncoder } from "../src/data/pretrained/resolve.ts";
import type { EncoderInput } from "../src/data/pretrained/runner.ts";
import { openTransformersEncoder } from "../src/data/pretrained/transformersEncoder.ts";
import { writeTinyImageModel, writeTinyTextModel } from "./fixtures/tinyModels.ts";

const { values } = parseArgs({
  options: {
    rows: { type: "string", default: "512" },
    repeats: { type: "string", default: "3" },
    batches: { type: "string", default: "1,16,64" },
    threads: { type: "string", default: "1,2" },
  },
});
const rows = Number(values.rows);
const repeats = Number(values.repeats);
const batchSizes = values.batches.split(",").map(Number);
const threadCounts = values.threads.split(",").map(Number);

function median(numbers: number[]): number {
  const sorted = [...numbers].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

const root = mkdtempSync(join(tmpdir(), "fusionkit-bench-pretrained-"));
const words = "the a red blue green small large fruit sky ocean dog cat runs sleeps over under quick brown fox jumps lazy bright dark cold warm".split(" ");

const models = [
  { name: "text-tiny (BERT-style, 1 layer, hidden 32, 32 tokens)", kind: "text" as const, dir: writeTinyTextModel(join(root, "text-tiny"), { words, hidden: 32, heads: 2 }).dir, maxTokens: 32 },
  { name: "text-small (BERT-style, 1 layer, hidden 256, 32 tokens)", kind: "text" as const, dir: writeTinyTextModel(join(root, "text-small"), { words, hidden: 256, heads: 4 }).dir, maxTokens: 32 },
  { name: "image-tiny (ViT-style, 1 layer, hidden 32, 32 px, patch 8)", kind: "image" as const, dir: writeTinyImageModel(join(root, "image-tiny"), { hidden: 32, imageSize: 32, patch: 8 }).dir, maxTokens: 0 },
  { name: "image-small (ViT-style, 1 layer, hidden 256, 64 px, patch 16)", kind: "image" as const, dir: writeTinyImageModel(join(root, "image-small"), { hidden: 256, heads: 4, imageSize: 64, patch: 16 }).dir, maxTokens: 0 },
];

// inputs: sentences of 6-20 words; 48x40 PNGs of varied colour
let state = 7;
const random = () => ((state = (state * 1103515245 + 12345) % 2147483648) / 2147483648);
const texts = Array.from({ length: rows }, (_, i) => Array.from({ length: 6 + (i % 15) }, () => words[Math.floor(random() * words.length)]).join(" "));
const images = await Promise.all(
  Array.from({ length: rows }, (_, i) =>
    sharp({ create: { width: 48, height: 40, channels: 3, background: { r: (i * 37) % 256, g: (i * 91) % 256, b: (i * 53) % 256 } } })
      .png()
      .toBuffer(),
  ),
);
const inputs = (kind: "text" | "image"): EncoderInput[] =>
  kind === "text"
    ? texts.map((text, i) => ({ key: contentKey("text", text), text, display: `row ${i}` }))
    : images.map((bytes, i) => ({ key: contentKey("image", bytes), bytes, display: `row ${i}` }));

const loadBefore = loadavg()[0]!;
console.log(`pretrained-encoder embedding pass, ${rows} rows, median of ${repeats}; ${cpus().length} x ${cpus()[0]?.model.trim()}, Node ${process.version}, load ${loadBefore.toFixed(2)}`);
console.log("| model | threads | batch | rows/s | ms/row |");
console.log("|---|--:|--:|--:|--:|");
const cacheRates: string[] = [];
for (const model of models) {
  const resolved: ResolvedEncoder = await resolveEncoder(normaliseEncoder({ model: model.dir, ...(model.maxTokens ? { maxTokens: model.maxTokens } : {}) }), model.kind);
  const batch = inputs(model.kind);
  for (const threads of threadCounts) {
    process.env.FUSIONKIT_ENCODER_THREADS = String(threads);
    const runner = await openTransformersEncoder(resolved);
    await runner.embed(batch.slice(0, 4)); // warm-up: first-run allocations
    for (const size of batchSizes) {
      const times: number[] = [];
      for (let r = 0; r < repeats; r++) {
        const start = performance.now();
        for (let i = 0; i < batch.length; i += size) await runner.embed(batch.slice(i, i + size));
        times.push(performance.now() - start);
      }
      const ms = median(times);
      console.log(`| ${model.name} | ${threads} | ${size} | ${Math.round((rows / ms) * 1000)} | ${(ms / rows).toFixed(3)} |`);
    }
    await runner.close();
  }
  // the cache path: the rows written once, then read back (what a second bench on the same data does)
  const cache = new EmbeddingCache(resolved.identity, join(root, "cache"));
  const runner = await openTransformersEncoder(resolved);
  const { rows: embedded, shape } = await runner.embed(batch);
  await runner.close();
  embedded.forEach((values, i) => cache.put(batch[i]!.key, values, shape));
  const reads: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const start = performance.now();
    for (const input of batch) if (!cache.get(input.key, shape[0]!)) throw new Error("cache miss in the benchmark");
    reads.push(performance.now() - start);
  }
  cacheRates.push(`${model.name}: ${Math.round((rows / median(reads)) * 1000)} rows/s from the embedding cache (${shape[0]} floats per row)`);
}
delete process.env.FUSIONKIT_ENCODER_THREADS;
for (const line of cacheRates) console.log(line);
console.log(`load average ${loadBefore.toFixed(2)} before, ${loadavg()[0]!.toFixed(2)} after`);
rmSync(root, { recursive: true, force: true });
