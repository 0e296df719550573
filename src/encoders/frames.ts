/**
 * Frame encoder for audio [T, nMels] and sequence [T, D] inputs: a linear
 * layer per frame plus a learned position, then one 1-D convolution over time
 * (kernel 3, 'SAME') with a residual connection, so every token sees its neighbours:
 *   e_t = x_t W + b + P_t;   h_t = e_t + ReLU(conv1d(e)_t);   pooled = attention_pool(h)
 * attention_pool (src/encoders/pooling.ts) keeps the masked mean and adds two
 * learned-query picks: which frame, and where, survives pooling (a plain mean
 * forgot the order of events further apart than the kernel; pinned by
 * test/model/layoutEncoders.test.ts; figures in docs/encoders.md).
 * Padded frames are zeroed before the convolution so the last real frame does
 * not read padding as signal.
 */
import type { ModalitySpec } from "../data/types.ts";
import { conv1d, initConv1d, initLinear, linear, type ConvParams, type LinearParams } from "../engine/layers.ts";
import { normalParam } from "../engine/params.ts";
import type { HostArray } from "../engine/tensor.ts";
import type { HostRng } from "../engine/random.ts";
import { addFeedback, maskMissing, type ModalityEncoder, type ModalityInput } from "./common.ts";
import { initPool, pool, type Pooling, type PoolParams } from "./pooling.ts";

export type FrameEncoderParams = { frame: LinearParams; positions?: HostArray; conv: ConvParams; pool: PoolParams };

export function frameEncoder(spec: ModalitySpec, dim: number, pooling: Pooling = "structured"): ModalityEncoder<FrameEncoderParams> {
  const [T, D] = spec.shape as [number, number];
  return {
    spec,
    dims: { name: spec.name, type: spec.type, dim, tokens: T },
    init: (rng: HostRng): FrameEncoderParams => ({
      frame: initLinear(rng, D, dim),
      // the plain-mean variant is the encoder as it was, without positions
      ...(pooling === "mean" ? {} : { positions: normalParam(rng, [T, dim], 0.02) }),
      conv: initConv1d(rng, dim, dim, 3),
      pool: initPool(rng, dim, pooling),
    }),
    apply(p, x: ModalityInput) {
      const B = x.present.shape[0]!;
      const mask = (x.tokenMask ?? x.present.reshape([B, 1]).broadcastTo([B, T])).mul(x.present.reshape([B, 1]));
      const m3 = mask.expand(2);
      const framed = linear(p.frame, x.input.reshape([B, T, D]));
      const embedded = addFeedback(p.positions ? framed.add(p.positions) : framed, x.feedback).mul(m3);
      const tokens = embedded.add(conv1d(p.conv, embedded).relu()).mul(m3);
      const pooled = pool(p.pool, tokens, mask);
      return maskMissing(spec, pooled, tokens, mask, x.present);
    },
  };
}
