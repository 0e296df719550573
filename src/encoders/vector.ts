/**
 * Vector encoder: a precomputed feature vector [d] -> ReLU(x W + b) [dim],
 * one token. The projection puts every modality in the same width so fusion
 * methods can stack, gate or attend over them.
 */
import type { ModalitySpec } from "../data/types.ts";
import { initLinear, linear, type LinearParams } from "../engine/layers.ts";
import type { HostRng } from "../engine/random.ts";
import { addFeedback, maskMissing, type ModalityEncoder, type ModalityInput } from "./common.ts";

export type VectorEncoderParams = { projection: LinearParams };

export function vectorEncoder(spec: ModalitySpec, dim: number): ModalityEncoder<VectorEncoderParams> {
  const d = spec.shape[0]!;
  return {
    spec,
    dims: { name: spec.name, type: spec.type, dim, tokens: 1 },
    init: (rng: HostRng): VectorEncoderParams => ({ projection: initLinear(rng, d, dim, "he") }),
    apply(p, x: ModalityInput) {
      const B = x.present.shape[0]!;
      const pooled = addFeedback(linear(p.projection, x.input.reshape([B, d])), x.feedback).relu();
      return maskMissing(spec, pooled, pooled.reshape([B, 1, dim]), x.present.reshape([B, 1]), x.present);
    },
  };
}
