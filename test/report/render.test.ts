/**
 * report.html in a real browser: every chart is drawn by vega (an SVG with
 * data marks), no console error, no network request (the file must open from
 * disk offline), and an interrupted bench shows the INCOMPLETE banner.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { pathToFileURL } from "node:url";
import { chromium, type Browser } from "playwright-core";
import { renderReportHtml } from "../../src/report/html.ts";
import { fixtureResults } from "./fixture.ts";

const chromiumPath = "/usr/bin/chromium";
const skip = existsSync(chromiumPath) ? false : `${chromiumPath} is missing: install Debian's chromium package to run the browser rendering test`;

type PageReport = {
  errors: string[];
  requests: string[];
  charts: { id: string; state: string | null; marks: number; svg: boolean }[];
  banner: boolean;
  title: string;
  /** inline images (sample inputs, gallery thumbnails) that decoded to a real bitmap */
  images: { total: number; decoded: number };
  galleryCells: number;
};

describe("report.html in headless Chromium", { skip }, () => {
  let browser: Browser;
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "fusionkit-report-"));
    browser = await chromium.launch({
      executablePath: chromiumPath,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
  });
  after(async () => {
    await browser?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function open(html: string, name: string): Promise<PageReport> {
    const file = join(dir, name);
    writeFileSync(file, html);
    const page = await browser.newPage();
    const errors: string[] = [];
    const requests: string[] = [];
    page.on("console", (message) => {
      if (message.type() === "error") errors.push(message.text());
    });
    page.on("pageerror", (error) => errors.push(error.message));
    page.on("request", (request) => {
      if (!request.url().startsWith("file:")) requests.push(request.url());
    });
    await page.goto(pathToFileURL(file).href, { waitUntil: "load" });
    await page.waitForFunction(() => (window as unknown as { fusionkitRendered?: Promise<unknown> }).fusionkitRendered !== undefined);
    await page.evaluate(() => (window as unknown as { fusionkitRendered: Promise<unknown> }).fusionkitRendered);
    const charts = await page.$$eval("[data-chart]", (elements) =>
      elements.map((el) => ({
        id: el.getAttribute("data-chart")!,
        state: el.getAttribute("data-rendered"),
        svg: el.querySelector("svg") !== null,
        // vega draws data marks as <g class="mark-... role-mark"> groups; count the shapes inside them
        marks: el.querySelectorAll("svg g.role-mark > path, svg g.role-mark > line, svg g.role-mark > text, svg g.role-mark > rect, svg g.role-mark > g").length,
      })),
    );
    const banner = (await page.$("#incomplete-banner")) !== null;
    const images = await page.$$eval("img.thumb", (elements) => ({ total: elements.length, decoded: elements.filter((img) => (img as HTMLImageElement).naturalWidth > 0).length }));
    const galleryCells = await page.$$eval("#retrieval-gallery td", (elements) => elements.length);
    const title = await page.title();
    await page.close();
    return { errors, requests, charts, banner, title, images, galleryCells };
  }

  test("every chart of a complete bench renders marks, with no console error and no network", async () => {
    const report = await open(renderReportHtml(fixtureResults()), "complete.html");
    assert.deepEqual(report.errors, []);
    assert.deepEqual(report.requests, []);
    assert.deepEqual(report.charts.map((c) => c.id).sort(), [
      "attention-gmu",
      "attribution",
      "attribution-by-class",
      "gates",
      "latency",
      "learning",
      "metric",
      "params",
      "retrieval-recall",
      "retrieval-similarity",
      "robustness",
      "samples-early",
      "samples-gmu",
      "samples-unimodal_text",
    ]);
    for (const chart of report.charts) {
      assert.equal(chart.state, "true", `chart ${chart.id} did not finish rendering`);
      assert.ok(chart.svg, `chart ${chart.id} has no svg`);
      assert.ok(chart.marks > 0, `chart ${chart.id} drew no marks`);
    }
    assert.equal(report.banner, false);
    // the sample cards show 3 methods x 2 samples = 6 images, the gallery 2 text queries x 5 image hits
    assert.deepEqual(report.images, { total: 16, decoded: 16 });
    // 2 queries x (query + 5 hits)
    assert.equal(report.galleryCells, 12);
    // the dataset name is text, not markup
    assert.equal(report.title, "fusionkit bench: fixture</script><b>");
  });

  test("an interrupted bench renders its finished runs under an INCOMPLETE banner", async () => {
    const report = await open(renderReportHtml(fixtureResults({ complete: false })), "incomplete.html");
    assert.equal(report.banner, true);
    assert.deepEqual(report.errors, []);
    for (const chart of report.charts) assert.ok(chart.marks > 0, `chart ${chart.id} drew no marks`);
  });
});
