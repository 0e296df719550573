/**
 * Frame encoder for audio [T, nMels] and sequence [T, D] inputs: a linear
 * layer per frame, then one 1-D convolution over time (kernel 3, 'SAME') with
 * a residual connection, so every token sees its neighbours:
 *   e_t = x_t W + b;   h_t = e_t + ReLU(conv1d(e)_t);   pooled = masked_mean_t(h)
 * Padded frames are zeroed before the convolution so the last real frame does
 * not read padding as signal.
 */
import type { ModalitySpec } from "../data/types.ts";
import { conv1d, initConv1d, initLinear, linear, maskedMean, type ConvParams, type LinearParams } from "../engine/layers.ts";
import type { HostRng } from "../engine/random.ts";
import { addFeedback, maskMissing, type ModalityEncoder, type ModalityInput } from "./common.ts";

export type FrameEncoderParams = { frame: LinearParams; conv: ConvParams };

export function frameEncoder(spec: ModalitySpec, dim: number): ModalityEncoder {
  const [T, D] = spec.shape as [number, number];
  return {
    spec,
    dims: { name: spec.name, type: spec.type, dim, tokens: T },
    init: (rng: HostRng): FrameEncoderParams => ({ frame: initLinear(rng, D, dim), conv: initConv1d(rng, dim, dim, 3) }),
    apply(p, x: ModalityInput) {
      const B = x.present.shape[0]!;
      const mask = (x.tokenMask ?? x.present.reshape([B, 1]).broadcastTo([B, T])).mul(x.present.reshape([B, 1]));
      const m3 = mask.expand(2);
      const embedded = addFeedback(linear(p.frame, x.input.reshape([B, T, D])), x.feedback).mul(m3);
      const tokens = embedded.add(conv1d(p.conv, embedded).relu()).mul(m3);
      return maskMissing(spec, maskedMean(tokens, mask), tokens, mask, x.present);
    },
  };
}
