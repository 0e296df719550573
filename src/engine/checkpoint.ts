/**
 * Checkpoints: parameters as safetensors (readable by PyTorch and Hugging Face)
 * plus a JSON config beside them.
 *
 * safetensors layout: u64 little-endian header length N, N bytes of JSON
 * {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}},
 * then the raw little-endian tensor bytes. We write F32 only. Our metadata
 * holds a sha256 of the data section, so a tampered file is refused.
 * Writes are atomic as a pair (src/io/atomicWrite.ts): config.json is the
 * commit marker, renamed into place last, so a killed save leaves the old pair,
 * the new pair, or weights without a config.json, which loadCheckpoint refuses.
 *
 * The model fingerprint binds config.json to the weights: sha256 over the
 * config's canonical JSON (keys sorted) and the weights' sha256, written into
 * the safetensors metadata at save time together with a short hash per
 * top-level config field. Loading recomputes it from the config.json on disk,
 * so a reversed labelNames or another method name is refused (naming the
 * field) instead of running the weights under another meaning. The exported
 * ONNX graph records the same fingerprint (src/export/exportModel.ts), which
 * is how `fusionkit serve` recognises a stale model.onnx.
 */
import { createHash } from "node:crypto";
import { readFileSync, existsSync } from "node:fs";
import { basename, join } from "node:path";
import { FusionkitError } from "../errors.ts";
import { writeFilesAtomic } from "../io/atomicWrite.ts";
import type { HostArray } from "./tensor.ts";

/** JSON with object keys sorted at every level: the same value always gives the same text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === "object" && !Array.isArray(v) ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, (v as Record<string, unknown>)[k]])) : v,
  );
}

const sha256 = (data: string | Uint8Array): string => createHash("sha256").update(data).digest("hex");

/** The config as it reads back from config.json (undefined dropped, -0 -> 0), canonical. */
const configText = (config: Record<string, unknown>): string => canonicalJson(JSON.parse(JSON.stringify(config)));

/** One hash over the config's canonical form and the weights (the data section's sha256). */
export function modelFingerprintOf(config: Record<string, unknown>, weightsSha256: string): string {
  return sha256(`fusionkit-fingerprint-v1\n${sha256(configText(config))}\n${weightsSha256}`);
}

/** A short hash of each top-level config field, so a mismatch can name what changed. */
function fieldHashes(config: Record<string, unknown>): Record<string, string> {
  const parsed = JSON.parse(JSON.stringify(config)) as Record<string, unknown>;
  return Object.fromEntries(Object.keys(parsed).sort().map((k) => [k, sha256(canonicalJson(parsed[k])).slice(0, 16)]));
}

/** The safetensors metadata that binds `config` to the weights whose data section hashes to `weightsSha256`. */
function fingerprintMetadata(config: Record<string, unknown>, weightsSha256: string): Record<string, string> {
  return { fusionkit_fingerprint: modelFingerprintOf(config, weightsSha256), fusionkit_config_fields: JSON.stringify(fieldHashes(config)) };
}

export function encodeSafetensors(
  tensors: [string, HostArray][],
  metadata: Record<string, string> | ((weightsSha256: string) => Record<string, string>) = {},
): Uint8Array {
  let offset = 0;
  const header: Record<string, unknown> = {};
  for (const [name, t] of tensors) {
    const bytes = t.data.length * 4;
    header[name] = { dtype: "F32", shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  const body = new Uint8Array(offset);
  let at = 0;
  for (const [, t] of tensors) {
    // Float32Array is little-endian on every platform Node runs on (x86, arm).
    body.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
    at += t.data.byteLength;
  }
  const weightsSha256 = sha256(body);
  header.__metadata__ = { ...(typeof metadata === "function" ? metadata(weightsSha256) : metadata), format: "pt", fusionkit_sha256: weightsSha256 };
  let json = JSON.stringify(header);
  // pad the header so the data section starts 8-byte aligned, as the reference writer does
  while ((8 + Buffer.byteLength(json)) % 8 !== 0) json += " ";
  const headerBytes = Buffer.from(json, "utf8");
  const out = new Uint8Array(8 + headerBytes.length + body.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  out.set(body, 8 + headerBytes.length);
  return out;
}

export function decodeSafetensors(bytes: Uint8Array, file = "<buffer>"): { tensors: Map<string, HostArray>; metadata: Record<string, string> } {
  const fail = (why: string) =>
    new FusionkitError(`not a valid safetensors checkpoint (${why}). Re-save the model with "fusionkit train", or restore the file from a backup.`, { file });
  if (bytes.length < 8) throw fail("file shorter than its 8-byte header length");
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  if (n <= 0 || 8 + n > bytes.length) throw fail(`header length ${n} does not fit in ${bytes.length} bytes: truncated`);
  let header: Record<string, any>;
  try {
    header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + n)).toString("utf8"));
  } catch {
    throw fail("header is not JSON");
  }
  const body = bytes.subarray(8 + n);
  const metadata = (header.__metadata__ ?? {}) as Record<string, string>;
  const tensors = new Map<string, HostArray>();
  for (const [name, info] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    if (info.dtype !== "F32") throw fail(`tensor "${name}" has dtype ${info.dtype}; only F32 is supported`);
    const [begin, end] = info.data_offsets as [number, number];
    const count = (info.shape as number[]).reduce((a, b) => a * b, 1);
    if (end > body.length) throw fail(`tensor "${name}" ends at byte ${end} but the data section has ${body.length}: truncated`);
    if (end - begin !== count * 4) throw fail(`tensor "${name}" has ${end - begin} bytes for shape [${info.shape}]`);
    const copy = new Uint8Array(end - begin);
    copy.set(body.subarray(begin, end));
    tensors.set(name, { data: new Float32Array(copy.buffer), shape: info.shape });
  }
  if (metadata.fusionkit_sha256) {
    const actual = createHash("sha256").update(body).digest("hex");
    if (actual !== metadata.fusionkit_sha256) throw fail("checksum mismatch: the data was modified or damaged");
  }
  return { tensors, metadata };
}

