/**
 * The encoder sweep's side-by-side table (src/bench/encoderSweep.ts), as text
 * for stdout and as the sweep's index.html, whose columns link to each
 * variant's own report.
 */
import type { SweepSummary } from "../bench/encoderSweep.ts";
import { escapeHtml, meanStd } from "./format.ts";

type Cell = SweepSummary["rows"][number]["cells"][number];

const cellText = (cell: Cell) => meanStd(cell);

/** The side-by-side table as text (stdout). */
export function formatSweep(summary: SweepSummary): string {
  const header = ["method", ...summary.variants.map((v) => v.label)];
  const lines = summary.rows.map((row) => [row.method, ...row.cells.map(cellText)]);
  const widths = header.map((h, c) => Math.max(h.length, ...lines.map((l) => l[c]!.length)));
  const fmt = (cells: string[]) => cells.map((cell, c) => cell.padEnd(widths[c]!)).join("  ");
  return [`${summary.metric} (mean ± std over seeds) per encoder variant:`, fmt(header), ...lines.map(fmt)].join("\n");
}

/** index.html of a sweep: the table, the best variant per method in bold. */
export function sweepHtml(summary: SweepSummary): string {
  const best = summary.rows.map((row) => Math.max(...row.cells.map((c) => c?.mean ?? -Infinity)));
  const head = summary.variants.map((v) => `<th><a href="${escapeHtml(v.report)}">${escapeHtml(v.label)}</a>${v.complete ? "" : " (incomplete)"}</th>`).join("");
  const body = summary.rows
    .map((row, r) => `<tr><td>${escapeHtml(row.method)}</td>${row.cells.map((c) => `<td${c && c.mean === best[r] ? ' class="best"' : ""}>${cellText(c)}</td>`).join("")}</tr>`)
    .join("\n");
  return `<!doctype html><html><head><meta charset="utf-8"><title>fusionkit bench: encoder sweep</title>
<style>body{font-family:system-ui,sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}td:first-child{text-align:left}.best{font-weight:bold;background:#eef6ee}</style></head>
<body><h1>Encoder sweep</h1><p>The same methods, seeds, budget and split on each encoder variant; each column links to that variant's full report (which names its encoders and their identities). Cells: test ${escapeHtml(summary.metric)}, mean ± std over seeds; bold: the best variant for the method.</p>
<table><tr><th>method</th>${head}</tr>
${body}</table></body></html>
`;
}
