/**
 * tsx bench/page.ts — the browser page of an emoji model (`fusionkit page`):
 * its size, its load time and its per-prediction latency in headless
 * Chromium, and the screenshots in docs/.
 *
 *  1. Trains GMU on the emoji dataset (--rows generated rows, --epochs), saves
 *     it and writes its page; prints each part's size, raw and gzipped (what a
 *     static host with compression sends).
 *  2. Serves the folder on 127.0.0.1 and opens it --loads times, each in a
 *     fresh browser context: the time from navigation to "model ready"
 *     (index.html, the modules, model.json and model.onnx fetched, the 14 MB
 *     onnxruntime wasm compiled, the session created).
 *  3. Predicts --predictions test rows (never seen in training) by picking the
 *     image and typing the text like a person: the page's own time for one
 *     prediction (prepare the row, run the 2^M coalition batch, Shapley,
 *     render) and the wall time from the click to the rendered result; the
 *     first prediction after loading is reported apart.
 *  4. --screenshots DIR: full-page screenshots of a prediction with image and
 *     text, and of the same row with the image missing (browser-page.png for
 *     GMU, browser-page-<method>.png for another --method).
 *
 * Usage: tsx bench/page.ts [--rows 1200] [--epochs 6] [--method gmu] [--loads 5] [--predictions 20] [--screenshots docs]
 */
import os from "node:os";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { chromium } from "playwright-core";
import { buildEmojiDataset } from "../src/data/builtin/emoji.ts";
import { loadDataset } from "../src/data/load.ts";
import { startEngine } from "../src/engine/backend.ts";
import { buildWebPage } from "../src/export/web/build.ts";
import { serveStatic } from "../src/export/web/staticServer.ts";
import { datasetModalityConfigs } from "../src/model/prepareRows.ts";
import { saveModel } from "../src/train/persistence.ts";
import { trainModel } from "../src/train/trainer.ts";
import { tempDir } from "./fixtures/datasetFiles.ts";

const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1]! : dflt;
};
const rowsWanted = Number(opt("rows", "1200"));
const epochs = Number(opt("epochs", "6"));
const method = opt("method", "gmu");
const loads = Number(opt("loads", "5"));
const predictions = Number(opt("predictions", "20"));
const screenshots = opt("screenshots", "");
const launchArgs = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;

await startEngine();
const work = tempDir("fusionkit-bench-page-");
const dataset = await loadDataset("emoji", { maxRows: rowsWanted });
let started = Date.now();
const trained = await trainModel(dataset, { method, epochs, seed: 0 });
console.log(`trained ${method} on ${dataset.splits.train.n} emoji rows, ${epochs} epochs, in ${((Date.now() - started) / 1000).toFixed(1)} s`);
const modelDir = join(work, "model");
saveModel(modelDir, trained, dataset, { modalityConfigs: datasetModalityConfigs("emoji") ?? [] });
started = Date.now();
const summary = await buildWebPage(modelDir, join(work, "site"));
console.log(`page written in ${((Date.now() - started) / 1000).toFixed(1)} s (lowering, verification against jax-js, files)`);

const parts: [string, (path: string) => boolean][] = [
  ["index.html + page modules", (p) => p === "index.html" || (p.startsWith("app/") && !p.startsWith("app/vendor/"))],
  ["audio decoder (loaded only for audio)", (p) => p.startsWith("app/vendor/") || p.endsWith("client/audio.js") || p.endsWith("data/logMel.js")],
  ["model.onnx + model.json", (p) => p.startsWith("model.")],
  ["onnxruntime-web (js + wasm)", (p) => p.startsWith("ort/")],
];
console.log(`\n| part | files | size | gzipped |\n|---|--:|--:|--:|`);
let total = 0;
let totalGzip = 0;
for (const [name, test] of parts) {
  const files = summary.files.filter((f) => test(f.path));
  const bytes = files.reduce((s, f) => s + f.bytes, 0);
  const gz = files.reduce((s, f) => s + gzipSync(readFileSync(join(summary.dir, f.path))).length, 0);
  total += bytes;
  totalGzip += gz;
  console.log(`| ${name} | ${files.length} | ${kib(bytes)} | ${kib(gz)} |`);
}
console.log(`| total | ${summary.files.length} | ${kib(total)} | ${kib(totalGzip)} |`);

