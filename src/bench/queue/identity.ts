/**
 * What a worker must share with the coordinator before it may run a job:
 *
 *  - the same code: `codeVersion()` is the package version, the engine's
 *    version and a sha256 over every source file under src/, so a worker on a
 *    checkout one commit behind (or with a local edit) is told so instead of
 *    quietly producing numbers from other code;
 *  - the same data: `datasetHash()` is a sha256 over the prepared dataset's
 *    content (every array's bytes, row ids, labels, vocabularies, fitted
 *    preprocessing), not over file names or modification times as the cache
 *    key is, so two machines that prepared the same rows agree and a machine
 *    with other rows behind the same name does not.
 */
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import type { PreparedDataset, SplitName } from "../../data/types.ts";
import { describeEnvironment } from "../environment.ts";

const srcDir = fileURLToPath(new URL("../../", import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) => (entry.isDirectory() ? sourceFiles(join(dir, entry.name)) : entry.name.endsWith(".ts") ? [join(dir, entry.name)] : []))
    .sort();
}

let cachedVersion: string | undefined;

export function codeVersion(): string {
  if (cachedVersion) return cachedVersion;
  const hash = createHash("sha256");
  for (const file of sourceFiles(srcDir)) {
    const content = readFileSync(file);
    hash.update(`${relative(srcDir, file).split("\\").join("/")} ${content.length}\n`);
    hash.update(content);
  }
  const packages = describeEnvironment().packages;
  cachedVersion = `fusionkit@${packages.fusionkit} src:${hash.digest("hex").slice(0, 16)} @jax-js/jax@${packages["@jax-js/jax"] ?? "?"}`;
  return cachedVersion;
}

/** JSON with object keys sorted, so the hash does not depend on the order fields were set in. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === "object" && !Array.isArray(v) ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}

export function datasetHash(dataset: PreparedDataset): string {
  const hash = createHash("sha256");
  const { splits, cacheKey: _cacheKey, ...meta } = dataset;
  hash.update(canonical(meta));
  for (const name of ["train", "val", "test"] as SplitName[]) {
    const split = splits[name];
    hash.update(`\nsplit ${name} ${split.n}\n`);
    hash.update(canonical({ ids: split.ids, fields: split.fields }));
    for (const kind of ["inputs", "tokenMasks", "present"] as const) {
      for (const key of Object.keys(split[kind]).sort()) {
        const array = split[kind][key]!;
        hash.update(`\n${kind} ${key} ${array.length}\n`);
        hash.update(new Uint8Array(array.buffer, array.byteOffset, array.byteLength));
      }
    }
    hash.update(`\nlabels ${split.labels.length}\n`);
    hash.update(new Uint8Array(split.labels.buffer, split.labels.byteOffset, split.labels.byteLength));
  }
  return hash.digest("hex");
}
