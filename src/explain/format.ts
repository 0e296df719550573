/**
 * Plain-text rendering of row explanations for the terminal (`fusionkit
 * explain` without --json): the prediction, a signed bar per modality, and a
 * compact line or two per method view.
 */
import type { RowExplanation, RowsExplanation } from "./rows.ts";
import type { AttentionView, MethodView } from "./views.ts";

const fixed = (x: number, digits = 3) => (x >= 0 ? "+" : "") + x.toFixed(digits);

function signedBar(phi: number, scale: number, width = 20): string {
  const length = scale > 0 ? Math.round((Math.abs(phi) / scale) * width) : 0;
  return (phi >= 0 ? "█" : "░").repeat(length);
}

function topKeys(view: AttentionView, query: number, k: number): string {
  const line = view.weights[query]!;
  return line
    .map((w, j) => [w, j] as const)
    .filter(([, j]) => view.keyMask[j])
    .sort((a, b) => b[0] - a[0])
    .slice(0, k)
    .map(([w, j]) => `${view.keyLabels[j]} ${w.toFixed(2)}`)
    .join(", ");
}

export function formatView(view: MethodView, maxQueries = 4): string[] {
  switch (view.kind) {
    case "attention": {
      if (view.noContext) return [`${view.key}: no real key in this row (context missing), the attention adds nothing`];
      if (!view.queryMask.some((v) => v)) return [`${view.key}: the querying modality is missing in this row`];
      const lines = [`${view.key}:${view.massByModality ? " " + Object.entries(view.massByModality).map(([m, w]) => `${m} ${(w * 100).toFixed(0)}%`).join(", ") : ""}`];
      const real = view.queryMask.map((v, i) => (v ? i : -1)).filter((i) => i >= 0);
      for (const i of real.slice(0, maxQueries)) lines.push(`    ${view.queryLabels[i]} -> ${topKeys(view, i, 3)}`);
      if (real.length > maxQueries) lines.push(`    ... ${real.length - maxQueries} more query tokens (use --json for the full map)`);
      return lines;
    }
    case "modalityWeights":
      return [`${view.key}: ${Object.entries(view.weights).map(([m, w]) => `${m} ${w.toFixed(3)}`).join(", ")}`];
    case "votes":
      return [`${view.key} (${view.modality} alone): ${Object.entries(view.scores).map(([c, p]) => `${c} ${p.toFixed(3)}`).join(", ")}`];
    case "perModality":
      return [`${view.key}: ${Object.entries(view.values).map(([m, v]) => `${m} mean ${(v.reduce((a, b) => a + b, 0) / Math.max(1, v.length)).toFixed(3)} over ${v.length}`).join(", ")}`];
    case "pairs":
      return [`${view.key}: ${Object.entries(view.scores).map(([pair, s]) => `${pair} ${s.toFixed(3)}`).join(", ")}`];
    case "scalar":
      return [`${view.key}: ${view.value.toFixed(4)}`];
    case "other":
      return [`${view.key}: shape [${view.shape.join(", ")}], values ${view.values.slice(0, 8).map((v) => v.toFixed(3)).join(" ")}${view.values.length > 8 ? " ..." : ""}`];
  }
}

export function formatRow(row: RowExplanation): string {
  const lines: string[] = [];
  const prediction = Array.isArray(row.prediction) ? `[${row.prediction.join(", ")}]` : String(row.prediction);
  const probability = row.probabilities?.[row.explained];
  lines.push(`row ${row.id}: prediction ${prediction}${probability !== undefined ? ` (p = ${probability.toFixed(3)})` : ""}`);
  lines.push(
    `  attribution of ${row.value} "${row.explained}": v(all) ${row.full.toFixed(3)} - v(none) ${row.empty.toFixed(3)} = ${(row.full - row.empty).toFixed(3)}, split by modality:`,
  );
  const entries = Object.entries(row.attribution);
  const scale = Math.max(...entries.map(([, phi]) => Math.abs(phi)), 1e-12);
  const nameWidth = Math.max(...entries.map(([m]) => m.length));
  for (const [modality, phi] of entries) {
    const note = row.missing.includes(modality) ? "  (missing in this row)" : "";
    lines.push(`    ${modality.padEnd(nameWidth)}  ${fixed(phi)}  ${signedBar(phi, scale)}${note}`);
  }
  if (row.views.length) {
    lines.push("  method views:");
    for (const view of row.views) for (const line of formatView(view)) lines.push(`    ${line}`);
  }
  return lines.join("\n");
}

export function formatExplanation(result: RowsExplanation): string {
  const parts = [`method ${result.method}; exact Shapley values over ${result.modalities.length} modalities (${2 ** result.modalities.length} coalitions per row); absent = presence 0`];
  for (const row of result.rows) parts.push(formatRow(row));
  if (result.gates.length) {
    parts.push("tanh gates in the trained parameters (Flamingo alpha/beta):");
    for (const g of result.gates) parts.push(`  ${g.name}: tanh = ${g.tanh.map((v) => v.toFixed(4)).join(" ")}`);
  }
  return parts.join("\n\n") + "\n";
}

/** The JSON form: everything but the raw typed arrays. */
export function explanationJson(result: RowsExplanation): Record<string, unknown> {
  return { method: result.method, modalities: result.modalities, value: result.value, rows: result.rows, gates: result.gates };
}
