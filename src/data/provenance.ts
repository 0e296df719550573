/**
 * Where a model's training data came from, as recorded in its config.json:
 * a dataset directory by absolute path (so `eval --model` works from any
 * working directory) plus a sha256 over its dataset.json, rows file and .npy
 * vector files (so data edited since training is noticed instead of silently
 * giving other splits and figures); a built-in dataset by name.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { FusionkitError } from "../errors.ts";
import { parseDatasetConfig } from "./schema.ts";

export type DatasetProvenance = { source: string; contentHash?: string };

/** The dataset.json path of a dataset argument (a directory or the dataset.json itself), or undefined for a built-in name. */
function configPathOf(dirOrName: string): string | undefined {
  const path = resolve(dirOrName);
  if (!existsSync(path)) return undefined;
  return statSync(path).isFile() ? path : join(path, "dataset.json");
}

/** sha256 over dataset.json, the rows file and every .npy vector file, each prefixed by its name and length. */
export function datasetContentHash(configPath: string): string {
  const hash = createHash("sha256");
  const add = (label: string, bytes: Buffer) => hash.update(`${label}\0${bytes.length}\0`).update(bytes);
  const configText = readFileSync(configPath);
  add("dataset.json", configText);
  const config = parseDatasetConfig(configText.toString("utf8"), configPath);
  const dir = dirname(configPath);
  add(config.rows, readFileSync(resolve(dir, config.rows)));
  for (const modality of config.modalities) {
    if (modality.type === "vector" && modality.file) add(modality.file, readFileSync(resolve(dir, modality.file)));
  }
  return hash.digest("hex");
}

/** What to record for the dataset argument `dirOrName` of a training run. */
export function describeProvenance(dirOrName: string): DatasetProvenance {
  const configPath = configPathOf(dirOrName);
  if (!configPath || !existsSync(configPath)) return { source: dirOrName };
  return { source: resolve(dirOrName), contentHash: datasetContentHash(configPath) };
}

/**
 * Refuses to evaluate on a recorded dataset that has gone or changed since
 * training (other rows mean other splits and other fitted statistics).
 * `where` names the model directory for the message.
 */
export function checkProvenance(recorded: DatasetProvenance, where: string): void {
  if (!recorded.contentHash) return;
  const configPath = configPathOf(recorded.source);
  if (!configPath || !existsSync(configPath)) {
    throw new FusionkitError(`the model's training data ${recorded.source} is gone. Pass --data with the dataset to evaluate on`, { file: join(where, "config.json"), field: "dataset.source" });
  }
  const now = datasetContentHash(configPath);
  if (now !== recorded.contentHash) {
    throw new FusionkitError(
      `the model's training data ${recorded.source} has changed since training (content sha256 ${recorded.contentHash.slice(0, 12)} then, ${now.slice(0, 12)} now), so its splits and statistics are not the ones the model was trained with. Pass --data ${recorded.source} to evaluate on it as it is now`,
      { file: join(where, "config.json"), field: "dataset.source" },
    );
  }
}
