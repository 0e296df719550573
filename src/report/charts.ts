/**
 * Vega-Lite specs for the bench report, each built from results.json data only.
 * Every chart carries its data inline (`data.values`), so the report needs no
 * loader and no network. A chart with no data to show is left out (the report
 * says why) rather than drawn empty.
 */
import type { BenchResults } from "../bench/results.ts";

export type ChartSpec = { id: string; title: string; caption: string; spec: Record<string, unknown> };

const schema = "https://vega.github.io/schema/vega-lite/v6.json";

/** Unimodal baselines and classical (linear) baselines look different from fusion methods in every chart. */
function kindOf(family: string): string {
  return family === "unimodal" ? "unimodal baseline" : family === "linear" ? "classical baseline (logistic regression)" : "fusion";
}

function metricLabel(results: BenchResults): string {
  const { name, higherIsBetter } = results.config.primaryMetric;
  return `test ${name} (${higherIsBetter ? "higher" : "lower"} is better)`;
}

const finite = (x: number) => Number.isFinite(x);

export function metricChart(results: BenchResults): ChartSpec | undefined {
  const primary = results.config.primaryMetric.name;
  const summary = results.methods
    .filter((m) => m.aggregate && finite(m.aggregate.metrics[primary]?.mean ?? NaN))
    .map((m) => {
      const s = m.aggregate!.metrics[primary]!;
      return { method: m.name, family: m.family, kind: kindOf(m.family), mean: s.mean, std: s.std, low: s.mean - s.std, high: s.mean + s.std, seeds: s.n };
    });
  if (summary.length === 0) return undefined;
  const seeds = results.methods.flatMap((m) => m.runs.map((r) => ({ method: m.name, seed: r.seed, value: r.metrics[primary] })).filter((r) => finite(r.value ?? NaN)));
  const descending = results.config.primaryMetric.higherIsBetter;
  const methodOrder = summary.slice().sort((a, b) => (descending ? b.mean - a.mean : a.mean - b.mean)).map((s) => s.method);
  // One explicit order for every layer: the layers hold different data, so a data-driven sort would disagree between them.
  const y = { field: "method", type: "nominal", sort: methodOrder, title: null };
  return {
    id: "metric",
    title: `Test ${primary} per method (mean ± std over seeds)`,
    caption: "Bars: mean over seeds; black rules: ± one standard deviation; ticks: individual seeds.",
    spec: {
      $schema: schema,
      width: 520,
      height: { step: 22 },
      layer: [
        {
          data: { values: summary },
          mark: { type: "bar", opacity: 0.85 },
          encoding: {
            y,
            x: { field: "mean", type: "quantitative", title: metricLabel(results) },
            color: { field: "kind", type: "nominal", title: null },
            tooltip: [{ field: "method" }, { field: "family" }, { field: "mean", format: ".4f" }, { field: "std", format: ".4f" }, { field: "seeds" }],
          },
        },
        {
          data: { values: summary },
          mark: { type: "rule", color: "black" },
          encoding: { y, x: { field: "low", type: "quantitative" }, x2: { field: "high" } },
        },
        {
          data: { values: seeds },
          mark: { type: "tick", color: "#333", thickness: 1.5 },
          encoding: { y, x: { field: "value", type: "quantitative" }, tooltip: [{ field: "method" }, { field: "seed" }, { field: "value", format: ".4f" }] },
        },
      ],
    },
  };
}

function midpoint(values: number[]): number {
  return (Math.min(...values) + Math.max(...values)) / 2;
}

/** Method x condition: clean, each modality missing, each modality under each noise level. */
export function robustnessChart(results: BenchResults): ChartSpec | undefined {
  const primary = results.config.primaryMetric.name;
  const cells: { method: string; condition: string; order: number; value: number; std: number }[] = [];
  for (const m of results.methods) {
    const a = m.aggregate;
    if (!a) continue;
    const clean = a.metrics[primary];
    if (clean) cells.push({ method: m.name, condition: "clean", order: 0, value: clean.mean, std: clean.std });
    let order = 1;
    for (const [modality, s] of Object.entries(a.missing)) cells.push({ method: m.name, condition: `${modality} missing`, order: order++, value: s.mean, std: s.std });
    for (const n of a.noise) cells.push({ method: m.name, condition: `${n.modality} noise σ=${n.sigma}`, order: 100 + order++, value: n.stat.mean, std: n.stat.std });
  }
  const shown = cells.filter((c) => finite(c.value));
  if (shown.length === 0) return undefined;
  const conditions = [...new Map(shown.map((c) => [c.condition, c.order])).entries()].sort((a, b) => a[1] - b[1]).map(([c]) => c);
  return {
    id: "robustness",
    title: `Robustness: test ${primary} with a modality missing or noisy`,
    caption: "Each cell: mean over seeds. Missing = the modality marked absent on every test row; noise = Gaussian noise of the given standard deviation added to the modality's standardised inputs.",
    spec: {
      $schema: schema,
      data: { values: shown },
      width: { step: 58 },
      height: { step: 22 },
      encoding: {
        x: { field: "condition", type: "nominal", sort: conditions, title: null, axis: { labelAngle: -40 } },
        y: { field: "method", type: "nominal", title: null },
      },
      layer: [
        {
          mark: "rect",
          encoding: {
            color: { field: "value", type: "quantitative", title: primary, scale: { scheme: "viridis", reverse: !results.config.primaryMetric.higherIsBetter } },
            tooltip: [{ field: "method" }, { field: "condition" }, { field: "value", format: ".4f" }, { field: "std", format: ".4f" }],
          },
        },
        {
          mark: { type: "text", fontSize: 9 },
          encoding: {
            text: { field: "value", format: ".2f" },
            // viridis is light at its top end: dark text there, white text on the dark end
            color: { condition: { test: `datum.value ${results.config.primaryMetric.higherIsBetter ? ">" : "<"} ${midpoint(shown.map((c) => c.value))}`, value: "black" }, value: "white" },
          },
        },
      ],
    },
  };
}

