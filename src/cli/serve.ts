/**
 * `fusionkit serve`: HTTP predictions from a trained model through its ONNX
 * graph (exported on first start). Registration only; the run (fastify,
 * onnxruntime) is src/cli/actions/serve.ts.
 */
import type { Command } from "commander";
import { serveDefaults } from "../serve/defaults.ts";
import { port, positiveInt } from "./options.ts";

export type ServeFlags = {
  model: string;
  port: number;
  host: string;
  bodyLimit: number;
  maxRows: number;
  onnxOnly?: boolean;
  ignoreUnknownFields?: boolean;
  requestTimeout: number;
  maxConcurrent: number;
  maxQueued: number;
  log?: boolean;
};

export function register(program: Command): void {
  program
    .command("serve")
    .description("serve predictions over HTTP: POST /predict {rows, explain?}, GET /model, GET /health")
    .requiredOption("--model <dir>", "checkpoint directory written by fusionkit train (model.onnx is exported into it if missing or stale)")
    .option("--port <n>", "TCP port (0 picks a free one)", port, 8080)
    .option("--host <address>", "interface to listen on (0.0.0.0 for every interface)", "127.0.0.1")
    .option("--body-limit <bytes>", "largest request body accepted", positiveInt, serveDefaults.bodyLimit)
    .option("--max-rows <n>", "most rows per request", positiveInt, serveDefaults.maxRows)
    .option("--onnx-only", "serve model.onnx as it is, without config.json/model.safetensors beside it (no fingerprint check, no re-export)")
    .option("--ignore-unknown-fields", "accept and ignore row keys that are not model inputs (default: 400 naming the key)")
    .option("--request-timeout <ms>", "most milliseconds a request may take to arrive, body included (408 after)", positiveInt, serveDefaults.requestTimeoutMs)
    .option("--max-concurrent <n>", "POST /predict requests processed at once", positiveInt, serveDefaults.maxConcurrent)
    .option("--max-queued <n>", "POST /predict requests waiting for a slot; more get 503 + Retry-After", positiveInt, serveDefaults.maxQueued)
    .option("--log", "log every request (fastify's JSON logger)")
    .action(async (flags: ServeFlags) => {
      const { runServe } = await import("./actions/serve.ts");
      await runServe(flags);
    });
}
