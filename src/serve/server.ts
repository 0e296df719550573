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
 * input is a 400 naming the field (`rows[2].vec`), an unknown row key
 * included; bodies over `bodyLimit` bytes are a 413 before anything is
 * parsed; file paths in rows resolve inside the model directory or are
 * refused; a row whose outputs overflow is a 422 naming the row, never null
 * probabilities. Every error body is {error, field} and names no server path.
 *
 * Load: preprocessing and graph runs go in slices with the event loop free
 * between them (src/serve/slices.ts), so /health answers during a maximal
 * request; at most `maxConcurrent` requests work at once and `maxQueued`
 * wait (503 + Retry-After beyond); a request must arrive whole within
 * `requestTimeoutMs` (408 otherwise), so slow clients cannot hold connections.
 */
import Fastify, { type FastifyInstance, type FastifyReply } from "fastify";
import { STATUS_CODES } from "node:http";
import type { Socket } from "node:net";
import type { SplitData } from "../data/types.ts";
import { FusionkitError } from "../errors.ts";
import { serveDefaults } from "./defaults.ts";
import { maxShapleyModalities } from "../explain/shapley.ts";
import { firstIssue, requestSchema, rowJsonSchema, rowSchema, type PredictRequest, type RowRules } from "./rowSchema.ts";
import { AdaptiveSlicer, inSlices } from "./slices.ts";
import { openServedModel, type Explanation, type ServedModel } from "./onnxModel.ts";
import { checkFilePaths, prepareRequestRows, redactPaths, RequestError } from "./prepare.ts";
import { RequestLimiter, ServerBusy } from "./limiter.ts";

export type ServeOptions = {
  modelDir: string;
  /** serve model.onnx without the checkpoint beside it (no fingerprint check, no re-export) */
  onnxOnly?: boolean;
  /** largest accepted request body in bytes (default 1 MiB) */
  bodyLimit?: number;
  /** most rows per request (default 1024) */
  maxRows?: number;
  /** most graph rows one explain request may cost: rows x 2^modalities (default 65,536) */
  maxExplainRows?: number;
  /** accept and ignore row keys that are not model inputs (default: refuse them with 400) */
  ignoreUnknownFields?: boolean;
  /** most milliseconds from the first byte of a request to its last (default 30 s): a trickling body gets 408 */
  requestTimeoutMs?: number;
  /** POST /predict requests processed at once (default 2) */
  maxConcurrent?: number;
  /** POST /predict requests waiting for a slot (default 32); more get 503 + Retry-After */
  maxQueued?: number;
  /** open connections accepted at once (default 8,192); more are closed on arrival */
  maxConnections?: number;
  /** fastify's logger (default off) */
  logger?: boolean;
};

export { serveDefaults };

export type ServeApp = { app: FastifyInstance; model: ServedModel; limiter: RequestLimiter };

/** Every error body has this one shape: what went wrong, and the request field it concerns (null when none). */
export type ErrorBody = { error: string; field: string | null };

function sendError(reply: FastifyReply, status: number, error: string, field: string | null = null): FastifyReply {
  return reply.status(status).send({ error, field } satisfies ErrorBody);
}

/** fastify's own 4xx errors, reworded without its codes (body too large, malformed JSON, media type). */
function clientErrorMessage(error: { code?: string; message: string }, bodyLimit: number): { message: string; field: string | null } {
  switch (error.code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return { message: `the request body is larger than ${bodyLimit} bytes; send fewer rows per request`, field: null };
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return { message: `send the body as JSON (content-type: application/json)`, field: null };
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
      return { message: `the body is empty; send {"rows": [...]}`, field: "(body)" };
    case "FST_ERR_CTP_INVALID_JSON_BODY":
    case undefined:
      if (error instanceof SyntaxError || error.code === "FST_ERR_CTP_INVALID_JSON_BODY") return { message: `the body is not valid JSON (${error.message})`, field: "(body)" };
  }
  return { message: error.message, field: null };
}

