/**
 * The report's explanations section, from results.json data only: each
 * method's modality attribution (share of mean |phi|, exact Shapley values of
 * its first seed's model on the test split; src/explain), the same per class,
 * Flamingo-style gate values over training, and a few test samples: the input
 * (thumbnail, text) beside the sample's attribution and, where the method has
 * them, its attention maps and gate values.
 */
import type { BenchResults, MethodResult } from "../bench/results.ts";
import type { ReportExplanation, ReportSample } from "../explain/report.ts";
import type { AttentionView } from "../explain/views.ts";
import type { ChartSpec } from "./charts.ts";
import { escapeHtml } from "./format.ts";

const schema = "https://vega.github.io/schema/vega-lite/v6.json";

export type Section = { html: string; charts: ChartSpec[] };

/** A DOM-id-safe, still readable, form of a method name ("unimodal:text" -> "unimodal_text"). */
export function chartSlug(name: string): string {
  return name.replace(/[^A-Za-z0-9_-]+/gu, "_");
}

/** A chart's container, title and caption, as the rest of the report draws them. */
export function chartBlock(chart: ChartSpec, heading: "h2" | "h3" | "h4" = "h3"): string {
  return `<${heading}>${escapeHtml(chart.title)}</${heading}><div class="chart" id="chart-${chart.id}" data-chart="${chart.id}"></div><p class="caption">${escapeHtml(chart.caption)}</p>`;
}

function explained(results: BenchResults): { method: MethodResult; report: ReportExplanation }[] {
  return results.methods.flatMap((m) => (m.explanations && "report" in m.explanations ? [{ method: m, report: m.explanations.report }] : []));
}

export function attributionChart(results: BenchResults): ChartSpec | undefined {
  const values = explained(results).flatMap(({ method, report }) => report.bar.map((b) => ({ method: method.name, modality: b.modality, share: b.share, meanAbsPhi: b.meanAbsPhi, meanPhi: b.meanPhi })));
  if (values.length === 0) return undefined;
  return {
    id: "attribution",
    title: "Modality attribution per method",
    caption:
      "Each bar: the modalities' shares of mean |φ| (exact Shapley values over modalities, on the first test rows) for the explained class; the shares of one method sum to 1. A unimodal baseline puts its whole share on its modality.",
    spec: {
      $schema: schema,
      data: { values },
      width: 520,
      height: { step: 22 },
      mark: "bar",
      encoding: {
        y: { field: "method", type: "nominal", title: null },
        x: { field: "share", type: "quantitative", title: "share of mean |φ|", scale: { domain: [0, 1] } },
        color: { field: "modality", type: "nominal" },
        tooltip: [{ field: "method" }, { field: "modality" }, { field: "share", format: ".3f" }, { field: "meanAbsPhi", format: ".4f" }, { field: "meanPhi", format: ".4f" }],
      },
    },
  };
}

export function attributionByClassChart(results: BenchResults): ChartSpec | undefined {
  const values = explained(results).flatMap(({ method, report }) =>
    report.perClass.flatMap((c) => c.bar.map((b) => ({ method: method.name, className: `${c.className} (${c.rows})`, modality: b.modality, share: b.share }))),
  );
  if (values.length === 0) return undefined;
  return {
    id: "attribution-by-class",
    title: "Modality attribution per explained class",
    caption: "One panel per method; each row a class (the number of explained test rows whose attributed class it is), the modalities' shares of mean |φ| over those rows.",
    spec: {
      $schema: schema,
      data: { values },
      columns: 4,
      facet: { field: "method", type: "nominal", title: null },
      spec: {
        width: 170,
        height: { step: 14 },
        mark: "bar",
        encoding: {
          y: { field: "className", type: "nominal", title: null },
          x: { field: "share", type: "quantitative", title: "share", scale: { domain: [0, 1] } },
          color: { field: "modality", type: "nominal" },
          tooltip: [{ field: "method" }, { field: "className", title: "class (rows)" }, { field: "modality" }, { field: "share", format: ".3f" }],
        },
      },
      resolve: { scale: { y: "independent" } },
    },
  };
}

