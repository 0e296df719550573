/**
 * The exported web page in headless Chromium (Debian's package, driven by
 * playwright-core like test/report/render.test.ts), served from loopback:
 * a person's image and text go in, and the page's prediction, class
 * probabilities and exact modality Shapley values (read from the DOM) match
 * `fusionkit predict --explain` on the same raw rows. Everything the page
 * loads comes from its own origin.
 *
 * Tolerances: a picture already at the model's size is prepared identically
 * by both paths, so what remains is onnxruntime-web vs jax-js float32 (< 1e-4
 * here). A 64 px emoji is resized by the page's Lanczos-3 instead of sharp's
 * (test/web/image.test.ts: a few levels on edge pixels); the probabilities
 * and Shapley values still agree within 3e-3 (measured: a few 1e-5 with the
 * patch image encoder, docs/browser.md; up to 1.05e-3 with the CNN image
 * encoder, whose max pooling passes edge-pixel differences on unattenuated).
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { chromium, type Browser, type Page } from "playwright-core";
import { runPredict } from "../../src/cli/actions/predict.ts";
import { parseJsonLines } from "../../src/data/rows.ts";
import { serveStatic, type StaticServer } from "../../src/export/web/staticServer.ts";
import { encodeRowsForModel } from "../../src/model/prepareRows.ts";
import { loadModel } from "../../src/train/persistence.ts";
import { emojiPageFixture, type PageFixture, type PageRow } from "./fixture.ts";

const chromiumPath = "/usr/bin/chromium";
const skip = existsSync(chromiumPath) ? false : `${chromiumPath} is missing: install Debian's chromium package to run the browser page test`;
const launchArgs = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

/** onnxruntime-web vs jax-js on identical inputs */
const exactTolerance = 1e-4;
/** the page's resize vs sharp's on 64 px emoji (docs/browser.md; the header says why not 1e-3) */
const resizeTolerance = 3e-3;

type CliLine = { id: string; prediction: string; probabilities: Record<string, number>; explain: { attribution: Record<string, number>; empty: number; full: number; views: unknown[] } };
type DomResult = { prediction: string; probabilities: Record<string, number>; phi: Record<string, number>; empty: number; full: number; text: number[]; image: number[]; views: unknown[]; shownViews: string[] };

/** The numbers of a view tree in a fixed order, and its non-numeric skeleton (keys, kinds, labels). */
function flatten(value: unknown, numbers: number[] = []): { numbers: number[]; shape: string } {
  const shape = JSON.stringify(value, (_key, v) => {
    if (typeof v === "number") {
      numbers.push(v);
      return 0;
    }
    return v;
  });
  return { numbers, shape };
}

