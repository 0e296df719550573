/**
 * index.html of the web page: a static shell (header, the form's container,
 * the Predict button, a status line and the result region) whose controls the
 * page's module builds from model.json. Styles are inline; the only script is
 * the module import of the page's entry, by a relative path.
 */
import type { ExportMetadata } from "../exportModel.ts";

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const styles = `
:root { color-scheme: light dark; --accent: #2458b3; --negative: #b33a24; font-family: system-ui, sans-serif; line-height: 1.45; }
body { margin: 0 auto; max-width: 54rem; padding: 1rem 1.25rem 3rem; }
header p { margin: 0.2rem 0; }
.layout { display: grid; grid-template-columns: minmax(16rem, 1fr) minmax(16rem, 1.2fr); gap: 1.5rem; align-items: start; }
@media (max-width: 44rem) { .layout { grid-template-columns: 1fr; } }
.modality { margin-bottom: 1rem; }
label, legend { display: block; font-weight: 600; margin: 0.3rem 0 0.15rem; }
fieldset label { font-weight: 400; }
textarea, input[type=number], select { width: 100%; box-sizing: border-box; font: inherit; padding: 0.3rem; }
input[type=file] { font-size: 0.85rem; max-width: 100%; }
.drop { border: 2px dashed #888; border-radius: 0.4rem; padding: 0.9rem; text-align: center; cursor: pointer; margin-top: 0.3rem; }
.drop.over, .drop:focus { border-color: var(--accent); outline: 2px solid var(--accent); outline-offset: 2px; }
.preview img { margin-top: 0.4rem; width: 96px; height: 96px; object-fit: contain; image-rendering: auto; border: 1px solid #ccc; background: white; }
.hint { font-size: 0.85rem; opacity: 0.8; margin: 0.2rem 0; }
.problem { color: var(--negative); font-weight: 600; margin: 0.2rem 0; }
.problem:empty { display: none; }
button { font: inherit; padding: 0.35rem 0.9rem; margin-top: 0.3rem; cursor: pointer; }
button#predict { background: var(--accent); color: white; border: 0; border-radius: 0.3rem; padding: 0.5rem 1.4rem; font-weight: 600; }
button:disabled { opacity: 0.5; cursor: progress; }
button:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
table { border-collapse: collapse; width: 100%; margin: 0.6rem 0 1rem; }
caption { text-align: left; font-weight: 600; padding-bottom: 0.3rem; }
th, td { text-align: left; padding: 0.15rem 0.4rem; border-bottom: 1px solid #8884; }
td.number { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.bar { display: inline-block; width: 8rem; height: 0.7rem; background: #8882; vertical-align: middle; }
.bar > span { display: block; height: 100%; background: var(--accent); }
.bar.negative > span { background: var(--negative); }
h2 { font-size: 1.25rem; margin: 0.2rem 0 0.4rem; }
#views h2 { font-size: 1.1rem; margin-top: 1rem; }
.attention { overflow-x: auto; }
.view-title { font-weight: 600; margin: 0.6rem 0 0.2rem; }
table.heatmap { width: auto; font-size: 0.75rem; }
table.heatmap td { text-align: center; min-width: 2.2rem; border: 1px solid #8883; }
table.heatmap th.key { writing-mode: vertical-rl; transform: rotate(180deg); font-weight: 400; max-height: 8rem; }
`;

export type PageHtmlOptions = { entry: string; ortModule: string; ortDir: string; model: string; metadata: string };

export function renderPageHtml(metadata: ExportMetadata, paths: PageHtmlOptions): string {
  const modalities = metadata.modalities.map((m) => `${m.name} (${m.type})`).join(", ");
  const title = `fusionkit: ${metadata.method} on ${metadata.dataset.name}`;
  const what =
    metadata.task === "classification" ? `predicts one of ${metadata.labelNames.length} classes`
      : metadata.task === "multilabel" ? `predicts ${metadata.labelNames.length} labels`
        : `predicts ${metadata.labelField}`;
  const config = JSON.stringify({ ortModule: paths.ortModule, ortDir: paths.ortDir, model: paths.model, metadata: paths.metadata }).replace(/</g, "\\u003c");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>${escapeHtml(title)}</title>
<style>${styles}</style>
</head>
<body>
<header>
<h1>${escapeHtml(title)}</h1>
<p>This ${escapeHtml(metadata.family)} fusion model ${escapeHtml(what)} (${escapeHtml(metadata.labelField)}) from ${escapeHtml(modalities)}.</p>
<p class="hint">Everything runs in this browser (onnxruntime-web, WebAssembly): nothing you enter leaves the page.</p>
</header>
<main class="layout">
<form id="row-form" aria-labelledby="form-title" novalidate>
<h2 id="form-title">Your row</h2>
<div id="fields"></div>
<button type="submit" id="predict" disabled>Predict</button>
<p id="status" role="status">Loading the model…</p>
</form>
<section id="result" aria-live="polite" aria-label="Prediction and explanation"></section>
</main>
<noscript><p>This page runs the model with JavaScript; enable it to use the page.</p></noscript>
<script type="module">
import { start } from ${JSON.stringify(paths.entry)};
start(${config});
</script>
</body>
</html>
`;
}
