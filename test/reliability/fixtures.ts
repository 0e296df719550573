/**
 * Shared pieces of the reliability catalogue (docs/reliability.md): a small
 * trained late_mean model on the serve tests' raw dataset (every modality
 * type, image and audio files copied into the model directory), and running
 * the CLI the way a user does.
 */
import { spawn, spawnSync } from "node:child_process";
import { cpSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import type { PreparedDataset } from "../../src/data/types.ts";
import { startEngine } from "../../src/engine/backend.ts";
import { datasetModalityConfigs } from "../../src/model/prepareRows.ts";
import { saveModel } from "../../src/train/persistence.ts";
import { trainModel, type TrainedModel } from "../../src/train/trainer.ts";
import { servedModelFixture, type ServedFixture } from "../../bench/fixtures/servedModel.ts";
import { tempDir } from "../../bench/fixtures/datasetFiles.ts";

export type ModelFixture = ServedFixture & { fingerprint: string };

/** The serve fixture's data, trained with `method` (late_mean by default: late_vote has the same parameters) into a fresh directory. */
export async function modelFixture(method = "late_mean", seed = 2): Promise<ModelFixture> {
  const served = await servedModelFixture();
  return retrain(served, method, seed);
}

/** Trains again on the fixture's data and saves into a fresh model directory (image/audio files copied). */
export async function retrain(base: ServedFixture, method: string, seed: number, modelDir?: string): Promise<ModelFixture> {
  await startEngine();
  const dataset: PreparedDataset = base.dataset;
  const trained: TrainedModel = await trainModel(dataset, { method, epochs: 2, batchSize: 16, encoderDim: 8, seed });
  const dir = modelDir ?? join(tempDir("fusionkit-reliability-"), "model");
  mkdirSync(dir, { recursive: true });
  const fingerprint = saveModel(dir, trained, dataset, { source: base.dataDir, modalityConfigs: datasetModalityConfigs(base.dataDir) ?? [] });
  cpSync(join(base.dataDir, "img"), join(dir, "img"), { recursive: true });
  cpSync(join(base.dataDir, "audio"), join(dir, "audio"), { recursive: true });
  return { ...base, modelDir: dir, trained, fingerprint };
}

/** `fusionkit ...args` to completion: exit status and output. */
export function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, ["bin/fusionkit.mjs", ...args], { encoding: "utf8" });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

/** `fusionkit serve ...args` until it prints its address (resolves) or exits (rejects with its stderr). */
export function startServe(args: string[]): Promise<{ address: string; stderr: () => string; stop: () => void }> {
  const child = spawn(process.execPath, ["bin/fusionkit.mjs", "serve", "--port", "0", ...args], { stdio: ["ignore", "ignore", "pipe"] });
  let text = "";
  return new Promise((resolve, reject) => {
    child.stderr.on("data", (chunk) => {
      text += chunk;
      const match = /at (http:\/\/127\.0\.0\.1:\d+)/.exec(text);
      if (match) resolve({ address: match[1]!, stderr: () => text, stop: () => child.kill("SIGTERM") });
    });
    child.on("exit", (code) => reject(Object.assign(new Error(`serve exited with ${code}`), { stderr: text, code })));
  });
}
