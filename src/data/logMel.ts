/**
 * Audio: WAV decoding (wavefile) and a log-mel spectrogram (fft.js).
 *
 *   frame_t     = hann(n) * x[t*hop : t*hop + fftSize]
 *   power_t(k)  = |FFT(frame_t)(k)|^2                       k = 0..fftSize/2
 *   mel_t(m)    = sum_k filter_m(k) * power_t(k)             m = 0..nMels-1
 *   logmel_t(m) = ln(mel_t(m) + 1e-6)
 *
 * Mel scale (HTK): mel(f) = 2595 * log10(1 + f / 700). The filters are
 * triangles with peak 1 at nMels points equally spaced in mel between 0 Hz and
 * sampleRate / 2, each reaching zero at its neighbours' centres. Frames are not
 * centred: frame t covers samples [t*hop, t*hop + fftSize), the last partial
 * frame is zero-padded.
 *
 * No Node built-in here: the browser page (src/export/web) runs this same code
 * on a dropped WAV file; ./audio.ts adds reading from disk.
 */
import wavefile from "wavefile";
import FFT from "fft.js";

export type MelOptions = { sampleRate: number; nMels: number; fftSize: number; hopLength: number; frames: number };

/** Log-mel frames [frames, nMels] (row-major) and how many of them hold audio (the rest are zero padding). */
export type LogMel = { values: Float32Array; realFrames: number };

export const logFloor = 1e-6;

export function hzToMel(hz: number): number {
  return 2595 * Math.log10(1 + hz / 700);
}

export function melToHz(mel: number): number {
  return 700 * (10 ** (mel / 2595) - 1);
}

/** Centre frequency (Hz) of each mel filter. */
export function melCentres(sampleRate: number, nMels: number): number[] {
  const top = hzToMel(sampleRate / 2);
  return Array.from({ length: nMels }, (_, m) => melToHz((top * (m + 1)) / (nMels + 1)));
}

/** filterbank[m][k]: weight of FFT bin k (frequency k * sampleRate / fftSize) in mel band m. */
export function melFilterbank(sampleRate: number, nMels: number, fftSize: number): Float64Array[] {
  const top = hzToMel(sampleRate / 2);
  const edges = Array.from({ length: nMels + 2 }, (_, i) => melToHz((top * i) / (nMels + 1)));
  const bins = fftSize / 2 + 1;
  const filterbank: Float64Array[] = [];
  for (let m = 0; m < nMels; m++) {
    const [left, centre, right] = [edges[m], edges[m + 1], edges[m + 2]];
    const filter = new Float64Array(bins);
    for (let k = 0; k < bins; k++) {
      const hz = (k * sampleRate) / fftSize;
      if (hz > left && hz <= centre) filter[k] = (hz - left) / (centre - left);
      else if (hz > centre && hz < right) filter[k] = (right - hz) / (right - centre);
    }
    filterbank.push(filter);
  }
  return filterbank;
}

/** A WAV whose header does not match its length (wavefile decodes such files without a word). */
export class WavHeaderError extends Error {}

const sizeText = (bytes: number) => (bytes >= 2 ** 30 ? `${(bytes / 2 ** 30).toFixed(1)} GB` : bytes >= 2 ** 20 ? `${(bytes / 2 ** 20).toFixed(1)} MB` : `${bytes} bytes`);

/**
 * Why a RIFF/WAVE file's sizes do not add up, or undefined when they do: the
 * "data" chunk must fit after its header and the RIFF size in the file. A file
 * cut mid-data and a header claiming 2 GB both fail here rather than decoding
 * as shorter audio. Files that are not RIFF/WAVE at all are left to the
 * decoder's own message. (DataView, not Buffer: the browser page runs this.)
 */