describe("the web page in headless Chromium", { skip }, () => {
  let fixture: PageFixture;
  let server: StaticServer;
  let browser: Browser;
  let cli: Map<string, CliLine>;
  // one page for all tests: starting onnxruntime-web compiles a 14 MB wasm module, seconds on a busy machine
  let page: Page;
  const requests: string[] = [];
  const errors: string[] = [];

  before(async () => {
    fixture = await emojiPageFixture();
    server = await serveStatic(fixture.siteDir);
    browser = await chromium.launch({ executablePath: chromiumPath, args: launchArgs });
    const rowsPath = join(fixture.work, "rows.jsonl");
    writeFileSync(rowsPath, [...fixture.rows, fixture.exactRow].map((r) => JSON.stringify(r)).join("\n") + "\n");
    const outPath = join(fixture.work, "predictions.jsonl");
    await runPredict({ model: fixture.modelDir, rows: rowsPath, out: outPath, explain: true });
    cli = new Map(readFileSync(outPath, "utf8").trim().split("\n").map((line) => JSON.parse(line) as CliLine).map((line) => [line.id, line]));
    page = await browser.newPage();
    page.on("request", (request) => requests.push(request.url()));
    page.on("console", (message) => message.type() === "error" && errors.push(message.text()));
    page.on("pageerror", (error) => errors.push(error.message));
    const started = Date.now();
    await page.goto(server.url);
    await page.evaluate(() => window.fusionkitPage.ready);
    console.log(`page ready in ${Date.now() - started} ms`);
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  async function predictIn(row: { image?: string; text: string }): Promise<DomResult> {
    const runs = Number((await page.getAttribute("#result", "data-runs")) ?? "0");
    if (row.image) await page.setInputFiles('input[type=file][data-modality="image"]', row.image);
    else await page.click("button.clear");
    await page.fill('textarea[data-modality="text"]', row.text);
    await page.click("#predict");
    await page.waitForSelector(`#result[data-runs="${runs + 1}"]`);
    // a string, not a function: tsx would compile a function with helpers the page does not have
    return page.evaluate(`(() => {
      const numbers = (selector, key, value) =>
        Object.fromEntries([...document.querySelectorAll(selector)].map((el) => [el.getAttribute(key), Number(el.getAttribute(value))]));
      const attribution = document.getElementById("attribution");
      const inputs = window.fusionkitPage.last.row.inputs;
      return {
        prediction: document.getElementById("prediction").getAttribute("data-prediction"),
        probabilities: numbers("#probabilities [data-class]", "data-class", "data-probability"),
        phi: numbers("#attribution [data-phi]", "data-modality", "data-phi"),
        empty: Number(attribution.getAttribute("data-empty")),
        full: Number(attribution.getAttribute("data-full")),
        text: Array.from(inputs.text),
        image: Array.from(inputs.image),
        views: window.fusionkitPage.last.views,
        shownViews: [...document.querySelectorAll("#views [data-view-key]")].map((el) => el.getAttribute("data-view-key")),
      };
    })()`) as Promise<DomResult>;
  }

  function compare(dom: DomResult, line: CliLine, tolerance: number, label: string): number {
    assert.equal(dom.prediction, line.prediction, `${label}: top class`);
    let worst = 0;
    for (const [name, p] of Object.entries(line.probabilities)) worst = Math.max(worst, Math.abs(dom.probabilities[name]! - p));
    for (const [name, phi] of Object.entries(line.explain.attribution)) worst = Math.max(worst, Math.abs(dom.phi[name]! - phi));
    worst = Math.max(worst, Math.abs(dom.empty - line.explain.empty), Math.abs(dom.full - line.explain.full));
    // the method's own views (GMU: modality weights and per-unit gates), by the same code as fusionkit explain
    const page = flatten(dom.views);
    const cliViews = flatten(line.explain.views);
    assert.equal(page.shape, cliViews.shape, `${label}: views`);
    page.numbers.forEach((v, k) => (worst = Math.max(worst, Math.abs(v - cliViews.numbers[k]!))));
    assert.ok(worst <= tolerance, `${label}: largest difference from fusionkit predict --explain ${worst.toExponential(2)} > ${tolerance}`);
    // efficiency, in the page's own numbers
    const sum = Object.values(dom.phi).reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(sum - (dom.full - dom.empty)) < 1e-6, `${label}: phi sums to ${sum}, v(all) - v(none) = ${dom.full - dom.empty}`);
    return worst;
  }

  test("image + text typed into the page: prediction, probabilities and Shapley values match fusionkit predict --explain", async () => {
    const model = loadModel(fixture.modelDir);
    const rows = [fixture.exactRow, ...fixture.rows];
    const expectedInputs = await encodeRowsForModel(
      rows.map((r, i) => ({ file: "rows", line: i + 1, index: i, values: r, textual: false })),
      model.spec.modalities,
      model.config.modalityConfigs,
      fixture.work,
    );
    const report: string[] = [];
    for (const [i, row] of rows.entries()) {
      const dom = await predictIn(row);
      // the tokeniser and vocabulary are the training pipeline's: identical ids
      assert.deepEqual(dom.text, Array.from(expectedInputs.inputs.text!.subarray(i * 16, (i + 1) * 16)), `${row.id}: token ids`);
      const pixels = expectedInputs.inputs.image!.subarray(i * 32 * 32 * 3, (i + 1) * 32 * 32 * 3);
      const pixelDiff = Math.max(...dom.image.map((v, k) => Math.abs(v - pixels[k]!)));
      const worst = compare(dom, cli.get(row.id)!, row === fixture.exactRow ? exactTolerance : resizeTolerance, row.id);
      if (row === fixture.exactRow) assert.equal(pixelDiff, 0, "a 32 px picture is taken as it is");
      assert.deepEqual(dom.shownViews.sort(), ["gates", "weights"]);
      report.push(`${row.id}: ${dom.prediction}, max |pixel diff| ${(pixelDiff * 255).toFixed(0)}/255, max |prob/phi/view diff| ${worst.toExponential(1)}`);
    }
    console.log(`page vs fusionkit predict --explain:\n  ${report.join("\n  ")}`);
    assert.deepEqual(errors, []);
  });

  test("a modality left empty is missing: its Shapley value is exactly 0, as in fusionkit predict", async () => {
    const row: PageRow = { ...fixture.rows[0]!, id: "no-image" };
    const dom = await predictIn({ text: row.text });
    assert.equal(dom.phi.image, 0);
    assert.ok(dom.image.every((v) => v === 0));
    const rowsPath = join(fixture.work, "no-image.jsonl");
    writeFileSync(rowsPath, JSON.stringify({ id: row.id, image: null, text: row.text }) + "\n");
    const outPath = join(fixture.work, "no-image.out.jsonl");
    await runPredict({ model: fixture.modelDir, rows: rowsPath, out: outPath, explain: true });
    const { rows } = parseJsonLines(readFileSync(outPath, "utf8"), outPath);
    compare(dom, rows[0]!.values as unknown as CliLine, exactTolerance, row.id);
  });

  test("the page makes no request outside its origin, loads only its own files, and every control is labelled and keyboard-reachable", async () => {
    await predictIn(fixture.rows[0]!);
    const origin = new URL(server.url).origin;
    assert.deepEqual(requests.filter((url) => new URL(url).origin !== origin), []);
    const files = new Set(fixture.summary.files.map((f) => f.path));
    // blob: URLs are the previews of the files a person picked, made in the page (their origin is the page's)
    for (const url of requests.filter((u) => !u.startsWith("blob:"))) {
      const path = new URL(url).pathname.slice(1);
      assert.ok(path === "" || files.has(path), `requested ${path}, which the export did not write`);
    }
    assert.deepEqual(errors, []);
    const unlabelled = await page.$$eval("input, textarea, select", (elements) =>
      elements.filter((el) => (el as HTMLInputElement).labels?.length === 0).map((el) => el.outerHTML),
    );
    assert.deepEqual(unlabelled, []);
    // the drop zone is a focusable button: Enter and Space open the file picker (a click on the file input)
    await page.evaluate(`window.pickerOpened = 0; document.querySelector('input[type=file][data-modality="image"]').addEventListener("click", () => window.pickerOpened++)`);
    await page.focus(".drop");
    await page.keyboard.press("Enter");
    await page.keyboard.press(" ");
    assert.equal(await page.evaluate("window.pickerOpened"), 2);
  });
});
