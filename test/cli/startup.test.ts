import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { resolve } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";

const run = promisify(execFile);
const bin = resolve(import.meta.dirname, "../../bin/fusionkit.mjs");
const recorder = resolve(import.meta.dirname, "fixtures/recordImports.mjs");

async function resolvedModules(...args: string[]): Promise<{ stdout: string; modules: string[] }> {
  const { stdout, stderr } = await run(process.execPath, ["--import", recorder, bin, ...args], { timeout: 60_000 });
  const line = stderr.split("\n").find((l) => l.startsWith("resolved-modules "));
  assert.ok(line, `no module list on stderr: ${stderr}`);
  return { stdout, modules: JSON.parse(line.slice("resolved-modules ".length)) as string[] };
}

// What a command's implementation pulls in; registering the commands must load none of it.
const heavy = /\/src\/(engine|train|fusion|export|explain|model|encoders|data)\/|\/src\/serve\/(?!defaults\.ts)|\/node_modules\/(fastify|onnxruntime-node|sharp|@jax-js|protobufjs|onnx-proto|bullmq|ioredis)\//;

test("fusionkit --help registers every command without loading any implementation", async () => {
  const { stdout, modules } = await resolvedModules("--help");
  for (const command of ["train", "eval", "predict", "bench", "explain", "data", "export", "serve", "align", "search", "worker", "help"]) {
    assert.match(stdout, new RegExp(`^  ${command}\\b`, "m"));
  }
  assert.ok(modules.some((url) => url.endsWith("/src/cli/train.ts")), "the recorder sees the CLI modules");
  assert.deepEqual(modules.filter((url) => heavy.test(url)), []);
});

test("a command's --help loads only what its help shows (train: the trainer's defaults and the method names), nothing of the others", async () => {
  const { stdout, modules } = await resolvedModules("train", "--help");
  assert.match(stdout, /--epochs <n> +maximum epochs \(default: 20\)/);
  assert.match(stdout, /\blmf\b/);
  assert.deepEqual(modules.filter((url) => /\/src\/(export|explain)\/|\/src\/serve\/(?!defaults\.ts)|\/src\/align\/(?!filters\.ts)|\/node_modules\/(fastify|onnxruntime-node|sharp)\//.test(url)), []);
});
