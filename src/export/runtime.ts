/**
 * Running an exported graph in onnxruntime-node (CPU execution provider).
 * Shared by the export tests, `fusionkit serve` and bench/serve.ts.
 */
import * as ort from "onnxruntime-node";
import { sessionConfig } from "./sessionOptions.ts";
import type { HostArray } from "../engine/tensor.ts";

export type OnnxRunner = {
  inputNames: readonly string[];
  outputNames: readonly string[];
  /** float32 feeds by input name; returns every output as { data, shape }. */
  run(feeds: Record<string, HostArray>): Promise<Record<string, HostArray>>;
  release(): Promise<void>;
};

export type RunnerOptions = {
  /** threads per operator; 1 keeps many concurrent requests from oversubscribing the cores */
  intraOpThreads?: number;
};

export async function createOnnxRunner(model: string | Uint8Array, options: RunnerOptions = {}): Promise<OnnxRunner> {
  const sessionOptions: ort.InferenceSession.SessionOptions = {
    executionProviders: ["cpu"],
    graphOptimizationLevel: "all",
    intraOpNumThreads: options.intraOpThreads ?? 1,
    interOpNumThreads: 1,
    // warnings only (ORT's default prints an info line per folded initializer)
    logSeverityLevel: 3,
    extra: sessionConfig({ spinning: true }),
  };
  const session = typeof model === "string"
    ? await ort.InferenceSession.create(model, sessionOptions)
    : await ort.InferenceSession.create(model, sessionOptions);
  return {
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    async run(feeds) {
      const tensors: Record<string, ort.Tensor> = {};
      for (const [name, value] of Object.entries(feeds)) tensors[name] = new ort.Tensor("float32", value.data, value.shape);
      const results = await session.run(tensors);
      const out: Record<string, HostArray> = {};
      for (const [name, t] of Object.entries(results)) {
        out[name] = { data: t.data as Float32Array, shape: [...t.dims] };
        t.dispose();
      }
      return out;
    },
    release: () => session.release(),
  };
}