/**
 * Errors node's HTTP parser raises before a request reaches fastify (a body
 * that did not arrive within the request timeout, oversized headers,
 * malformed HTTP), answered in the one ErrorBody shape; fastify's default
 * handler would answer {error, message, statusCode}.
 */
function connectionErrorResponse(code: string | undefined, requestTimeoutMs: number): { status: number; body: ErrorBody } {
  switch (code) {
    case "ERR_HTTP_REQUEST_TIMEOUT":
      return { status: 408, body: { error: `the request did not arrive within the server's request timeout (${requestTimeoutMs} ms); send the whole body at once, or start the server with a larger --request-timeout`, field: null } };
    case "HPE_HEADER_OVERFLOW":
      return { status: 431, body: { error: "the request headers are larger than the server accepts; send fewer or shorter headers", field: null } };
    default:
      return { status: 400, body: { error: "the request is not valid HTTP", field: null } };
  }
}

function writeConnectionError(error: { code?: string }, socket: Socket, requestTimeoutMs: number): void {
  // a reset connection has nobody left to answer
  if (error.code === "ECONNRESET" || socket.destroyed) return;
  if (socket.writable) {
    const { status, body } = connectionErrorResponse(error.code, requestTimeoutMs);
    const json = JSON.stringify(body);
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Length: ${Buffer.byteLength(json)}\r\nContent-Type: application/json; charset=utf-8\r\nConnection: close\r\n\r\n${json}`);
  }
  socket.destroy();
}

/** The first row whose outputs are not all finite (overflow inside the graph), or -1. */
function firstNonFiniteRow(values: ArrayLike<number>, n: number): number {
  const width = values.length / Math.max(1, n);
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i])) return Math.floor(i / width);
  return -1;
}

export async function buildServeApp(options: ServeOptions): Promise<ServeApp> {
  const model = await openServedModel(options.modelDir, { onnxOnly: options.onnxOnly === true });
  const maxRows = options.maxRows ?? serveDefaults.maxRows;
  const maxExplainRows = options.maxExplainRows ?? serveDefaults.maxExplainRows;
  const bodyLimit = options.bodyLimit ?? serveDefaults.bodyLimit;
  const requestTimeout = options.requestTimeoutMs ?? serveDefaults.requestTimeoutMs;
  const { metadata } = model;
  const rules: RowRules = { passThrough: ["id", metadata.labelField].filter((f) => f), ignoreUnknownFields: options.ignoreUnknownFields === true };
  const schema = requestSchema(maxRows);
  const rowCheck = rowSchema(model.fields, rules);
  const rowSlicer = new AdaptiveSlicer();
  const limiter = new RequestLimiter(options.maxConcurrent ?? serveDefaults.maxConcurrent, options.maxQueued ?? serveDefaults.maxQueued);
  const started = Date.now();
  const app = Fastify({
    bodyLimit,
    logger: options.logger ?? false,
    requestTimeout,
    clientErrorHandler: (error, socket) => writeConnectionError(error, socket, requestTimeout),
    // node checks the request timeout on this interval (its default, 30 s, would let a trickling body live that much longer)
    http: { headersTimeout: requestTimeout, connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(requestTimeout / 4))) },
  });
  app.server.maxConnections = options.maxConnections ?? serveDefaults.maxConnections;
  app.addHook("onClose", async () => model.close());
  // JSON only: a text/plain body is a 415, not a string that fails validation
  app.removeContentTypeParser("text/plain");

  app.setErrorHandler((error: { statusCode?: number; code?: string; message: string }, _request, reply) => {
    const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
    if (status === 500) {
      app.log.error(error);
      return sendError(reply, 500, "internal error; the server log has the details");
    }
    const { message, field } = clientErrorMessage(error, bodyLimit);
    return sendError(reply, status, redactPaths(message, model.root), field);
  });

  app.setNotFoundHandler((request, reply) =>
    sendError(reply, 404, `no route ${request.method} ${request.url.split("?")[0]!.slice(0, 100)}; the routes are POST /predict, GET /model, GET /health`),
  );

  app.get("/health", async () => ({ status: "ok", method: metadata.method, uptimeSeconds: Math.round((Date.now() - started) / 1000), ...limiter.load }));

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
    rowSchema: rowJsonSchema(model.fields, rules),
    limits: {
      bodyLimitBytes: bodyLimit,
      maxRows,
      explain: metadata.modalities.length <= maxShapleyModalities,
      requestTimeoutMs: requestTimeout,
      maxConcurrent: limiter.active,
      maxQueued: limiter.queued,
      unknownRowFields: rules.ignoreUnknownFields ? "ignored" : "refused",
    },
    graph: { inputs: metadata.inputs, outputs: metadata.outputs, opset: metadata.opset },
    dataset: metadata.dataset,
    ...(metadata.fingerprint ? { fingerprint: metadata.fingerprint } : {}),
    ...(metadata.verification ? { verification: metadata.verification } : {}),
    ...(metadata.encoders ? { encoders: metadata.encoders } : {}),
  }));

  app.post("/predict", async (request, reply) => {
    const parsed = schema.safeParse(request.body);
    if (!parsed.success) {
      const { field, message } = firstIssue(parsed.error, model.fields, rules);
      return sendError(reply, 400, `${field}: ${message}`, field);
    }
    const body: PredictRequest = parsed.data;
    // the rows as rowSchema parsed them, one slice at a time
    const checked: Record<string, unknown>[] = new Array(body.rows.length);
    try {
      return await limiter.run(async () => {
        await inSlices(body.rows.length, rowSlicer, (from, to) => {
          for (let i = from; i < to; i++) {
            const row = rowCheck.safeParse(body.rows[i]);
            if (!row.success) {
              const { field, message } = firstIssue(row.error, model.fields, rules, ["rows", i]);
              throw new RequestError(field, message);
            }
            checked[i] = row.data;
          }
        });
        const rows = await checkFilePaths(checked, model.fields, model.root);
        if (body.explain) checkExplainable(body.rows.length, metadata.modalities.length, maxExplainRows);
        const split = await prepareRequestRows(rows, model.fields, model.root);
        const { logits, scores } = await model.predict(split);
        const overflowed = [firstNonFiniteRow(logits, split.n), firstNonFiniteRow(scores, split.n)].filter((i) => i >= 0);
        if (overflowed.length) {
          const row = Math.min(...overflowed);
          return unprocessable(reply, checked, row, "the model's output for this row is not a finite number (a value too large for float32 arithmetic overflowed inside the model); check the row's values");
        }
        const explanation = body.explain ? await model.explain(split, scores) : undefined;
        if (explanation) {
          const row = firstNonFiniteRow(explanation.phi, split.n);
          if (row >= 0) return unprocessable(reply, checked, row, "the explanation of this row is not finite (a value overflowed inside the model with some modalities removed); check the row's values");
        }
            return { predictions: formatPredictions(model, checked, split, scores, explanation) };
      });
    } catch (error) {
      if (error instanceof ServerBusy) {
        reply.header("retry-after", String(error.retryAfterSeconds));
        const { running, waiting } = limiter.load;
        return sendError(reply, 503, `the server is busy (${running} requests running, ${waiting} waiting); retry after ${error.retryAfterSeconds} s`);
      }
      if (error instanceof RequestError) return sendError(reply, 400, redactPaths(`${error.field}: ${error.message}`, model.root), error.field);
      // a problem with the served model itself (not the request): the operator reads it in the log, the client gets no server detail
      if (error instanceof FusionkitError) {
        app.log.error(error);
        return sendError(reply, 500, "the model could not process this request; the server log has the details");
      }
      throw error;
    }
  });

  return { app, model, limiter };
}

function unprocessable(reply: FastifyReply, rows: Record<string, unknown>[], row: number, why: string): FastifyReply {
  const id = rows[row]?.id;
  const named = typeof id === "string" || typeof id === "number" ? ` (id ${JSON.stringify(id)})` : "";
  return sendError(reply, 422, `rows[${row}]${named}: ${why}`, `rows[${row}]`);
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
