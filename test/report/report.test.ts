/**
 * The report as data: chart specs carry exactly the results' numbers, the HTML
 * is self-contained (no URL to fetch), text from results is escaped, and the
 * fusion-vs-unimodal verdict follows the seed spread.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { inlineSafeScript, vegaBrowserBuilds } from "../../src/report/assets.ts";
import { reportCharts } from "../../src/report/charts.ts";
import { renderReportHtml } from "../../src/report/html.ts";
import { compareFusionToUnimodal, formatLeaderboard } from "../../src/report/leaderboard.ts";
import type { RetrievalReport } from "../../src/align/report.ts";
import type { ReportExplanation } from "../../src/explain/report.ts";
import { explainSection } from "../../src/report/explainSection.ts";
import { recallChart } from "../../src/report/retrievalSection.ts";
import { fixtureResults } from "./fixture.ts";

type Layered = { layer: { data?: { values: Record<string, unknown>[] } }[] };

describe("report charts", () => {
  test("the metric chart's bars and error bars are the aggregate mean ± std of each method", () => {
    const results = fixtureResults();
    const metric = reportCharts(results).charts.find((c) => c.id === "metric")!;
    const bars = (metric.spec as Layered).layer[0]!.data!.values;
    for (const m of results.methods) {
      const bar = bars.find((b) => b.method === m.name)!;
      const s = m.aggregate!.metrics.accuracy!;
      assert.equal(bar.mean, s.mean);
      assert.equal(bar.low, s.mean - s.std);
      assert.equal(bar.high, s.mean + s.std);
    }
    // one tick per seed run
    assert.equal((metric.spec as Layered).layer[2]!.data!.values.length, 6);
  });

  test("the robustness heatmap has clean, missing and noise cells for every method", () => {
    const results = fixtureResults();
    const chart = reportCharts(results).charts.find((c) => c.id === "robustness")!;
    const cells = (chart.spec as { data: { values: { method: string; condition: string; value: number }[] } }).data.values;
    // 1 clean + 2 missing + 3 noise levels, for 3 methods
    assert.equal(cells.length, 3 * 6);
    const early = results.methods[0]!.aggregate!;
    assert.equal(cells.find((c) => c.method === "early" && c.condition === "image missing")!.value, early.missing.image!.mean);
    assert.equal(cells.find((c) => c.method === "early" && c.condition === "image noise σ=2")!.value, early.noise[2]!.stat.mean);
  });

  test("the attribution charts carry each method's shares, which sum to 1", () => {
    const results = fixtureResults();
    const values = (explainSection(results).charts.find((c) => c.id === "attribution")!.spec as { data: { values: { method: string; modality: string; share: number }[] } }).data.values;
    for (const m of results.methods) {
      const mine = values.filter((v) => v.method === m.name);
      assert.deepEqual(mine.map((v) => v.share), (m.explanations as { report: ReportExplanation }).report.bar.map((b) => b.share));
      assert.ok(Math.abs(mine.reduce((s, v) => s + v.share, 0) - 1) < 1e-12);
    }
  });

  test("the gate chart has one point per (gate, seed, epoch), starting at 0", () => {
    const results = fixtureResults();
    const values = (explainSection(results).charts.find((c) => c.id === "gates")!.spec as { data: { values: { epoch: number; value: number; seed: number }[] } }).data.values;
    // gmu: 2 seeds x 5 epochs (0..4) x 2 gates
    assert.equal(values.length, 20);
    assert.deepEqual(values.filter((v) => v.epoch === 0).map((v) => v.value), [0, -0, 0, -0]);
  });

  test("the recall chart has one bar per (direction, K) with its chance level", () => {
    const report = fixtureResults().retrieval as { report: RetrievalReport };
    const values = (recallChart(report.report)!.spec as { data: { values: { direction: string; k: number; recall: number; chance: number }[] } }).data.values;
    assert.equal(values.length, 6);
    const cell = values.find((v) => v.direction === "text->image" && v.k === 5)!;
    assert.equal(cell.recall, 0.5);
    assert.equal(cell.chance, 0.33);
  });

  test("without explanations or retrieval the sections are left out", () => {
    const results = fixtureResults();
    for (const m of results.methods) {
      delete m.explanations;
      for (const r of m.runs) delete r.gateHistory;
    }
    delete results.retrieval;
    assert.deepEqual(explainSection(results), { html: "", charts: [] });
    const html = renderReportHtml(results);
    assert.doesNotMatch(html, /<h2>Explanations<\/h2>|<h2>Retrieval<\/h2>/);
  });

  test("with no finished run no chart is drawn and the report says so", () => {
    const results = fixtureResults({ complete: false });
    for (const m of results.methods) {
      m.runs = [];
      delete m.aggregate;
    }
    results.leaderboard = [];
    const { charts, omitted } = reportCharts(results);
    assert.equal(charts.length, 0);
    assert.equal(omitted.length, 5);
    const html = renderReportHtml(results);
    assert.match(html, /No run finished/);
    assert.match(html, /INCOMPLETE/);
  });
});

describe("report.html", () => {
  test("is self-contained: the vega builds inline, no src/href to any URL", () => {
    const html = renderReportHtml(fixtureResults());
    assert.doesNotMatch(html, /<script[^>]+src=/);
    assert.doesNotMatch(html, /<link[^>]+href=/);
    assert.doesNotMatch(html, /sourceMappingURL/);
    for (const build of vegaBrowserBuilds()) assert.ok(html.includes(`data-package="${build.name}@${build.version}"`));
  });

  test("text from results is escaped, in markup and inside the chart JSON", () => {
    const html = renderReportHtml(fixtureResults());
    assert.ok(html.includes("fixture&lt;/script&gt;&lt;b&gt;"));
    assert.ok(!html.includes("fixture</script><b>"));
    assert.ok(html.includes("early &lt;summary&gt;"));
  });

  test("an inlined script can never close its own tag", () => {
    assert.equal(inlineSafeScript('a="</script>";\n//# sourceMappingURL=x.map\n'), 'a="<\\/script>";\n');
  });
});

describe("fusion vs unimodal verdict", () => {
  test("the margin is compared with the larger seed std of the two methods", () => {
    const results = fixtureResults();
    const c = compareFusionToUnimodal(results)!;
    assert.equal(c.bestFusion.method, "gmu");
    assert.equal(c.bestUnimodal.method, "unimodal:text");
    assert.ok(Math.abs(c.margin - (0.855 - 0.705)) < 1e-12);
    assert.equal(c.seedStd, Math.max(c.bestFusion.metric.std, c.bestUnimodal.metric.std));
    assert.equal(c.beyondSeedNoise, true);
    assert.match(formatLeaderboard(results), /^\s*1\s+gmu\s+hybrid\s+0\.855 ± 0\.007/m);
  });
});
