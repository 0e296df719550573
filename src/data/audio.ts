/**
 * Audio from disk: the WAV decoding and log-mel spectrogram of ./logMel.ts
 * (shared with the browser page), plus reading the file.
 */
import { readFile } from "node:fs/promises";
import { decodeWavBytes } from "./logMel.ts";

export * from "./logMel.ts";

/** Mono samples in [-1, 1] at `sampleRate` from a WAV file (multi-channel clips are averaged, other rates resampled). */
export async function decodeWav(path: string, sampleRate: number): Promise<Float64Array> {
  return decodeWavBytes(await readFile(path), sampleRate);
}