export type Checkpoint = {
  config: Record<string, unknown>;
  tensors: Map<string, HostArray>;
  /** the model fingerprint of this config.json + weights pair (checked against the saved one when it was recorded) */
  fingerprint: string;
};

/** Saves `dir/model.safetensors` (with the model fingerprint in its metadata) and `dir/config.json` atomically; returns the fingerprint. */
export function saveCheckpoint(dir: string, tensors: [string, HostArray][], config: Record<string, unknown>): string {
  let fingerprint = "";
  const weights = encodeSafetensors(tensors, (weightsSha256) => {
    const metadata = fingerprintMetadata(config, weightsSha256);
    fingerprint = metadata.fusionkit_fingerprint!;
    return metadata;
  });
  // config.json last: the pair's commit marker (src/io/atomicWrite.ts)
  writeFilesAtomic([
    { path: join(dir, "model.safetensors"), data: weights },
    { path: join(dir, "config.json"), data: JSON.stringify(config, null, 2) + "\n" },
  ]);
  return fingerprint;
}

/**
 * Refuses a config.json that is not the one saved with these weights, naming
 * the top-level fields that differ. Checkpoints written before the
 * fingerprint existed carry none and are not checked.
 */
function checkFingerprint(config: Record<string, unknown>, metadata: Record<string, string>, configPath: string, weightsPath: string): string {
  const actual = modelFingerprintOf(config, metadata.fusionkit_sha256 ?? "");
  const saved = metadata.fusionkit_fingerprint;
  if (saved === undefined || saved === actual) return actual;
  let changed: string[] = [];
  try {
    const before = JSON.parse(metadata.fusionkit_config_fields ?? "{}") as Record<string, string>;
    const now = fieldHashes(config);
    changed = [...new Set([...Object.keys(before), ...Object.keys(now)])].filter((k) => before[k] !== now[k]).sort();
  } catch {
    // a damaged field list only costs the field names in the message
  }
  const what = changed.length === 0 ? "its content" : changed.length === 1 ? `field "${changed[0]}"` : `fields ${changed.map((k) => `"${k}"`).join(", ")}`;
  throw new FusionkitError(
    `does not match ${basename(weightsPath)} (${what} changed since the model was saved; model fingerprint ${saved.slice(0, 12)}, this config gives ${actual.slice(0, 12)}). ` +
      `Restore the config.json saved with these weights, or retrain the model into this directory.`,
    { file: configPath },
  );
}

export function loadCheckpoint(dir: string): Checkpoint {
  const weights = join(dir, "model.safetensors");
  const configPath = join(dir, "config.json");
  for (const f of [weights, configPath]) {
    if (!existsSync(f)) throw new FusionkitError(`missing checkpoint file. Point --model at a directory written by "fusionkit train".`, { file: f });
  }
  let config: Record<string, unknown>;
  try {
    config = JSON.parse(readFileSync(configPath, "utf8"));
  } catch (e) {
    throw new FusionkitError(`config is not valid JSON (${(e as Error).message}).`, { file: configPath });
  }
  if (config === null || typeof config !== "object" || Array.isArray(config)) {
    throw new FusionkitError(`config is not a JSON object; restore the config.json saved with the model or retrain it.`, { file: configPath });
  }
  const { tensors, metadata } = decodeSafetensors(readFileSync(weights), weights);
  return { config, tensors, fingerprint: checkFingerprint(config, metadata, configPath, weights) };
}
