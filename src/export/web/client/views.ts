/// <reference lib="dom" />
/**
 * The method's own view of one decision in the page: the explain outputs of
 * the graph's full-row copy turned into views by src/explain/views.ts (the
 * code `fusionkit explain` runs), then drawn: modality weights and gates as
 * bars, attention maps as a shaded table (rows = the querying modality's real
 * tokens, columns = the real keys), per-modality predictions as their top
 * classes, and Flamingo's tanh gates from the trained parameters.
 * Every view carries its numbers in data-view (JSON) for tests and scripts.
 */
import type { SplitData } from "../../../data/types.ts";
import type { EncodedDims } from "../../../encoders/types.ts";
import type { ExplainSpec } from "../../../fusion/explain.ts";
import { rowViews, type GateParameter, type MethodView } from "../../../explain/views.ts";
import type { ExportMetadata } from "../../exportModel.ts";
import type { Feed } from "./explain.ts";
import type { PreparedRow } from "./prepare.ts";

export const explainOutputPrefix = "explain:";

/** The views of the row, from the graph's explain outputs (none when the graph has none). */
export function pageViews(metadata: ExportMetadata, inputDims: EncodedDims[], explains: ExplainSpec, row: PreparedRow, extras: Record<string, Feed>): MethodView[] {
  const explain = Object.fromEntries(
    Object.entries(extras)
      .filter(([name]) => name.startsWith(explainOutputPrefix))
      .map(([name, feed]) => [name.slice(explainOutputPrefix.length), { data: feed.data, shape: feed.dims }]),
  );
  if (Object.keys(explain).length === 0) return [];
  const split: SplitData = {
    n: 1,
    ids: ["page"],
    inputs: row.inputs,
    tokenMasks: row.tokenMasks,
    present: Object.fromEntries(Object.entries(row.present).map(([name, p]) => [name, Float32Array.of(p)])),
    labels: new Float32Array(1),
    fields: {},
  };
  return rowViews(explain, explains, 0, { specs: metadata.modalities, dims: inputDims, split, classNames: metadata.labelNames });
}

function element<K extends keyof HTMLElementTagNameMap>(tag: K, attributes: Record<string, string> = {}, text?: string): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) el.setAttribute(key, value);
  if (text !== undefined) el.textContent = text;
  return el;
}

function barRows(caption: string, values: [string, number][], key: string, view: MethodView): HTMLTableElement {
  const table = element("table", { class: "view", "data-view": JSON.stringify(view), "data-view-key": key });
  table.append(element("caption", {}, caption));
  const scale = Math.max(1e-12, ...values.map(([, v]) => Math.abs(v)));
  for (const [label, value] of values) {
    const tr = element("tr");
    const bar = element("span", { class: `bar${value < 0 ? " negative" : ""}`, "aria-hidden": "true" });
    const fill = element("span");
    fill.style.width = `${Math.round((Math.abs(value) / scale) * 100)}%`;
    bar.append(fill);
    const cell = element("td");
    cell.append(bar);
    tr.append(element("th", { scope: "row" }, label), element("td", { class: "number" }, value.toFixed(3)), cell);
    table.append(tr);
  }
  return table;
}

const maxQueries = 16;
const maxKeys = 24;