function tradeoffChart(results: BenchResults, id: string, field: "paramCount" | "latencyMs", title: string, axisTitle: string): ChartSpec | undefined {
  const primary = results.config.primaryMetric.name;
  const points = results.methods
    .filter((m) => m.aggregate && finite(m.aggregate.metrics[primary]?.mean ?? NaN))
    .map((m) => {
      const a = m.aggregate!;
      const s = a.metrics[primary]!;
      const x = field === "paramCount" ? a.paramCount : a.latencyP50Ms.mean;
      return { method: m.name, family: m.family, kind: kindOf(m.family), x, mean: s.mean, low: s.mean - s.std, high: s.mean + s.std };
    })
    .filter((p) => finite(p.x) && p.x > 0);
  if (points.length === 0) return undefined;
  const x = { field: "x", type: "quantitative", title: axisTitle, scale: { type: "log" } };
  return {
    id,
    title,
    caption: "Points: mean over seeds; vertical rules: ± one standard deviation. Up and left is better when higher metric is better.",
    spec: {
      $schema: schema,
      data: { values: points },
      width: 520,
      height: 300,
      layer: [
        { mark: { type: "rule" }, encoding: { x, y: { field: "low", type: "quantitative", title: metricLabel(results), scale: { zero: false } }, y2: { field: "high" }, color: { field: "family", type: "nominal" } } },
        {
          mark: { type: "point", filled: true, size: 70 },
          encoding: {
            x,
            y: { field: "mean", type: "quantitative" },
            color: { field: "family", type: "nominal", title: "family" },
            shape: { field: "kind", type: "nominal", title: null },
            tooltip: [{ field: "method" }, { field: "family" }, { field: "x", title: axisTitle, format: ",.3~f" }, { field: "mean", format: ".4f" }],
          },
        },
        { mark: { type: "text", align: "left", dx: 6, fontSize: 9 }, encoding: { x, y: { field: "mean", type: "quantitative" }, text: { field: "method" } } },
      ],
    },
  };
}

export function paramsChart(results: BenchResults): ChartSpec | undefined {
  return tradeoffChart(results, "params", "paramCount", `Test ${results.config.primaryMetric.name} vs parameter count`, "parameters (log scale)");
}

export function latencyChart(results: BenchResults): ChartSpec | undefined {
  return tradeoffChart(results, "latency", "latencyMs", `Test ${results.config.primaryMetric.name} vs single-row inference latency`, "latency p50 per row, ms (log scale)");
}

export function learningCurvesChart(results: BenchResults): ChartSpec | undefined {
  const points = results.methods.flatMap((m) =>
    m.runs.flatMap((r) => r.history.map((h) => ({ method: m.name, seed: r.seed, run: `${m.name} seed ${r.seed}`, epoch: h.epoch, valMetric: h.valMetric, trainLoss: h.trainLoss }))),
  );
  const shown = points.filter((p) => finite(p.valMetric) && finite(p.trainLoss));
  if (shown.length === 0) return undefined;
  const primary = results.config.primaryMetric.name;
  const panel = (field: string, title: string) => ({
    width: 300,
    height: 240,
    mark: { type: "line", point: shown.length < 400, strokeWidth: 1.5 },
    encoding: {
      x: { field: "epoch", type: "quantitative", title: "epoch", axis: { tickMinStep: 1 } },
      y: { field, type: "quantitative", title, scale: { zero: false } },
      color: { field: "method", type: "nominal" },
      detail: { field: "run", type: "nominal" },
      tooltip: [{ field: "method" }, { field: "seed" }, { field: "epoch" }, { field, format: ".4f" }],
    },
  });
  return {
    id: "learning",
    title: "Learning curves",
    caption: `Left: ${primary} on the validation split after each epoch (early stopping keeps the best epoch). Right: mean training loss per epoch. One line per (method, seed).`,
    spec: { $schema: schema, data: { values: shown }, hconcat: [panel("valMetric", `validation ${primary}`), panel("trainLoss", "training loss")] },
  };
}

export function reportCharts(results: BenchResults): { charts: ChartSpec[]; omitted: string[] } {
  const makers: [string, (r: BenchResults) => ChartSpec | undefined][] = [
    ["metric per method", metricChart],
    ["robustness heatmap", robustnessChart],
    ["metric vs parameters", paramsChart],
    ["metric vs latency", latencyChart],
    ["learning curves", learningCurvesChart],
  ];
  const charts: ChartSpec[] = [];
  const omitted: string[] = [];
  for (const [name, make] of makers) {
    const chart = make(results);
    if (chart) charts.push(chart);
    else omitted.push(name);
  }
  return { charts, omitted };
}
