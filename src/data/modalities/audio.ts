/**
 * Audio modality: a .wav path per row, turned into `frames` log-mel frames
 * (../audio.ts), then standardised per mel band with train statistics over
 * real frames only. Padding frames stay 0 and are masked out.
 */
import { resolve } from "node:path";
import { decodeWav, LogMelExtractor, WavHeaderError, type LogMel } from "../audio.ts";
import type { RawRow } from "../rows.ts";
import type { AudioModalityConfig } from "../schema.ts";
import type { ModalitySpec } from "../types.ts";
import { describe, isMissing } from "../values.ts";
import { fitStandardiser, presenceOf, standardiseInto, type EncodedModality, type ModalityPipeline, type Outcome } from "./pipeline.ts";

export class AudioPipeline implements ModalityPipeline<string, LogMel> {
  readonly name: string;
  readonly fields: string[];
  private readonly extractor: LogMelExtractor;
  private readonly hopLength: number;
  private stats = { means: [] as number[], stds: [] as number[] };

  constructor(
    private readonly config: AudioModalityConfig,
    private readonly baseDir: string,
  ) {
    this.name = config.name;
    this.fields = [config.field];
    this.hopLength = config.hopLength ?? Math.round(config.sampleRate / 100);
    this.extractor = new LogMelExtractor({ ...config, hopLength: this.hopLength });
  }

  parse(row: RawRow): Outcome<string> {
    const raw = row.values![this.config.field];
    if (isMissing(raw, row.textual)) return { missing: true };
    if (typeof raw !== "string") return { problem: { field: this.config.field, reason: `expected a .wav path (string), got ${describe(raw)}` } };
    return { value: resolve(this.baseDir, raw) };
  }

  async load(path: string): Promise<Outcome<LogMel>> {
    const field = this.config.field;
    let samples: Float64Array;
    try {
      samples = await decodeWav(path, this.config.sampleRate);
    } catch (error) {
      const message = (error as Error).message;
      if (error instanceof WavHeaderError) return { problem: { field, reason: `WAV ${path} ${message}. Re-export or re-download the file, or write null to mark the audio missing` } };
      if (/ENOENT/.test(message)) return { problem: { field, reason: `audio file not found: ${path}. Paths are relative to the dataset directory; fix the path, or write null to mark the audio missing` } };
      return { problem: { field, reason: `cannot decode WAV ${path} (${message}). Convert it to PCM WAV (e.g. ffmpeg -i in -ar ${this.config.sampleRate} out.wav), or write null to mark the audio missing` } };
    }
    if (samples.length === 0) return { problem: { field, reason: `WAV ${path} has no samples; write null to mark the audio missing` } };
    return { value: this.extractor.extract(samples) };
  }

  fit(train: LogMel[]): void {
    this.stats = fitStandardiser(train.map((mel) => ({ values: mel.values, steps: mel.realFrames })), this.config.nMels);
  }

  restore(spec: ModalitySpec): void {
    const { means, stds } = spec.preprocessing as { means: number[]; stds: number[] };
    this.stats = { means, stds };
  }

  spec(): ModalitySpec {
    const { sampleRate, nMels, frames, fftSize } = this.config;
    return {
      name: this.name,
      type: "audio",
      shape: [frames, nMels],
      preprocessing: { sampleRate, nMels, frames, fftSize, hopLength: this.hopLength, window: "hann", melScale: "htk", logFloor: 1e-6, means: this.stats.means, stds: this.stats.stds },
    };
  }

  encode(values: (LogMel | undefined)[]): EncodedModality {
    const { frames, nMels } = this.config;
    const inputs = new Float32Array(values.length * frames * nMels);
    const tokenMask = new Float32Array(values.length * frames);
    values.forEach((mel, row) => {
      if (!mel) return;
      standardiseInto(mel.values, mel.realFrames, nMels, this.stats, inputs, row * frames * nMels);
      tokenMask.fill(1, row * frames, row * frames + mel.realFrames);
    });
    return { inputs, tokenMask, present: presenceOf(values) };
  }
}
