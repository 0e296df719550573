/**
 * report.html: one self-contained file (the vega builds and every chart's data
 * inline), made from a BenchResults object alone. It opens from disk with no
 * network. An interrupted bench gets an INCOMPLETE banner at the top.
 */
import type { BenchResults, MethodResult } from "../bench/results.ts";
import { vegaBrowserBuilds } from "./assets.ts";
import { reportCharts } from "./charts.ts";
import { count, escapeHtml, meanStd, scriptJson, seconds } from "./format.ts";
import { explainSection } from "./explainSection.ts";
import { describeComparison } from "./leaderboard.ts";
import { retrievalSection } from "./retrievalSection.ts";

const style = `
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px auto; max-width: 1100px; padding: 0 16px; color: #222; }
h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 17px; margin-top: 32px; border-bottom: 1px solid #ddd; }
.banner { background: #b00020; color: white; font-weight: bold; padding: 12px 16px; font-size: 18px; border-radius: 4px; }
.meta { color: #555; } table { border-collapse: collapse; margin: 8px 0; font-size: 13px; }
td, th { border: 1px solid #ddd; padding: 3px 8px; text-align: right; } td.l, th.l { text-align: left; }
.chart { margin: 8px 0 4px; } .caption { color: #555; font-size: 12px; max-width: 820px; }
.error { color: #b00020; } tr.baseline-linear td { background: #fff1d6; } tr.baseline-unimodal td { background: #e6f0fb; } code { font-size: 12px; } details { margin: 4px 0; }
.samples { display: flex; flex-wrap: wrap; gap: 12px; } .sample { border: 1px solid #ddd; padding: 6px 8px; max-width: 330px; font-size: 13px; }
img.thumb { width: 48px; height: 48px; image-rendering: pixelated; border: 1px solid #ccc; }
table.gallery td { vertical-align: top; max-width: 150px; font-size: 12px; } table.gallery td.match { background: #e3f6e3; }
`;

function table(header: string[], rows: string[][], leftColumns: number, rowClasses: string[] = []): string {
  const cell = (tag: string, text: string, j: number) => `<${tag}${j < leftColumns ? ' class="l"' : ""}>${text}</${tag}>`;
  return `<table><thead><tr>${header.map((h, j) => cell("th", escapeHtml(h), j)).join("")}</tr></thead><tbody>${rows
    .map((r, i) => `<tr${rowClasses[i] ? ` class="${rowClasses[i]}"` : ""}>${r.map((c, j) => cell("td", escapeHtml(c), j)).join("")}</tr>`)
    .join("")}</tbody></table>`;
}

function headerProse(results: BenchResults): string {
  const d = results.dataset;
  const c = results.config;
  const items: string[] = [];
  items.push(
    `Dataset <b>${escapeHtml(d.name)}</b> (${escapeHtml(d.source)}): ${escapeHtml(d.task)} over ${d.labelNames.length || "a numeric"} ${d.task === "regression" ? "target" : "classes"}; ` +
      `modalities ${d.modalities.map((m) => `${escapeHtml(m.name)} (${escapeHtml(m.type)} [${m.shape.join("×")}])`).join(", ")}; ` +
      `${d.rows.train} train / ${d.rows.val} validation / ${d.rows.test} test rows.` +
      (d.subsample ? ` <b>Subsampled:</b> ${escapeHtml(d.subsample.note)}` : ""),
  );
  if (d.description) items.push(escapeHtml(d.description));
  items.push(
    `Budget: ${c.methods.length} methods × ${c.seeds.length} seeds (${c.seeds.join(", ")}); at most ${c.epochs} epochs per run, early stopping on validation ${escapeHtml(c.primaryMetric.name)} with patience ${c.patience}` +
      (c.timeBudgetS !== null ? `; total training budget ${c.timeBudgetS} s split evenly, ${seconds(c.perRunBudgetMs ?? NaN)} per run` : "; no time budget") +
      `. Batch ${c.batchSize}, learning rate ${c.lr}, encoder width ${c.encoderDim}. Wall time ${seconds(results.wallMs)}.`,
  );
  for (const note of results.notes) items.push(escapeHtml(note));
  const comparison = describeComparison(results);
  if (comparison) items.push(`<b>${escapeHtml(comparison)}</b>`);
  return `<ul>${items.map((i) => `<li>${i}</li>`).join("")}</ul>`;
}

function leaderboardTable(results: BenchResults): string {
  if (results.leaderboard.length === 0) return "<p>No run finished, so there is no leaderboard.</p>";
  const byName = new Map(results.methods.map((m) => [m.name, m]));
  const metricNames = [...new Set(results.methods.flatMap((m) => Object.keys(m.aggregate?.metrics ?? {})))];
  const header = ["#", "method", "family", ...metricNames, "params", "train s", "epochs (linear: L-BFGS iterations)", "latency p50 ms", "latency p95 ms", "seeds"];
  const rows = results.leaderboard.map((r) => {
    const a = byName.get(r.method)!.aggregate!;
    return [
      String(r.rank),
      r.method,
      r.family,
      ...metricNames.map((n) => meanStd(a.metrics[n])),
      count(r.paramCount),
      meanStd(r.trainS, 1),
      meanStd(a.epochsRun, 1),
      meanStd(r.latencyP50Ms, 2),
      meanStd(r.latencyP95Ms, 2),
      String(r.metric.n),
    ];
  });
  // baselines in their own colour: unimodal rows blue, classical (linear) rows amber
  return table(header, rows, 3, results.leaderboard.map((r) => (r.family === "linear" ? "baseline-linear" : r.family === "unimodal" ? "baseline-unimodal" : "")));
}

