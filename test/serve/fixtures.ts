/**
 * A trained model directory for the serve tests: a raw dataset on disk (vector,
 * tabular, text, image and audio rows, some modalities missing), prepared by
 * the data layer, trained a few epochs, saved with saveModel, and the image and
 * audio files copied into the model directory (request paths resolve there).
 */
import { cpSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { loadDataset } from "../../src/data/load.ts";
import type { PreparedDataset } from "../../src/data/types.ts";
import { startEngine } from "../../src/engine/backend.ts";
import { datasetModalityConfigs } from "../../src/model/prepareRows.ts";
import { saveModel } from "../../src/train/persistence.ts";
import { trainModel, type TrainedModel } from "../../src/train/trainer.ts";
import { sineWav, solidPng, tempDir, writeDataset } from "../data/helpers.ts";

export const servedConfig = {
  task: "classification",
  label: "label",
  split: { field: "split" },
  modalities: [
    { name: "embedding", type: "vector", field: "v" },
    { name: "facts", type: "tabular", numeric: ["age"], categorical: ["city"] },
    { name: "caption", type: "text", field: "caption", maxTokens: 5 },
    { name: "photo", type: "image", field: "photo", size: 4 },
    { name: "clip", type: "audio", field: "clip", sampleRate: 8000, nMels: 6, frames: 4, fftSize: 128 },
  ],
};

export type ServedFixture = { dataDir: string; modelDir: string; dataset: PreparedDataset; trained: TrainedModel; rows: Record<string, unknown>[] };

export async function servedModelFixture(): Promise<ServedFixture> {
  await startEngine();
  const files = {
    "img/red.png": await solidPng([255, 0, 0, 255], 6, 6),
    "img/blue.png": await solidPng([0, 0, 255, 255], 5, 9),
    "audio/low.wav": sineWav(300, 8000, 0.1),
    "audio/high.wav": sineWav(2000, 8000, 0.2),
  };
  // label "warm" goes with red photos, low clips, positive v[0] and Rome; every modality carries some signal
  const rows = Array.from({ length: 48 }, (_, i) => {
    const warm = i % 2 === 0;
    return {
      id: `row${i}`,
      split: i < 32 ? "train" : i < 40 ? "val" : "test",
      label: warm ? "warm" : "cold",
      v: i % 5 === 4 ? null : [warm ? 1 + (i % 3) : -1 - (i % 3), i % 4, -(i % 7) / 3],
      age: i % 6 === 5 ? null : 20 + ((i * 7) % 30),
      city: [warm ? "Rome" : "Oslo", null, "Paris"][i % 3],
      // 1 to 5 tokens, so the token mask matters
      caption: i % 7 === 6 ? null : [warm ? "sunny" : "snowy", "day", "number", String(i), "here"].slice(0, 1 + (i % 5)).join(" "),
      photo: i % 4 === 3 ? null : warm ? "img/red.png" : "img/blue.png",
      clip: i % 3 === 2 ? null : warm ? "audio/low.wav" : "audio/high.wav",
    };
  });
  const dataDir = writeDataset({ config: servedConfig, rows, files });
  const dataset = await loadDataset(dataDir, { cache: false });
  const trained = await trainModel(dataset, { method: "early", epochs: 3, batchSize: 16, encoderDim: 8, seed: 2 });
  const modelDir = join(tempDir("fusionkit-serve-"), "model");
  mkdirSync(modelDir, { recursive: true });
  saveModel(modelDir, trained, dataset, { modalityConfigs: datasetModalityConfigs(dataDir) ?? [] });
  cpSync(join(dataDir, "img"), join(modelDir, "img"), { recursive: true });
  cpSync(join(dataDir, "audio"), join(modelDir, "audio"), { recursive: true });
  return { dataDir, modelDir, dataset, trained, rows };
}
