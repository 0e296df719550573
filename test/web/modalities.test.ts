/**
 * Every modality type through the page: a model on vector, tabular, text,
 * image and audio rows (the serve tests' fixture, some modalities missing)
 * gets the same prediction, probabilities and Shapley values in headless
 * Chromium as from `fusionkit predict --explain`: the numbers typed into the
 * tabular fields, the category picked, the vector as JSON, the WAV file
 * decoded and turned into log-mel frames by the training code in the page.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { chromium, type Browser, type Page } from "playwright-core";
import { runPredict } from "../../src/cli/actions/predict.ts";
import { buildWebPage } from "../../src/export/web/build.ts";
import { serveStatic, type StaticServer } from "../../src/export/web/staticServer.ts";
import { servedModelFixture, type ServedFixture } from "../../bench/fixtures/servedModel.ts";
import { tempDir } from "../../bench/fixtures/datasetFiles.ts";

const chromiumPath = "/usr/bin/chromium";
const skip = existsSync(chromiumPath) ? false : `${chromiumPath} is missing: install Debian's chromium package to run the browser page test`;
const launchArgs = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

type Line = { id: string; prediction: string; probabilities: Record<string, number>; explain: { attribution: Record<string, number>; empty: number; full: number } };

describe("all modality types in the page", { skip }, () => {
  let fixture: ServedFixture;
  let server: StaticServer;
  let browser: Browser;
  let page: Page;
  const errors: string[] = [];

  before(async () => {
    fixture = await servedModelFixture();
    const site = join(tempDir("fusionkit-web-all-"), "site");
    await buildWebPage(fixture.modelDir, site);
    server = await serveStatic(site);
    browser = await chromium.launch({ executablePath: chromiumPath, args: launchArgs });
    page = await browser.newPage();
    page.on("console", (message) => message.type() === "error" && errors.push(message.text()));
    page.on("pageerror", (error) => errors.push(error.message));
    await page.goto(server.url);
    await page.evaluate(() => window.fusionkitPage.ready);
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  async function enter(row: Record<string, unknown>): Promise<void> {
    const text = (selector: string, value: unknown) => page.fill(selector, value === null || value === undefined ? "" : typeof value === "string" ? value : JSON.stringify(value));
    await text('textarea[data-modality="embedding"]', row.v);
    await text('input[data-column="age"]', row.age === null ? null : String(row.age));
    await page.selectOption('select[data-column="city"]', (row.city as string | null) ?? "");
    await text('textarea[data-modality="caption"]', row.caption);
    for (const [modality, field] of [["photo", "photo"], ["clip", "clip"]] as const) {
      const value = row[field] as string | null;
      if (value) await page.setInputFiles(`input[type=file][data-modality="${modality}"]`, join(fixture.modelDir, value));
      else await page.click(`.modality[data-modality="${modality}"] button.clear`);
    }
  }

  test("vector, tabular, text, image and audio rows: the page agrees with fusionkit predict --explain within 1e-4", async () => {
    const rows = fixture.rows.filter((r) => r.split === "test").slice(0, 5);
    const rowsPath = join(fixture.dataDir, "page-rows.jsonl");
    writeFileSync(rowsPath, rows.map((r) => JSON.stringify(r)).join("\n") + "\n");
    const outPath = join(fixture.dataDir, "page-predictions.jsonl");
    await runPredict({ model: fixture.modelDir, rows: rowsPath, out: outPath, explain: true, baseDir: fixture.modelDir });
    const expected = readFileSync(outPath, "utf8").trim().split("\n").map((l) => JSON.parse(l) as Line);
    const missingSeen = new Set<string>();
    for (const [i, row] of rows.entries()) {
      await enter(row);
      const runs = Number((await page.getAttribute("#result", "data-runs")) ?? "0");
      await page.click("#predict");
      await page.waitForSelector(`#result[data-runs="${runs + 1}"]`);
      const dom = (await page.evaluate(`(() => {
        const read = (selector, key, value) => Object.fromEntries([...document.querySelectorAll(selector)].map((el) => [el.getAttribute(key), Number(el.getAttribute(value))]));
        return {
          prediction: document.getElementById("prediction").getAttribute("data-prediction"),
          probabilities: read("#probabilities [data-class]", "data-class", "data-probability"),
          phi: read("#attribution [data-phi]", "data-modality", "data-phi"),
          empty: Number(document.getElementById("attribution").getAttribute("data-empty")),
          missing: window.fusionkitPage.last.result.missing,
        };
      })()`)) as { prediction: string; probabilities: Record<string, number>; phi: Record<string, number>; empty: number; missing: string[] };
      const line = expected[i]!;
      assert.equal(dom.prediction, line.prediction, `${row.id}: prediction`);
      for (const [name, p] of Object.entries(line.probabilities)) assert.ok(Math.abs(dom.probabilities[name]! - p) < 1e-4, `${row.id}: p(${name}) ${dom.probabilities[name]} vs ${p}`);
      for (const [name, phi] of Object.entries(line.explain.attribution)) assert.ok(Math.abs(dom.phi[name]! - phi) < 1e-4, `${row.id}: phi(${name}) ${dom.phi[name]} vs ${phi}`);
      assert.ok(Math.abs(dom.empty - line.explain.empty) < 1e-4);
      for (const m of dom.missing) {
        missingSeen.add(m);
        assert.equal(dom.phi[m], 0);
      }
    }
    // the rows cover missing modalities too, not only complete rows
    assert.ok(missingSeen.size >= 2, `missing modalities seen: ${[...missingSeen].join(", ")}`);
    assert.deepEqual(errors, []);
  });

  test("a cell the model cannot take is reported next to its field, naming the problem", async () => {
    await enter({ ...fixture.rows[40]!, v: [1, 2] });
    await page.click("#predict");
    await page.waitForFunction(`document.querySelector('.modality[data-modality="embedding"] .problem').textContent !== ""`);
    const message = await page.textContent('.modality[data-modality="embedding"] .problem');
    assert.match(message!, /vector has length 2, the model takes 3 numbers/);
    await page.fill('textarea[data-modality="embedding"]', "[1, 2, oops]");
    await page.click("#predict");
    await page.waitForFunction(`document.querySelector('.modality[data-modality="embedding"] .problem').textContent.includes("JSON")`);
  });
});
