/** The run of `fusionkit serve` (registered in src/cli/serve.ts). */
import { FusionkitError } from "../../errors.ts";
import { buildServeApp } from "../../serve/server.ts";
import type { ServeFlags } from "../serve.ts";

export async function runServe(flags: ServeFlags): Promise<void> {
  const { app, model } = await buildServeApp({
    modelDir: flags.model,
    onnxOnly: flags.onnxOnly === true,
    bodyLimit: flags.bodyLimit,
    maxRows: flags.maxRows,
    ignoreUnknownFields: flags.ignoreUnknownFields === true,
    requestTimeoutMs: flags.requestTimeout,
    maxConcurrent: flags.maxConcurrent,
    maxQueued: flags.maxQueued,
    logger: flags.log === true,
  });
  if (model.exported) console.error(model.exported);
  if (model.onnxOnly) console.error(`--onnx-only: serving ${model.onnxPath} without its checkpoint; its fingerprint is not checked`);
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
}