function attentionTable(view: Extract<MethodView, { kind: "attention" }>): HTMLElement {
  const box = element("div", { class: "view attention", "data-view": JSON.stringify(view), "data-view-key": view.key });
  const title = view.query ? `Attention of ${view.query} over ${view.context?.join(" + ") ?? "the context"}` : `Attention ${view.key}`;
  if (view.noContext || !view.queryMask.some((v) => v)) {
    box.append(element("p", {}, `${title}: ${view.noContext ? "no real key in this row, the attention adds nothing" : "the querying modality is missing"}.`));
    return box;
  }
  const queries = view.queryMask.flatMap((v, i) => (v ? [i] : [])).slice(0, maxQueries);
  const keys = view.keyMask.flatMap((v, j) => (v ? [j] : [])).slice(0, maxKeys);
  const mass = view.massByModality ? ` (weight on ${Object.entries(view.massByModality).map(([m, w]) => `${m} ${(w * 100).toFixed(0)}%`).join(", ")})` : "";
  // the title sits outside the table: a wide map scrolls sideways, its title stays readable
  const titleId = `view-${view.key.replace(/[^A-Za-z0-9_-]/g, "_")}`;
  box.append(element("p", { class: "view-title", id: titleId }, `${title}${mass}; heads averaged, darker = more weight`));
  const table = element("table", { class: "heatmap", "aria-labelledby": titleId });
  const head = element("tr");
  head.append(element("th", { scope: "col" }, ""));
  for (const j of keys) head.append(element("th", { scope: "col", class: "key" }, view.keyLabels[j]!));
  table.append(head);
  for (const i of queries) {
    const tr = element("tr");
    tr.append(element("th", { scope: "row" }, view.queryLabels[i]!));
    for (const j of keys) {
      const w = view.weights[i]![j]!;
      const td = element("td", { title: `${view.queryLabels[i]} -> ${view.keyLabels[j]}: ${w.toFixed(3)}` }, w.toFixed(2));
      td.style.background = `rgba(36, 88, 179, ${Math.min(1, w * 1.5).toFixed(3)})`;
      if (w > 0.45) td.style.color = "white";
      tr.append(td);
    }
    table.append(tr);
  }
  box.append(table);
  const hidden = view.queryMask.filter((v) => v).length - queries.length + (view.keyMask.filter((v) => v).length - keys.length);
  if (hidden > 0) box.append(element("p", { class: "hint" }, `First ${queries.length} query and ${keys.length} key tokens shown.`));
  return box;
}

function topClasses(scores: Record<string, number>, k = 3): [string, number][] {
  return Object.entries(scores).sort((a, b) => b[1] - a[1]).slice(0, k);
}

export function renderViews(container: HTMLElement, views: MethodView[], gates: GateParameter[]): void {
  if (views.length === 0 && gates.length === 0) return;
  const section = element("section", { id: "views", "aria-labelledby": "views-title" });
  section.append(element("h2", { id: "views-title" }, "What the method looked at"));
  for (const view of views) {
    switch (view.kind) {
      case "modalityWeights":
        section.append(barRows(`Weight of each modality (${view.key})`, Object.entries(view.weights), view.key, view));
        break;
      case "perModality":
        section.append(barRows(`Mean ${view.key} per modality over ${Object.values(view.values)[0]?.length ?? 0} units`, Object.entries(view.values).map(([m, v]) => [m, v.reduce((a, b) => a + b, 0) / Math.max(1, v.length)]), view.key, view));
        break;
      case "votes":
        section.append(barRows(`${view.modality} alone (${view.key}): top classes`, topClasses(view.scores), view.key, view));
        break;
      case "pairs":
        section.append(barRows(`Similarity of each modality pair (${view.key})`, Object.entries(view.scores), view.key, view));
        break;
      case "scalar":
        section.append(barRows(view.key, [[view.key, view.value]], view.key, view));
        break;
      case "attention":
        section.append(attentionTable(view));
        break;
      case "other":
        section.append(element("p", { class: "hint view", "data-view": JSON.stringify(view), "data-view-key": view.key }, `${view.key}: shape [${view.shape.join(", ")}]`));
        break;
    }
  }
  for (const gate of gates) section.append(barRows(`Gate ${gate.name}: tanh of the trained parameter, how much the cross-attention adds`, gate.tanh.map((v, i) => [gate.tanh.length > 1 ? `${gate.name}[${i}]` : gate.name, v]), gate.name, { kind: "scalar", key: gate.name, value: gate.tanh[0] ?? 0 }));
  container.append(section);
}
