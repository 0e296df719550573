/**
 * Checkpoints: parameters as safetensors (readable by PyTorch and Hugging Face)
 * plus a JSON config beside them.
 *
 * safetensors layout: u64 little-endian header length N, N bytes of JSON
 * {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}},
 * then the raw little-endian tensor bytes. We write F32 only. Our metadata
 * holds a sha256 of the data section, so a tampered file is refused.
 * Writes are atomic (temp file in the same directory + rename).
 */
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, writeFileSync, existsSync } from "node:fs";
import { dirname, join, basename } from "node:path";
import { FusionkitError } from "../errors.ts";
import type { HostArray } from "./tensor.ts";

export function writeFileAtomic(path: string, data: Uint8Array | string): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

export function encodeSafetensors(tensors: [string, HostArray][], metadata: Record<string, string> = {}): Uint8Array {
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
  header.__metadata__ = { ...metadata, format: "pt", fusionkit_sha256: createHash("sha256").update(body).digest("hex") };
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

export type Checkpoint = { config: Record<string, unknown>; tensors: Map<string, HostArray> };

/** Saves `dir/model.safetensors` and `dir/config.json` atomically. */
export function saveCheckpoint(dir: string, tensors: [string, HostArray][], config: Record<string, unknown>): void {
  writeFileAtomic(join(dir, "model.safetensors"), encodeSafetensors(tensors));
  writeFileAtomic(join(dir, "config.json"), JSON.stringify(config, null, 2) + "\n");
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
  return { config, tensors: decodeSafetensors(readFileSync(weights), weights).tensors };
}