export function gatesChart(results: BenchResults): ChartSpec | undefined {
  const values = results.methods.flatMap((m) =>
    m.runs.flatMap((r) =>
      (r.gateHistory ?? []).flatMap((g) =>
        Object.entries(g.tanh).flatMap(([name, tanh]) => tanh.map((value, i) => ({ gate: `${m.name} ${name}${tanh.length > 1 ? `[${i}]` : ""}`, method: m.name, seed: r.seed, run: `${m.name} ${name}[${i}] seed ${r.seed}`, epoch: g.epoch, value }))),
      ),
    ),
  );
  if (values.length === 0) return undefined;
  return {
    id: "gates",
    title: "Gate values over training",
    caption: "tanh of each Flamingo-style gate (y = x + tanh(α)·XAttn(...)) after each epoch; epoch 0 is the initialisation (α = 0: the gated layers start as the identity). One line per (gate, seed); the axis spans the values reached, within [−1, 1].",
    spec: {
      $schema: schema,
      data: { values },
      width: 520,
      height: 260,
      mark: { type: "line", point: true, strokeWidth: 1.5 },
      encoding: {
        x: { field: "epoch", type: "quantitative", axis: { tickMinStep: 1 } },
        // not the full [-1, 1]: gates often stay within a few hundredths of 0, which a fixed range would flatten
        y: { field: "value", type: "quantitative", title: "tanh(gate)", scale: { zero: true } },
        color: { field: "gate", type: "nominal", legend: { labelLimit: 320 } },
        detail: { field: "run", type: "nominal" },
        tooltip: [{ field: "gate" }, { field: "seed" }, { field: "epoch" }, { field: "value", format: ".4f" }],
      },
    },
  };
}

const sampleName = (s: ReportSample, i: number) => `#${i + 1} ${s.id}`;

function sampleAttributionChart(method: string, report: ReportExplanation): ChartSpec | undefined {
  const values = report.samples.flatMap((s, i) => Object.entries(s.attribution).map(([modality, phi]) => ({ sample: sampleName(s, i), modality, phi })));
  if (values.length === 0) return undefined;
  return {
    id: `samples-${chartSlug(method)}`,
    title: `${method}: attribution of the sample rows`,
    caption: `φ per modality of the explained output (${report.value}); the φ of a row sum to v(all) − v(none).`,
    spec: {
      $schema: schema,
      data: { values },
      width: 360,
      height: { step: 12 },
      mark: "bar",
      encoding: {
        y: { field: "sample", type: "nominal", title: null },
        yOffset: { field: "modality", type: "nominal" },
        x: { field: "phi", type: "quantitative", title: "φ" },
        color: { field: "modality", type: "nominal" },
        tooltip: [{ field: "sample" }, { field: "modality" }, { field: "phi", format: ".4f" }],
      },
    },
  };
}

/** The real (unmasked) cells of a sample's attention maps, at most `maxMaps` maps per sample. */
function attentionCells(report: ReportExplanation, maxMaps: number) {
  return report.samples.flatMap((s, i) =>
    s.views
      .filter((v): v is AttentionView => v.kind === "attention" && !v.noContext)
      .slice(0, maxMaps)
      .flatMap((v) =>
        v.weights.flatMap((line, q) =>
          v.queryMask[q]
            ? line.flatMap((weight, k) => (v.keyMask[k] ? [{ sample: sampleName(s, i), map: v.key, query: `${q}: ${v.queryLabels[q]}`, key: `${k}: ${v.keyLabels[k]}`, weight }] : []))
            : [],
        ),
      ),
  );
}

function attentionChart(method: string, report: ReportExplanation): ChartSpec | undefined {
  const values = attentionCells(report, 2);
  if (values.length === 0) return undefined;
  // Fixed panel sizes from the largest map: vega-lite's step sizes with independent facet scales emit a broken expression.
  const most = (field: "query" | "key") => {
    const perMap = new Map<string, Set<string>>();
    for (const v of values) {
      const id = `${v.sample}|${v.map}`;
      if (!perMap.has(id)) perMap.set(id, new Set());
      perMap.get(id)!.add(v[field]);
    }
    return Math.max(...[...perMap.values()].map((tokens) => tokens.size));
  };
  return {
    id: `attention-${chartSlug(method)}`,
    title: `${method}: attention maps of the sample rows`,
    caption: "Attention weights (heads averaged) of each query token over the context tokens, real tokens only; one column per sample, one row per attention map (at most two per sample).",
    spec: {
      $schema: schema,
      data: { values },
      facet: { column: { field: "sample", type: "nominal", title: null }, row: { field: "map", type: "nominal", title: null } },
      spec: {
        width: 10 * most("key"),
        height: 10 * most("query"),
        mark: "rect",
        encoding: {
          x: { field: "key", type: "nominal", title: "context token", sort: null, axis: { labelFontSize: 7, labelLimit: 90 } },
          y: { field: "query", type: "nominal", title: "query token", sort: null, axis: { labelFontSize: 7, labelLimit: 90 } },
          color: { field: "weight", type: "quantitative", scale: { scheme: "blues" } },
          tooltip: [{ field: "map" }, { field: "query" }, { field: "key" }, { field: "weight", format: ".3f" }],
        },
      },
      resolve: { scale: { x: "independent", y: "independent" } },
    },
  };
}

