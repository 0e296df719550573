/**
 * `fusionkit serve`: an HTTP API over the exported ONNX graph (fastify +
 * onnxruntime-node).
 *
 *   GET  /health    liveness: { status: "ok", method, uptimeSeconds }
 *   GET  /model     what to send and what comes back: row JSON Schema, modalities
 *                   and their row fields, label names, graph inputs/outputs, metadata
 *   POST /predict   { rows: [raw rows], explain?: true } -> { predictions: [...] }
 *
 * Rows are the dataset's raw format (modalities may be null or absent). Bad
 * input is a 400 naming the field (`rows[2].vec`); bodies over `bodyLimit`
 * bytes are a 413 before anything is parsed; file paths in rows resolve inside
 * the model directory or are refused. Requests are independent (one shared
 * session; ONNX Runtime runs concurrent calls safely).
 */
import Fastify, { type FastifyInstance } from "fastify";
import type { SplitData } from "../data/types.ts";
import { FusionkitError } from "../errors.ts";
import { serveDefaults } from "./defaults.ts";
import { maxShapleyModalities } from "../explain/shapley.ts";
import { firstIssue, requestSchema, rowJsonSchema, type PredictRequest } from "./rowSchema.ts";
import { openServedModel, type Explanation, type ServedModel } from "./onnxModel.ts";
import { checkFilePaths, prepareRequestRows, RequestError } from "./prepare.ts";

export type ServeOptions = {
  modelDir: string;
  /** largest accepted request body in bytes (default 1 MiB) */
  bodyLimit?: number;
  /** most rows per request (default 1024) */
  maxRows?: number;
  /** most graph rows one explain request may cost: rows x 2^modalities (default 65,536) */
  maxExplainRows?: number;
  /** fastify's logger (default off) */
  logger?: boolean;
};

export { serveDefaults };

export type ServeApp = { app: FastifyInstance; model: ServedModel };

export async function buildServeApp(options: ServeOptions): Promise<ServeApp> {
  const model = await openServedModel(options.modelDir);
  const maxRows = options.maxRows ?? serveDefaults.maxRows;
  const maxExplainRows = options.maxExplainRows ?? serveDefaults.maxExplainRows;
  const schema = requestSchema(model.fields, maxRows);
  const { metadata } = model;
  const started = Date.now();
  const app = Fastify({ bodyLimit: options.bodyLimit ?? serveDefaults.bodyLimit, logger: options.logger ?? false });
  app.addHook("onClose", async () => model.close());

  // fastify's own errors (413 body too large, 400 malformed JSON, 415 media type) keep their status, with our body shape
  app.setErrorHandler((error: { statusCode?: number; message: string }, _request, reply) => {
    const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
    if (status === 500) app.log.error(error);
    return reply.status(status).send({ error: status === 500 ? "internal error" : error.message });
  });

  app.get("/health", async () => ({ status: "ok", method: metadata.method, uptimeSeconds: Math.round((Date.now() - started) / 1000) }));

  app.get("/model", async () => ({
    method: metadata.method,
    family: metadata.family,
    task: metadata.task,
    labelField: metadata.labelField,
    labelNames: metadata.labelNames,
    modalities: model.fields.map(({ spec, field, columns }) => ({
      name: spec.name,
      type: spec.type,
      ...(columns ? { columns } : { field }),
      shape: spec.shape,
      ...(spec.vocabSize !== undefined ? { vocabularySize: spec.vocabSize } : {}),
      ...(spec.preprocessing ? { preprocessing: spec.preprocessing } : {}),
    })),
    rowSchema: rowJsonSchema(model.fields),
    limits: { bodyLimitBytes: options.bodyLimit ?? serveDefaults.bodyLimit, maxRows, explain: metadata.modalities.length <= maxShapleyModalities },
    graph: { inputs: metadata.inputs, outputs: metadata.outputs, opset: metadata.opset },
    dataset: metadata.dataset,
  }));

  app.post("/predict", async (request, reply) => {
    const parsed = schema.safeParse(request.body);
    if (!parsed.success) {
      const { field, message } = firstIssue(parsed.error);
      return reply.status(400).send({ error: `${field}: ${message}`, field });
    }
    const body: PredictRequest = parsed.data;
    try {
      const rows = checkFilePaths(body.rows, model.fields, model.root);
      if (body.explain) checkExplainable(body.rows.length, metadata.modalities.length, maxExplainRows);
      const split = await prepareRequestRows(rows, model.fields, model.root);
      const { scores } = await model.predict(split);
      const explanation = body.explain ? await model.explain(split, scores) : undefined;
      return { predictions: formatPredictions(model, body.rows, split, scores, explanation) };
    } catch (error) {
      if (error instanceof RequestError) return reply.status(400).send({ error: `${error.field}: ${error.message}`, field: error.field });
      // a problem with the served model itself (not the request): the operator can act on the message
      if (error instanceof FusionkitError) {
        app.log.error(error);
        return reply.status(500).send({ error: error.message });
      }
      throw error;
    }
  });

  return { app, model };
}

function checkExplainable(rows: number, modalities: number, maxExplainRows: number): void {
  if (modalities > maxShapleyModalities) {
    throw new RequestError("explain", `exact attribution over ${modalities} modalities is not offered (at most ${maxShapleyModalities})`);
  }
  const cost = rows * 2 ** modalities;
  if (cost > maxExplainRows) {
    const most = Math.floor(maxExplainRows / 2 ** modalities);
    throw new RequestError("explain", `explaining ${rows} rows costs ${cost} graph rows (rows x 2^${modalities}); send at most ${most} rows with "explain": true`);
  }
}

const round = (x: number) => Math.round(x * 1e6) / 1e6;

export function formatPredictions(model: ServedModel, rows: Record<string, unknown>[], split: SplitData, scores: Float32Array, explanation?: Explanation): Record<string, unknown>[] {
  const { task, outDim, labelNames } = model.metadata;
  const names = model.metadata.modalities.map((m) => m.name);
  return Array.from({ length: split.n }, (_, i) => {
    const row = scores.subarray(i * outDim, (i + 1) * outDim);
    const missing = names.filter((name) => split.present[name]![i]! < 0.5);
    const out: Record<string, unknown> = {};
    const id = rows[i]!.id;
    if (typeof id === "string" || typeof id === "number") out.id = id;
    if (task === "classification") {
      let best = 0;
      for (let c = 1; c < outDim; c++) if (row[c]! > row[best]!) best = c;
      out.prediction = labelNames[best];
      out.probabilities = Object.fromEntries(labelNames.map((name, c) => [name, round(row[c]!)]));
    } else if (task === "multilabel") {
      out.prediction = labelNames.filter((_, c) => row[c]! > 0.5);
      out.probabilities = Object.fromEntries(labelNames.map((name, c) => [name, round(row[c]!)]));
    } else {
      out.prediction = row[0];
    }
    out.missing = missing;
    if (explanation) {
      const M = names.length;
      out.explain = {
        method: "exact modality Shapley values",
        explained: task === "regression" ? "prediction" : `probability of "${labelNames[explanation.target[i]!]}"`,
        base: round(explanation.base[i]!),
        attribution: Object.fromEntries(names.map((name, m) => [name, round(explanation.phi[i * M + m]!)])),
      };
    }
    return out;
  });
}
