/**
 * `fusionkit serve`: HTTP predictions from a trained model through its ONNX
 * graph (exported on first start). Registration only; the run (fastify,
 * onnxruntime) is src/cli/actions/serve.ts.
 */
import { InvalidArgumentError, type Command } from "commander";
import { serveDefaults } from "../serve/defaults.ts";
import { positiveInt } from "./options.ts";

export type ServeFlags = { model: string; port: number; host: string; bodyLimit: number; maxRows: number; log?: boolean };

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError(`expected a port number 0-65535, got "${value}".`);
  return n;
}

export function register(program: Command): void {
  program
    .command("serve")
    .description("serve predictions over HTTP: POST /predict {rows, explain?}, GET /model, GET /health")
    .requiredOption("--model <dir>", "checkpoint directory written by fusionkit train (model.onnx is exported into it if missing)")
    .option("--port <n>", "TCP port (0 picks a free one)", port, 8080)
    .option("--host <address>", "interface to listen on (0.0.0.0 for every interface)", "127.0.0.1")
    .option("--body-limit <bytes>", "largest request body accepted", positiveInt, serveDefaults.bodyLimit)
    .option("--max-rows <n>", "most rows per request", positiveInt, serveDefaults.maxRows)
    .option("--log", "log every request (fastify's JSON logger)")
    .action(async (flags: ServeFlags) => {
      const { runServe } = await import("./actions/serve.ts");
      await runServe(flags);
    });
}
