/// <reference lib="dom" />
/**
 * The result of one row in the page: the prediction, every class's
 * probability, and each modality's exact Shapley contribution as a signed bar.
 * The exact numbers sit in data-* attributes (data-probability, data-phi,
 * data-empty, data-full) beside the rounded text, so a test or a script can
 * read them from the DOM without parsing what a person reads.
 */
import type { ExportMetadata } from "../../exportModel.ts";
import type { PageResult } from "./explain.ts";

function element<K extends keyof HTMLElementTagNameMap>(tag: K, attributes: Record<string, string> = {}, text?: string): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) el.setAttribute(key, value);
  if (text !== undefined) el.textContent = text;
  return el;
}

const fixed = (x: number, digits = 3) => (x >= 0 ? "+" : "−") + Math.abs(x).toFixed(digits);

function bar(fraction: number, negative: boolean): HTMLElement {
  const outer = element("span", { class: `bar${negative ? " negative" : ""}`, "aria-hidden": "true" });
  const inner = element("span");
  inner.style.width = `${Math.round(Math.min(1, Math.max(0, fraction)) * 100)}%`;
  outer.append(inner);
  return outer;
}

export function renderResult(container: HTMLElement, metadata: ExportMetadata, result: PageResult, milliseconds: number): void {
  container.textContent = "";
  const { task, labelNames } = metadata;
  const names = metadata.modalities.map((m) => m.name);
  const explained = task === "regression" ? "the prediction" : `p(${labelNames[result.target]})`;
  const heading = element("h2", { id: "prediction", "data-prediction": String(result.prediction) });
  heading.textContent =
    task === "regression" ? `Prediction: ${Number(result.prediction).toPrecision(6)}`
      : task === "multilabel" ? `Labels over 0.5: ${result.prediction || "none"}`
        : `Prediction: ${result.prediction} (p = ${result.scores[result.target]!.toFixed(3)})`;
  container.append(heading);

  if (task !== "regression") {
    const table = element("table", { id: "probabilities" });
    table.append(element("caption", {}, task === "multilabel" ? "Probability of each label" : "Probability of each class"));
    const head = element("tr");
    head.append(element("th", { scope: "col" }, task === "multilabel" ? "label" : "class"), element("th", { scope: "col" }, "probability"), element("th", { scope: "col" }, ""));
    table.append(head);
    const order = labelNames.map((_, c) => c).sort((a, b) => result.scores[b]! - result.scores[a]!);
    for (const c of order) {
      const p = result.scores[c]!;
      const tr = element("tr", { "data-class": labelNames[c]!, "data-probability": String(p) });
      const cell = element("td");
      cell.append(bar(p, false));
      tr.append(element("th", { scope: "row" }, labelNames[c]!), element("td", { class: "number" }, p.toFixed(3)), cell);
      table.append(tr);
    }
    container.append(table);
  }

  const attribution = element("table", { id: "attribution", "data-empty": String(result.empty), "data-full": String(result.full) });
  attribution.append(
    element("caption", {}, `Exact Shapley contribution of each modality to ${explained}: from ${result.empty.toFixed(3)} with no modality to ${result.full.toFixed(3)} with all of them`),
  );
  const head = element("tr");
  head.append(element("th", { scope: "col" }, "modality"), element("th", { scope: "col" }, "contribution"), element("th", { scope: "col" }, ""));
  attribution.append(head);
  const scale = Math.max(1e-12, ...result.phi.map(Math.abs));
  names.forEach((name, m) => {
    const phi = result.phi[m]!;
    const tr = element("tr", { "data-modality": name, "data-phi": String(phi) });
    const cell = element("td");
    cell.append(bar(Math.abs(phi) / scale, phi < 0));
    const label = result.missing.includes(name) ? `${name} (missing)` : name;
    tr.append(element("th", { scope: "row" }, label), element("td", { class: "number" }, fixed(phi)), cell);
    attribution.append(tr);
  });
  container.append(attribution);
  const runs = 2 ** names.length;
  container.append(element("p", { class: "hint", id: "timing", "data-ms": String(milliseconds) }, `Computed in this browser in ${milliseconds.toFixed(1)} ms: ${runs} masked copies of the row (every subset of the modalities) in one batch.`));
}