const server = await serveStatic(summary.dir);
const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: launchArgs });
const browserVersion = browser.version();
const testIds = new Set(dataset.splits.test.ids);
const seen = new Set<unknown>();
const rows = buildEmojiDataset({})
  .rows.filter((r) => testIds.has(r.id as string) && typeof r.text === "string" && r.language === "en" && !seen.has(r.emoji) && seen.add(r.emoji))
  .map((r) => ({ id: r.id as string, image: r.image as string, text: r.text as string, category: r.category as string, name: r.name as string }));

const loadTimes: number[] = [];
const pageLoadTimes: number[] = [];
const first: number[] = [];
const inPage: number[] = [];
const wall: number[] = [];
let correct = 0;
let predicted = 0;
for (let load = 0; load < loads; load++) {
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
  const page = await context.newPage();
  const t0 = performance.now();
  await page.goto(server.url);
  await page.evaluate(() => window.fusionkitPage.ready);
  loadTimes.push(performance.now() - t0);
  pageLoadTimes.push((await page.evaluate(() => window.fusionkitPage.loadMs)) as number);
  const count = load === 0 ? predictions : 1;
  for (let k = 0; k < count; k++) {
    const row = rows[k % rows.length]!;
    const runs = Number((await page.getAttribute("#result", "data-runs")) ?? "0");
    await page.setInputFiles('input[type=file][data-modality="image"]', row.image);
    await page.fill('textarea[data-modality="text"]', row.text);
    const t1 = performance.now();
    await page.click("#predict");
    await page.waitForSelector(`#result[data-runs="${runs + 1}"]`);
    const elapsed = performance.now() - t1;
    const ms = (await page.evaluate(() => window.fusionkitPage.last!.ms)) as number;
    if (k === 0) first.push(ms);
    else {
      inPage.push(ms);
      wall.push(elapsed);
    }
    if (load === 0) {
      predicted++;
      if ((await page.getAttribute("#prediction", "data-prediction")) === row.category) correct++;
    }
  }
  if (load === 0 && screenshots) {
    const row = rows.find((r) => r.category === "Animals & Nature") ?? rows[0]!;
    await page.setInputFiles('input[type=file][data-modality="image"]', row.image);
    await page.fill('textarea[data-modality="text"]', row.text);
    const suffix = method === "gmu" ? "" : `-${method.replace(/[^A-Za-z0-9_]/g, "_")}`;
    for (const [file, clearImage] of [[`browser-page${suffix}.png`, false], [`browser-page${suffix}-missing-image.png`, true]] as const) {
      if (clearImage) await page.click('.modality[data-modality="image"] button.clear');
      const runs = Number((await page.getAttribute("#result", "data-runs")) ?? "0");
      await page.click("#predict");
      await page.waitForSelector(`#result[data-runs="${runs + 1}"]`);
      await page.screenshot({ path: join(screenshots, file), fullPage: true });
      console.log(`screenshot ${join(screenshots, file)}: ${row.name} (${row.category}), "${row.text}"${clearImage ? ", image missing" : ""}`);
    }
  }
  await context.close();
}
await browser.close();
await server.close();

const cpu = os.cpus()[0]?.model ?? "unknown CPU";
console.log(`\n${new Date().toISOString().slice(0, 10)}, ${os.cpus().length} x ${cpu}, Node ${process.versions.node}, Chromium ${browserVersion} headless, load average ${os.loadavg().map((l) => l.toFixed(1)).join(" ")}`);
console.log(`load (navigation -> model ready), median of ${loads} fresh contexts: ${median(loadTimes).toFixed(0)} ms (page's own count from its script start: ${median(pageLoadTimes).toFixed(0)} ms)`);
console.log(`first prediction after load, median of ${first.length}: ${median(first).toFixed(1)} ms`);
console.log(`prediction + exact Shapley (2^2 = 4 coalitions in one batch), median of ${inPage.length}: ${median(inPage).toFixed(1)} ms in the page, ${median(wall).toFixed(1)} ms click -> rendered`);
console.log(`top class right on ${correct}/${predicted} test emoji shown`);
