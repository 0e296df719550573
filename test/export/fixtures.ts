/**
 * Tiny in-memory datasets for the export tests: every modality type, with a
 * label that depends on several modalities (so training moves the weights of
 * every encoder), random token lengths and randomly missing modalities.
 */
import type { ModalitySpec, PreparedDataset } from "../../src/data/types.ts";
import type { HostRng } from "../../src/engine/random.ts";
import { makeDataset } from "../model/synthetic.ts";

export const vectorSpec: ModalitySpec = { name: "vec", type: "vector", shape: [6] };
export const tabularSpec: ModalitySpec = {
  name: "tab",
  type: "tabular",
  shape: [3],
  numericColumns: ["age", "height"],
  categoricalColumns: ["colour"],
  categoricalCardinalities: [4],
};
export const textSpec: ModalitySpec = { name: "txt", type: "text", shape: [5], vocabSize: 12 };
export const imageSpec: ModalitySpec = { name: "img", type: "image", shape: [16, 16, 1] };
export const sequenceSpec: ModalitySpec = { name: "seq", type: "sequence", shape: [4, 3] };
export const audioSpec: ModalitySpec = { name: "aud", type: "audio", shape: [6, 5] };

const normals = (rng: HostRng, n: number) => Array.from({ length: n }, () => rng.normal());

function row(specs: ModalitySpec[], rng: HostRng) {
  const inputs: Record<string, number[]> = {};
  const tokenMasks: Record<string, number[]> = {};
  const present: Record<string, number> = {};
  let signal = 0;
  specs.forEach((spec, m) => {
    // every modality present in most rows, and never all missing
    present[spec.name] = m > 0 && rng.uniform() < 0.2 ? 0 : 1;
    const width = spec.shape.reduce((a, b) => a * b, 1);
    if (spec.type === "text") {
      const T = spec.shape[0]!;
      const length = 1 + Math.floor(rng.uniform() * T);
      inputs[spec.name] = Array.from({ length: T }, (_, t) => (t < length ? 2 + Math.floor(rng.uniform() * (spec.vocabSize! - 2)) : 0));
      tokenMasks[spec.name] = Array.from({ length: T }, (_, t) => (t < length ? 1 : 0));
      signal += present[spec.name]! * (inputs[spec.name]![0]! > 6 ? 1 : -1);
    } else if (spec.type === "tabular") {
      inputs[spec.name] = [rng.normal(), rng.normal(), Math.floor(rng.uniform() * 4)];
      signal += present[spec.name]! * inputs[spec.name]![0]!;
    } else if (spec.type === "image") {
      inputs[spec.name] = Array.from({ length: width }, () => rng.uniform());
      signal += present[spec.name]! * (inputs[spec.name]![0]! - 0.5) * 2;
    } else if (spec.type === "sequence" || spec.type === "audio") {
      const T = spec.shape[0]!;
      const D = spec.shape[1]!;
      const length = 1 + Math.floor(rng.uniform() * T);
      inputs[spec.name] = normals(rng, width).map((v, i) => (Math.floor(i / D) < length ? v : 0));
      tokenMasks[spec.name] = Array.from({ length: T }, (_, t) => (t < length ? 1 : 0));
      signal += present[spec.name]! * inputs[spec.name]![0]!;
    } else {
      inputs[spec.name] = normals(rng, width);
      signal += present[spec.name]! * inputs[spec.name]![0]!;
    }
  });
  return { inputs, tokenMasks, present, label: signal > 0.5 ? 2 : signal < -0.5 ? 0 : 1 };
}

/** A 3-class dataset over `specs`: 16 train, 8 val and 32 test rows. */
export function tinyDataset(specs: ModalitySpec[], seed = 3): PreparedDataset {
  return makeDataset({
    name: "tiny",
    labelNames: ["low", "mid", "high"],
    modalities: specs,
    sizes: { train: 16, val: 8, test: 32 },
    seed,
    row: (rng) => row(specs, rng),
  });
}