function robustnessTable(results: BenchResults): string {
  const withData = results.methods.filter((m) => m.aggregate);
  if (withData.length === 0) return "";
  const first = withData[0]!.aggregate!;
  const header = ["method", "clean", ...Object.keys(first.missing).map((m) => `${m} missing`), ...first.noise.map((n) => `${n.modality} σ=${n.sigma}`)];
  const primary = results.config.primaryMetric.name;
  const rows = withData.map((m) => {
    const a = m.aggregate!;
    return [m.name, meanStd(a.metrics[primary]), ...Object.values(a.missing).map((s) => meanStd(s)), ...a.noise.map((n) => meanStd(n.stat))];
  });
  return `<details><summary>Robustness figures (test ${escapeHtml(primary)}, mean ± std)</summary>${table(header, rows, 1)}</details>`;
}

function methodDetails(m: MethodResult): string {
  const notes = m.configNotes.length ? `<br>Differs from the shared settings: ${m.configNotes.map(escapeHtml).join("; ")}` : "";
  const status = m.status === "complete" ? "" : ` <b class="error">(${m.status === "partial" ? `interrupted: ${m.runs.length} seed(s) finished` : "not run: interrupted"})</b>`;
  return `<li><b>${escapeHtml(m.name)}</b> [${escapeHtml(m.family)}]${status}: ${escapeHtml(m.summary)} <i>${escapeHtml(m.citation)}</i>${notes}<br><code>${escapeHtml(JSON.stringify(m.config))}</code></li>`;
}

function environment(results: BenchResults): string {
  const e = results.environment;
  const packages = Object.entries(e.packages).map(([name, version]) => `${name}@${version}`).join(", ");
  return `<p class="meta">Node ${escapeHtml(e.node)} on ${escapeHtml(e.platform)}/${escapeHtml(e.arch)}, ${e.cpus} × ${escapeHtml(e.cpuModel)}. ${escapeHtml(packages)}. Started ${escapeHtml(results.startedAt)}, finished ${escapeHtml(results.finishedAt)}. Command: <code>${escapeHtml(results.command.join(" "))}</code></p>`;
}

/**
 * Embeds each chart as SVG, marks its container `data-rendered="true"` once
 * vega has drawn it, and reports failures both on the page and on the console.
 */
const embedScript = `
(function () {
  var charts = JSON.parse(document.getElementById("fusionkit-charts").textContent);
  window.fusionkitViews = {};
  window.fusionkitRendered = Promise.all(charts.map(function (chart) {
    var el = document.getElementById("chart-" + chart.id);
    return vegaEmbed(el, chart.spec, { renderer: "svg", actions: false }).then(function (result) {
      window.fusionkitViews[chart.id] = result.view;
      el.setAttribute("data-rendered", "true");
    }).catch(function (error) {
      el.setAttribute("data-rendered", "error");
      el.textContent = "This chart failed to render: " + error;
      el.className += " error";
      console.error("chart " + chart.id + ": " + error);
    });
  }));
})();
`;

export function renderReportHtml(results: BenchResults): string {
  const { charts: mainCharts, omitted } = reportCharts(results);
  const explanations = explainSection(results);
  const retrieval = retrievalSection(results);
  const charts = [...mainCharts, ...explanations.charts, ...retrieval.charts];
  const title = `fusionkit bench: ${results.dataset.name}`;
  const banner = results.complete
    ? ""
    : `<div class="banner" id="incomplete-banner">INCOMPLETE: ${escapeHtml(results.interruption?.reason ?? "the bench was interrupted")}${
        results.interruption ? ` at ${escapeHtml(results.interruption.at)}` : ""
      }. Only finished runs are shown; methods or seeds are missing, so the comparison is not final.</div>`;
  const chartSections = mainCharts
    .map((c) => `<h2>${escapeHtml(c.title)}</h2><div class="chart" id="chart-${c.id}" data-chart="${c.id}"></div><p class="caption">${escapeHtml(c.caption)}</p>`)
    .join("\n");
  const omittedNote = omitted.length ? `<p class="meta">Not drawn (no finished run has the data): ${omitted.map(escapeHtml).join(", ")}.</p>` : "";
  const vendor = vegaBrowserBuilds()
    .map((b) => `<script data-package="${b.name}@${b.version}">\n${b.source}\n</script>`)
    .join("\n");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(title)}</title>
<style>${style}</style>
</head>
<body>
${banner}
<h1>${escapeHtml(title)}</h1>
${headerProse(results)}
<h2>Leaderboard (sorted by test ${escapeHtml(results.config.primaryMetric.name)})</h2>
${leaderboardTable(results)}
${robustnessTable(results)}
${chartSections}
${omittedNote}
${explanations.html}
${retrieval.html}
<h2>Methods</h2>
<ul>${results.methods.map(methodDetails).join("")}</ul>
${environment(results)}
${vendor}
<script type="application/json" id="fusionkit-charts">${scriptJson(charts.map((c) => ({ id: c.id, spec: c.spec })))}</script>
<script>${embedScript}</script>
</body>
</html>
`;
}
