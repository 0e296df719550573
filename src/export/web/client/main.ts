/// <reference lib="dom" />
/**
 * The page's entry (index.html imports it): loads model.json and model.onnx
 * from the page's own folder, starts onnxruntime-web's wasm backend from the
 * copied ort/ files (nothing is fetched from anywhere else), builds the form,
 * and on "Predict" prepares the row, runs the 2^M coalition batch and shows
 * the prediction and the modality attribution.
 *
 * `window.fusionkitPage` exposes the state for tests and benchmarks: `ready`
 * (resolves when the model is loaded), `loadMs`, and `predict()`, which runs
 * what the button runs and resolves with the result and its time.
 */
import type * as Ort from "onnxruntime-web";
import type { MethodView } from "../../../explain/views.ts";
import type { PageMetadata } from "../build.ts";
import type { ModalitySpec } from "../../../data/types.ts";
import { coalitionFeeds, explainOutputs, type Feed, type PageResult } from "./explain.ts";
import { buildForm } from "./form.ts";
import { CellProblem, prepareRow, type DecodedImage, type PreparedRow } from "./prepare.ts";
import { renderResult } from "./render.ts";
import { pageViews, renderViews } from "./views.ts";

export type PageOptions = {
  /** onnxruntime-web's ES module and the folder of its .wasm/.mjs files, relative to the page */
  ortModule: string;
  ortDir: string;
  model: string;
  metadata: string;
};

export type PredictOutcome = { result: PageResult; row: PreparedRow; views: MethodView[]; ms: number };

type PageApi = {
  ready: Promise<void>;
  loadMs?: number;
  metadata?: PageMetadata;
  predict(): Promise<PredictOutcome | undefined>;
  last?: PredictOutcome;
};

declare global {
  interface Window {
    fusionkitPage: PageApi;
  }
}

async function decodeImageFile(file: File): Promise<DecodedImage> {
  // no premultiplication or colour management: the pixels as stored in the file, as sharp reads them
  const bitmap = await createImageBitmap(file, { premultiplyAlpha: "none", colorSpaceConversion: "none" });
  const { width, height } = bitmap;
  if (width * height > 50_000_000) throw new Error(`${width} x ${height} pixels is too large to prepare in the page`);
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  const context = canvas.getContext("2d", { willReadFrequently: true })!;
  context.drawImage(bitmap, 0, 0);
  bitmap.close();
  return { rgba: context.getImageData(0, 0, width, height).data, width, height };
}

async function fetchOk(url: string): Promise<Response> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response;
}

export function start(options: PageOptions): PageApi {
  const status = document.getElementById("status")!;
  const button = document.getElementById("predict") as HTMLButtonElement;
  const resultBox = document.getElementById("result")!;
  const form = document.getElementById("row-form") as HTMLFormElement;
  let run: ((feeds: Record<string, Feed>) => Promise<Record<string, Feed>>) | undefined;
  let reader: ReturnType<typeof buildForm> | undefined;
  let busy: Promise<unknown> = Promise.resolve();

  const api: PageApi = {
    ready: Promise.resolve(),
    async predict() {
      await api.ready;
      const metadata = api.metadata!;
      const previous = busy;
      const current = (async () => {
        await previous.catch(() => undefined);
        for (const spec of metadata.modalities) reader!.problem(spec.name, undefined);
        const cells = await reader!.cells();
        const started = performance.now();
        let row: PreparedRow;
        try {
          row = prepareRow(metadata.modalities, cells);
        } catch (error) {
          if (!(error instanceof CellProblem)) throw error;
          reader!.problem(error.modality, `${error.field ? `${error.field}: ` : ""}${error.message}`);
          status.textContent = `Check ${error.modality}: ${error.message}`;
          return undefined;
        }
        const outputs = await run!(coalitionFeeds(metadata, row));
        const result = explainOutputs(metadata, row, outputs);
        const views = pageViews(metadata, metadata.page?.inputDims ?? [], metadata.page?.explains ?? {}, row, result.extras);
        const ms = performance.now() - started;
        renderResult(resultBox, metadata, result, ms);
        renderViews(resultBox, views, metadata.page?.gates ?? []);
        resultBox.dataset.runs = String(Number(resultBox.dataset.runs ?? "0") + 1);
        status.textContent = `Predicted in ${ms.toFixed(1)} ms.`;
        api.last = { result, row, views, ms };
        return api.last;
      })();
      busy = current;
      return current;
    },
  };

  api.ready = (async () => {
    const started = performance.now();
    const metadata = (await (await fetchOk(options.metadata)).json()) as PageMetadata;
    api.metadata = metadata;
    reader = buildForm(document.getElementById("fields")!, metadata.modalities, {
      image: decodeImageFile,
      // loaded on the first audio file only: most pages have no audio and skip wavefile and fft.js
      audio: async (file: File, spec: ModalitySpec) => (await import("./audio.ts")).decodeAudioFile(file, spec),
    });
    const ort = (await import(new URL(options.ortModule, document.baseURI).href)) as typeof Ort;
    ort.env.wasm.wasmPaths = new URL(options.ortDir, document.baseURI).href;
    // one thread: a plain static host is not cross-origin isolated, so no SharedArrayBuffer
    ort.env.wasm.numThreads = 1;
    const bytes = new Uint8Array(await (await fetchOk(options.model)).arrayBuffer());
    const session = await ort.InferenceSession.create(bytes, { executionProviders: ["wasm"], graphOptimizationLevel: "all" });
    run = async (feeds) => {
      const tensors: Record<string, Ort.Tensor> = {};
      for (const [name, feed] of Object.entries(feeds)) tensors[name] = new ort.Tensor("float32", feed.data, feed.dims);
      const out = await session.run(tensors);
      const outputs: Record<string, Feed> = {};
      for (const [name, tensor] of Object.entries(out)) {
        outputs[name] = { data: tensor.data as Float32Array, dims: [...tensor.dims] };
        tensor.dispose();
      }
      return outputs;
    };
    // one run of an empty row: the first real prediction would otherwise pay for compiling
    // the wasm functions the graph's kernels use (seconds on a slow machine)
    await run(coalitionFeeds(metadata, prepareRow(metadata.modalities, {})));
    api.loadMs = performance.now() - started;
    status.textContent = `Model loaded in ${api.loadMs.toFixed(0)} ms. Fill in what you have and press Predict.`;
    button.disabled = false;
  })().catch((error: Error) => {
    status.textContent = `The model could not be loaded: ${error.message}`;
    status.classList.add("problem");
    throw error;
  });

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    api.predict().catch((error: Error) => {
      status.textContent = `Prediction failed: ${error.message}`;
      status.classList.add("problem");
    });
  });
  window.fusionkitPage = api;
  return api;
}