function describeInput(name: string, input: ReportSample["inputs"][string]): string {
  if ("missing" in input) return `<div><b>${escapeHtml(name)}</b>: missing</div>`;
  switch (input.type) {
    case "image":
      return `<div><b>${escapeHtml(name)}</b><br><img class="thumb" alt="${escapeHtml(name)}" src="${escapeHtml(input.png)}"></div>`;
    case "text":
      return `<div><b>${escapeHtml(name)}</b>: “${escapeHtml(input.text)}”</div>`;
    case "vector":
      return `<div><b>${escapeHtml(name)}</b>: ${input.dims} values, |x| = ${input.norm}, first ${input.head.join(", ")}</div>`;
    case "tabular":
      return `<div><b>${escapeHtml(name)}</b>: ${escapeHtml(JSON.stringify({ ...input.numeric, ...input.categorical }))}</div>`;
    default:
      return `<div><b>${escapeHtml(name)}</b>: ${input.realFrames}/${input.frames} frames × ${input.features} features</div>`;
  }
}

/** The views that read as a line of text: modality weights, per-row scalars (Flamingo's tanh gates), votes. */
function viewLines(sample: ReportSample): string[] {
  const fmt = (x: number) => (Math.round(x * 1000) / 1000).toString();
  return sample.views.flatMap((v) => {
    if (v.kind === "modalityWeights") return [`${v.key}: ${Object.entries(v.weights).map(([k, w]) => `${k} ${fmt(w)}`).join(", ")}`];
    if (v.kind === "scalar") return [`${v.key} = ${fmt(v.value)}`];
    if (v.kind === "votes" || v.kind === "pairs") return [`${v.key}: ${Object.entries(v.scores).map(([k, w]) => `${k} ${fmt(w)}`).join(", ")}`];
    return [];
  });
}

function sampleCard(sample: ReportSample, i: number): string {
  const label = Array.isArray(sample.label) ? sample.label.join(", ") : String(sample.label);
  const prediction = Array.isArray(sample.prediction) ? sample.prediction.join(", ") : String(sample.prediction);
  const phi = Object.entries(sample.attribution).map(([m, v]) => `${escapeHtml(m)} ${v.toFixed(3)}`).join(", ");
  const lines = viewLines(sample).map((l) => `<div class="meta">${escapeHtml(l)}</div>`).join("");
  return `<div class="sample"><div><b>${escapeHtml(sampleName(sample, i))}</b>: true ${escapeHtml(label)}, predicted ${escapeHtml(prediction)} (explained: ${escapeHtml(sample.explained)})</div>${Object.entries(sample.inputs)
    .map(([name, input]) => describeInput(name, input))
    .join("")}<div>φ: ${phi}</div>${lines}</div>`;
}

function methodSamples(method: MethodResult, report: ReportExplanation, charts: ChartSpec[]): string {
  const own: ChartSpec[] = [];
  for (const make of [sampleAttributionChart, attentionChart]) {
    const chart = make(method.name, report);
    if (chart) own.push(chart);
  }
  charts.push(...own);
  const gates = report.gates.length
    ? `<p>Gates of the trained model: ${report.gates.map((g) => `${escapeHtml(g.name)}: tanh = ${g.tanh.map((v) => v.toFixed(4)).join(", ")}`).join("; ")}</p>`
    : "";
  return `<details><summary><b>${escapeHtml(method.name)}</b>: ${report.samples.length} test samples</summary><div class="samples">${report.samples.map(sampleCard).join("")}</div>${gates}${own.map((c) => chartBlock(c, "h4")).join("")}</details>`;
}

export function explainSection(results: BenchResults): Section {
  const charts: ChartSpec[] = [];
  const blocks: string[] = [];
  const all = explained(results);
  const failed = results.methods.filter((m) => m.explanations && "error" in m.explanations);
  for (const make of [attributionChart, attributionByClassChart, gatesChart]) {
    const chart = make(results);
    if (chart) {
      charts.push(chart);
      blocks.push(chartBlock(chart));
    }
  }
  if (charts.length === 0 && failed.length === 0) return { html: "", charts };
  const first = all[0]?.report;
  const seeds = [...new Set(results.methods.flatMap((m) => (m.explanations ? [m.explanations.seed] : [])))];
  const intro = first
    ? `<p class="meta">Exact Shapley values over the ${first.modalities.length} modalities (2^${first.modalities.length} forward passes per row, a missing modality replaced as in training), on the first ${first.rows} rows of the ${escapeHtml(first.split)} split, of each method's seed-${seeds.join("/")} model only: one seed's explanation, not an average over seeds. Value explained: ${escapeHtml(first.value)} of the predicted class.</p>`
    : "";
  const errors = failed.length
    ? `<p class="error">Explanation failed for ${failed.map((m) => `${escapeHtml(m.name)} (${escapeHtml((m.explanations as { error: string }).error)})`).join("; ")}.</p>`
    : "";
  const samples = all.map(({ method, report }) => methodSamples(method, report, charts)).join("");
  const samplesBlock = samples ? `<h3>Sample test rows</h3><p class="meta">Each method's sample rows: the input, the prediction and its attribution, and the method's own views (attention maps, modality weights, gates) where it has them.</p>${samples}` : "";
  return { html: `<h2>Explanations</h2>${intro}${errors}${blocks.join("\n")}${samplesBlock}`, charts };
}
