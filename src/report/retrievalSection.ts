/**
 * The report's retrieval section, from results.json's `retrieval` only: the
 * bench's one short contrastive alignment run (src/align, CLIP recipe), its
 * test-split Recall@K per direction beside chance, the cosine similarity of a
 * sample of true pairs (a good model shows a bright diagonal), and the top-5
 * candidates of a few queries with thumbnails.
 */
import type { ReportItem } from "../align/report.ts";
import type { BenchResults } from "../bench/results.ts";
import type { ChartSpec } from "./charts.ts";
import { chartBlock, type Section } from "./explainSection.ts";
import { escapeHtml, seconds } from "./format.ts";

const schema = "https://vega.github.io/schema/vega-lite/v6.json";

type Report = Extract<NonNullable<BenchResults["retrieval"]>, { report: unknown }>["report"];

export function recallChart(report: Report): ChartSpec | undefined {
  const values = Object.entries(report.recall).flatMap(([direction, summary]) =>
    Object.entries(summary.recall).map(([k, recall]) => ({ direction, k: Number(k), K: `R@${k}`, recall, chance: summary.chance[k] ?? null, queries: summary.queries })),
  );
  if (values.length === 0) return undefined;
  const x = { field: "K", type: "nominal", title: null, sort: values.slice().sort((a, b) => a.k - b.k).map((v) => v.K) };
  return {
    id: "retrieval-recall",
    title: "Retrieval: Recall@K on the test split",
    caption: "Bars: the share of queries with a true match among the top K candidates, per direction (query → candidates); black ticks: the Recall@K of a random ranking.",
    spec: {
      $schema: schema,
      data: { values },
      width: { step: 40 },
      height: 220,
      encoding: { x, xOffset: { field: "direction", type: "nominal" } },
      layer: [
        {
          mark: "bar",
          encoding: {
            y: { field: "recall", type: "quantitative", title: "Recall@K", scale: { domain: [0, 1] } },
            color: { field: "direction", type: "nominal" },
            tooltip: [{ field: "direction" }, { field: "K" }, { field: "recall", format: ".3f" }, { field: "chance", format: ".3f" }, { field: "queries" }],
          },
        },
        { mark: { type: "tick", color: "black", thickness: 2 }, encoding: { y: { field: "chance", type: "quantitative" } } },
      ],
    },
  };
}

const itemName = (item: ReportItem, i: number) => `${i + 1}: ${item.label ?? item.text ?? item.id}`;

export function similarityChart(report: Report): ChartSpec | undefined {
  const s = report.similarity;
  const values = s.values.flatMap((line, r) => line.map((similarity, c) => ({ row: itemName(s.rows[r]!, r), column: itemName(s.columns[c]!, c), similarity, pair: r === c ? "true pair" : "other" })));
  if (values.length === 0) return undefined;
  return {
    id: "retrieval-similarity",
    title: `Retrieval: cosine similarity, ${s.rowModality} × ${s.columnModality}`,
    caption: `${s.values.length} test ${s.rowModality} items (rows) against the first true match of each in ${s.columnModality} (columns): the diagonal holds the true pairs.`,
    spec: {
      $schema: schema,
      data: { values },
      width: { step: 26 },
      height: { step: 26 },
      encoding: {
        x: { field: "column", type: "nominal", sort: null, title: s.columnModality, axis: { labelAngle: -40, labelLimit: 120 } },
        y: { field: "row", type: "nominal", sort: null, title: s.rowModality, axis: { labelLimit: 160 } },
      },
      layer: [
        { mark: "rect", encoding: { color: { field: "similarity", type: "quantitative", scale: { scheme: "viridis", domain: [-1, 1] } }, tooltip: [{ field: "row" }, { field: "column" }, { field: "similarity", format: ".3f" }, { field: "pair" }] } },
        { mark: { type: "text", fontSize: 8 }, encoding: { text: { field: "similarity", format: ".2f" }, color: { condition: { test: "datum.similarity > 0.3", value: "black" }, value: "white" } } },
      ],
    },
  };
}

function item(it: ReportItem): string {
  const picture = it.thumbnail ? `<img class="thumb" alt="${escapeHtml(it.id)}" src="${escapeHtml(it.thumbnail)}"><br>` : "";
  const text = it.text !== undefined ? `“${escapeHtml(it.text)}”<br>` : "";
  return `${picture}${text}<span class="meta">${escapeHtml(it.label ?? it.id)}</span>`;
}

function gallery(report: Report): string {
  const e = report.examples;
  if (e.queries.length === 0) return "";
  const header = `<tr><th class="l">query (${escapeHtml(e.queryModality)})</th>${Array.from({ length: e.k }, (_, i) => `<th class="l">${i + 1}</th>`).join("")}</tr>`;
  const rows = e.queries
    .map(
      (q) =>
        `<tr><td class="l">${item(q.query)}</td>${q.hits
          .map((h) => `<td class="l${h.match ? " match" : ""}">${item(h)}<br><span class="meta">${h.score.toFixed(3)}${h.match ? " ✓ match" : ""}</span></td>`)
          .join("")}</tr>`,
    )
    .join("");
  return `<h3>Retrieval: top-${e.k} ${escapeHtml(e.candidateModality)} candidates of a few test queries</h3><table class="gallery" id="retrieval-gallery">${header}${rows}</table><p class="caption">Green: a true match. Score: cosine similarity of the embeddings.</p>`;
}

export function retrievalSection(results: BenchResults): Section {
  const r = results.retrieval;
  if (!r) return { html: "", charts: [] };
  const intro = `<p class="meta">A separate, short contrastive alignment run (not one of the benchmarked methods): ${escapeHtml(r.pair.join(" + "))} encoders trained with symmetric InfoNCE (CLIP recipe, src/align), seed ${r.seed}, at most ${r.epochs} epochs of batch ${r.batchSize} on ${r.trainRows} train rows (${r.epochsRun} run, best validation epoch ${r.bestEpoch} kept), ${seconds(r.trainMs)} of training${r.matchField ? `; rows with the same ${escapeHtml(r.matchField)} are true matches` : "; each row is its own match"}.</p>`;
  if ("error" in r) return { html: `<h2>Retrieval</h2>${intro}<p class="error">The alignment run failed: ${escapeHtml(r.error)}</p>`, charts: [] };
  const charts = [recallChart(r.report), similarityChart(r.report)].filter((c): c is ChartSpec => c !== undefined);
  return { html: `<h2>Retrieval</h2>${intro}${charts.map((c) => chartBlock(c)).join("\n")}${gallery(r.report)}`, charts };
}
