/** Builders for small on-disk datasets used by the data tests. */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import sharp from "sharp";
import wavefile from "wavefile";

/**
 * A fresh directory under the OS temp dir, removed when the test process exits
 * (not with node:test's after(): called from a before() hook, that runs too early).
 */
export function tempDir(prefix = "fusionkit-data-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  if (createdDirs.length === 0) process.on("exit", () => createdDirs.forEach((created) => rmSync(created, { recursive: true, force: true })));
  createdDirs.push(dir);
  return dir;
}

const createdDirs: string[] = [];

/** Writes dataset.json (when given), data.jsonl rows and extra files into a new temp dir. */
export function writeDataset(options: { config?: unknown; rows?: unknown[]; rowsText?: string; files?: Record<string, string | Uint8Array> }): string {
  const dir = tempDir();
  if (options.config !== undefined) writeFileSync(join(dir, "dataset.json"), typeof options.config === "string" ? options.config : JSON.stringify(options.config, null, 2));
  const rowsText = options.rowsText ?? (options.rows ? options.rows.map((row) => JSON.stringify(row)).join("\n") + "\n" : undefined);
  if (rowsText !== undefined) writeFileSync(join(dir, "data.jsonl"), rowsText);
  for (const [name, content] of Object.entries(options.files ?? {})) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), content);
  }
  return dir;
}

/** A width x height PNG filled with one RGBA colour. */
export async function solidPng(rgba: [number, number, number, number], width = 4, height = 4): Promise<Buffer> {
  const pixels = Buffer.alloc(width * height * 4);
  for (let i = 0; i < width * height; i++) pixels.set(rgba, i * 4);
  return sharp(pixels, { raw: { width, height, channels: 4 } }).png().toBuffer();
}

/** 16-bit mono PCM WAV of a sine wave. */
export function sineWav(frequency: number, sampleRate: number, seconds: number, amplitude = 0.5): Uint8Array {
  const samples = new Int16Array(Math.round(sampleRate * seconds));
  for (let i = 0; i < samples.length; i++) samples[i] = Math.round(32767 * amplitude * Math.sin((2 * Math.PI * frequency * i) / sampleRate));
  const wav = new wavefile.WaveFile();
  wav.fromScratch(1, sampleRate, "16", samples);
  return wav.toBuffer();
}

/** n rows with a seeded split field: every split gets rows of every class. */
export function splitRows(n: number, make: (i: number) => Record<string, unknown>): Record<string, unknown>[] {
  const splits = ["train", "train", "train", "val", "test"];
  return Array.from({ length: n }, (_, i) => ({ split: splits[i % splits.length], ...make(i) }));
}
