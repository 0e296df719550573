import assert from "node:assert/strict";
import { test } from "node:test";
import wavefile from "wavefile";
import { decodeWavBytes } from "../../src/data/logMel.ts";

function wavBytes(channels: number[][], sampleRate: number): Uint8Array {
  const wav = new wavefile.WaveFile();
  wav.fromScratch(channels.length, sampleRate, "32f", channels.length === 1 ? channels[0]! : channels);
  return wav.toBuffer();
}

test("a stereo WAV decodes to the mean of its channels, frame by frame; mono passes through", () => {
  const left = Array.from({ length: 64 }, (_, i) => Math.sin(i / 5) * 0.5);
  const right = Array.from({ length: 64 }, (_, i) => (i % 7) / 10 - 0.3);
  const stereo = decodeWavBytes(wavBytes([left, right], 8000), 8000);
  assert.equal(stereo.length, 64);
  for (let i = 0; i < 64; i++) assert.ok(Math.abs(stereo[i]! - (left[i]! + right[i]!) / 2) < 1e-6, `frame ${i}`);
  const mono = decodeWavBytes(wavBytes([left], 8000), 8000);
  assert.equal(mono.length, 64);
  for (let i = 0; i < 64; i++) assert.ok(Math.abs(mono[i]! - left[i]!) < 1e-6, `frame ${i}`);
});
