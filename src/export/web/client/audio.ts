/**
 * Audio in the page: a WAV file -> log-mel frames by src/data/logMel.ts, the
 * very code training ran (wavefile's decoding and resampling, fft.js), with
 * the options stored in the model's audio spec. Standardisation follows in
 * ./prepare.ts.
 */
import type { ModalitySpec } from "../../../data/types.ts";
import { decodeWavBytes, LogMelExtractor } from "../../../data/logMel.ts";
import type { AudioFrames } from "./prepare.ts";

type AudioPreprocessing = { sampleRate: number; nMels: number; frames: number; fftSize: number; hopLength: number };

export async function decodeAudioFile(file: Blob, spec: ModalitySpec): Promise<AudioFrames> {
  const { sampleRate, nMels, frames, fftSize, hopLength } = spec.preprocessing as AudioPreprocessing;
  const samples = decodeWavBytes(new Uint8Array(await file.arrayBuffer()), sampleRate);
  if (samples.length === 0) throw new Error("the WAV file has no samples");
  return new LogMelExtractor({ sampleRate, nMels, frames, fftSize, hopLength }).extract(samples);
}
