/**
 * A trained model -> a static folder that runs, explains and is tried in any
 * browser, with no server code and no request outside the folder:
 *
 *   index.html      the page (./html.ts)
 *   model.onnx      the exported graph (src/export/exportModel.ts)
 *   model.json      its metadata: graph inputs/outputs, label names and, per
 *                   modality, the fitted preprocessing (image size, vocabulary,
 *                   tabular statistics, log-mel options and statistics)
 *   app/...         the page's modules: src/export/web/client and the data
 *                   pipelines it shares with training, types stripped (./modules.ts)
 *   ort/...         onnxruntime-web's wasm backend, copied from the installed package
 */
import { readFileSync, rmSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { packageDir } from "../../data/builtin/emoji.ts";
import { startEngine } from "../../engine/backend.ts";
import { FusionkitError } from "../../errors.ts";
import { writeFileAtomic } from "../../io/atomicWrite.ts";
import { loadModel } from "../../train/persistence.ts";
import type { TrainedModel } from "../../train/trainer.ts";
import type { EncodedDims } from "../../encoders/types.ts";
import { gateParameters, type GateParameter } from "../../explain/views.ts";
import type { ExplainSpec } from "../../fusion/explain.ts";
import { scoreOutputName, type ExportMetadata, type ExportSource } from "../exportModel.ts";
import { lowerPageGraph } from "./graph.ts";
import { withMetadataProps } from "../onnxGraph.ts";
import { verifyAgainstEngine } from "../verify.ts";
import { renderPageHtml } from "./html.ts";
import { browserModules } from "./modules.ts";

const here = dirname(fileURLToPath(import.meta.url));
/** src/: the page's modules keep their paths below it */
const sourceRoot = resolve(here, "../..");
const entry = join(here, "client", "main.ts");

/** onnxruntime-web's wasm-only ES build and the two files it loads (the threaded build also runs single-threaded). */
export const ortFiles = ["ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm"];

export type WebPageFile = { path: string; bytes: number };
export type WebPageSummary = { dir: string; files: WebPageFile[]; bytes: number; metadata: PageMetadata; explainOutputs: string[]; explainSkipped?: string };

/** model.json: the export metadata plus what the page's method views need. */
export type PageMetadata = ExportMetadata & {
  page: {
    /** per modality: encoded width and token count (src/explain/views.ts labels tokens with them) */
    inputDims: EncodedDims[];
    /** Flamingo-style tanh gates of the trained parameters (empty for other methods) */
    gates: GateParameter[];
    /** graph outputs that carry the method's explain tensors, by key */
    explainOutputs: string[];
    /** what each of those outputs is, as the method declares it (src/fusion/explain.ts) */
    explains: ExplainSpec;
  };
};

const require = createRequire(import.meta.url);

/** The CommonJS packages the shared audio code imports, wrapped as ES modules for the page. */
function vendoredPackages() {
  return [
    { specifier: "fft.js", file: require.resolve("fft.js") },
    { specifier: "wavefile", file: require.resolve("wavefile") },
  ];
}

function checkServable(trained: ExportSource): void {
  for (const spec of trained.spec.modalities) {
    const encoder = (spec.config as { encoder?: unknown } | undefined)?.encoder;
    if (encoder !== undefined) {
      const name = typeof encoder === "string" ? encoder : (encoder as { model?: string }).model;
      throw new FusionkitError(
        `modality "${spec.name}" is prepared by the pretrained encoder ${name}, which the page does not run in the browser; serve this model with "fusionkit serve", or train the page's model with the modality's own encoder`,
        { field: spec.name },
      );
    }
    const file = (spec.config as { file?: unknown } | undefined)?.file;
    if (spec.type === "vector" && typeof file === "string") {
      throw new FusionkitError(
        `modality "${spec.name}" was trained from ${file}, a matrix aligned with the training rows, so a person in the page has no way to give it; retrain from a dataset whose vectors are inline ("field" instead of "file")`,
        { field: spec.name },
      );
    }
  }
}

/**
 * Writes the page for `trained` into `outDir` (created; files of an earlier
 * page there are replaced). The graph is verified against jax-js first, as
 * `fusionkit export` does; a graph above the tolerance writes nothing.
 */
export async function writeWebPage(trained: ExportSource & Pick<TrainedModel, "layout">, outDir: string): Promise<WebPageSummary> {
  checkServable(trained);
  const lowered = lowerPageGraph(trained);
  const verification = await verifyAgainstEngine(trained, lowered.bytes, scoreOutputName(trained.spec.task));
  if (!(verification.maxError <= verification.tolerance)) {
    throw new FusionkitError(
      `the exported graph differs from the jax-js model by ${verification.maxError.toExponential(2)} (tolerance ${verification.tolerance}); no page was written. This is a fusionkit bug in the ONNX lowering of method "${trained.spec.method.name}": please report it with the model directory`,
      { file: outDir },
    );
  }
  const metadata: PageMetadata = {
    ...lowered.metadata,
    verification,
    page: {
      inputDims: trained.model.inputDims,
      gates: gateParameters(trained.model, trained.params),
      explainOutputs: lowered.explainOutputs,
      explains: Object.fromEntries(lowered.explainOutputs.map((key) => [key, trained.model.explains[key]!])),
    },
  };
  const bytes = withMetadataProps(lowered.bytes, { fusionkit: JSON.stringify(metadata) });
  const dir = resolve(outDir);
  const written: WebPageFile[] = [];
  const write = (path: string, content: Uint8Array | string) => {
    const target = join(dir, path);
    writeFileAtomic(target, content);
    written.push({ path, bytes: statSync(target).size });
  };
  // modules of an earlier export that this one no longer uses must not linger
  rmSync(join(dir, "app"), { recursive: true, force: true });
  for (const module of browserModules([entry], sourceRoot, vendoredPackages())) write(`app/${module.path}`, module.code);
  const ortDist = join(packageDir("onnxruntime-web"), "dist");
  for (const file of ortFiles) {
    const target = join(dir, "ort", file);
    writeFileAtomic(target, readFileSync(join(ortDist, file)));
    written.push({ path: `ort/${file}`, bytes: statSync(target).size });
  }
  write("model.onnx", bytes);
  write("model.json", `${JSON.stringify(metadata)}\n`);
  write(
    "index.html",
    renderPageHtml(metadata, { entry: "./app/export/web/client/main.js", ortModule: `./ort/${ortFiles[0]}`, ortDir: "./ort/", model: "./model.onnx", metadata: "./model.json" }),
  );
  written.sort((a, b) => (a.path < b.path ? -1 : 1));
  return {
    dir,
    files: written,
    bytes: written.reduce((sum, f) => sum + f.bytes, 0),
    metadata,
    explainOutputs: lowered.explainOutputs,
    ...(lowered.explainSkipped ? { explainSkipped: lowered.explainSkipped } : {}),
  };
}

/** Loads the checkpoint in `modelDir` and writes its page into `outDir`. */
export async function buildWebPage(modelDir: string, outDir: string): Promise<WebPageSummary> {
  await startEngine();
  return writeWebPage(loadModel(modelDir), outDir);
}