export function wavHeaderProblem(bytes: Uint8Array): string | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tag = (at: number) => String.fromCharCode(bytes[at]!, bytes[at + 1]!, bytes[at + 2]!, bytes[at + 3]!);
  if (bytes.length < 12 || tag(0) !== "RIFF" || tag(8) !== "WAVE") return undefined;
  const riffEnd = 8 + view.getUint32(4, true);
  let at = 12;
  while (at + 8 <= bytes.length) {
    const size = view.getUint32(at + 4, true);
    const available = bytes.length - at - 8;
    if (tag(at) === "data") {
      if (size > available) {
        return `is truncated or damaged: its header declares ${sizeText(size)} of audio data but only ${sizeText(available)} follow (a file cut mid-data, or a wrong size in the header)`;
      }
      if (riffEnd > bytes.length) return `is truncated or damaged: its RIFF header declares ${sizeText(riffEnd)} but the file has ${sizeText(bytes.length)}`;
      return undefined;
    }
    at += 8 + size + (size % 2);
  }
  return `is truncated or damaged: it has no complete "data" chunk (${sizeText(bytes.length)} in all)`;
}

/** Mono samples in [-1, 1] at `sampleRate` (multi-channel clips are averaged, other rates resampled). */
export function decodeWavBytes(bytes: Uint8Array, sampleRate: number): Float64Array {
  const problem = wavHeaderProblem(bytes);
  if (problem) throw new WavHeaderError(problem);
  const wav = new wavefile.WaveFile(bytes);
  // 32-bit float puts every source bit depth (8-bit unsigned, 16/24/32-bit int) on the same [-1, 1] scale.
  wav.toBitDepth("32f");
  const format = wav.fmt as { sampleRate: number; numChannels: number };
  if (format.sampleRate !== sampleRate) wav.toSampleRate(sampleRate);
  // interleaved: one Float64Array whatever the channel count (frame i = samples[i * channels .. + channels])
  const samples = wav.getSamples(true, Float64Array);
  const channels = Math.max(1, format.numChannels);
  if (channels === 1) return samples;
  const mono = new Float64Array(Math.floor(samples.length / channels));
  for (let c = 0; c < channels; c++) for (let i = 0; i < mono.length; i++) mono[i] += samples[i * channels + c]! / channels;
  return mono;
}

/** Computes log-mel features for a fixed number of frames; builds its FFT tables once per options. */
export class LogMelExtractor {
  private readonly fft: FFT;
  private readonly window: Float64Array;
  private readonly filterbank: Float64Array[];

  constructor(private readonly options: MelOptions) {
    this.fft = new FFT(options.fftSize);
    this.window = Float64Array.from({ length: options.fftSize }, (_, n) => 0.5 - 0.5 * Math.cos((2 * Math.PI * n) / options.fftSize));
    this.filterbank = melFilterbank(options.sampleRate, options.nMels, options.fftSize);
  }

  extract(samples: Float64Array): LogMel {
    const { fftSize, hopLength, nMels, frames } = this.options;
    const available = samples.length === 0 ? 0 : 1 + Math.max(0, Math.ceil((samples.length - fftSize) / hopLength));
    const realFrames = Math.min(frames, available);
    const values = new Float32Array(frames * nMels);
    const frame = new Array<number>(fftSize);
    const spectrum = this.fft.createComplexArray() as number[];
    const power = new Float64Array(fftSize / 2 + 1);
    for (let t = 0; t < realFrames; t++) {
      const start = t * hopLength;
      for (let n = 0; n < fftSize; n++) {
        const index = start + n;
        frame[n] = index < samples.length ? samples[index] * this.window[n] : 0;
      }
      this.fft.realTransform(spectrum, frame);
      // realTransform fills bins 0..fftSize/2, which is all a real signal needs.
      for (let k = 0; k <= fftSize / 2; k++) power[k] = spectrum[2 * k] ** 2 + spectrum[2 * k + 1] ** 2;
      for (let m = 0; m < nMels; m++) {
        const filter = this.filterbank[m];
        let energy = 0;
        for (let k = 0; k < power.length; k++) energy += filter[k] * power[k];
        values[t * nMels + m] = Math.log(energy + logFloor);
      }
    }
    return { values, realFrames };
  }
}
