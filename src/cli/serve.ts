/** `fusionkit serve`: HTTP predictions from a trained model through its ONNX graph (exported on first start). */
import { InvalidArgumentError, type Command } from "commander";
import { FusionkitError } from "../errors.ts";
import { buildServeApp, serveDefaults } from "../serve/server.ts";
import { positiveInt } from "./options.ts";

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
    .action(async (flags: { model: string; port: number; host: string; bodyLimit: number; maxRows: number; log?: boolean }) => {
      const { app, model } = await buildServeApp({ modelDir: flags.model, bodyLimit: flags.bodyLimit, maxRows: flags.maxRows, logger: flags.log === true });
      if (model.exported) console.error(`exported ${model.onnxPath}`);
      let address: string;
      try {
        address = await app.listen({ port: flags.port, host: flags.host });
      } catch (error) {
        await app.close();
        throw new FusionkitError(`cannot listen on ${flags.host}:${flags.port} (${(error as Error).message}); pick another --port`, { field: "port" });
      }
      console.error(`serving ${model.metadata.method} (${model.metadata.task}) at ${address}  [POST /predict, GET /model, GET /health]`);
      const stop = () => void app.close().then(() => process.exit(0));
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
    });
}
