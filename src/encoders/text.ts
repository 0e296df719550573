/**
 * Text encoder: token embeddings (vocabSize x dim) plus learned positions;
 * tokens = E[id_t] + P_t for real tokens (padding zeroed), pooled =
 * attention pooling over the tokens (src/encoders/pooling.ts: the masked mean
 * plus two learned-query picks, projected and ReLU'd). Small and fast on the
 * wasm engine; the tokens are there for attention fusion.
 * Why not the plain mean it replaced: mean_t(E[id_t] + P_t) is the same for
 * "a b" and "b a" (word order is lost) and weighs a keyword like a filler
 * word; test/model/layoutEncoders.test.ts pins that this encoder learns an
 * order task the mean cannot. Measured figures: docs/encoders.md.
 */
import type { ModalitySpec } from "../data/types.ts";
import { FusionkitError } from "../errors.ts";
import { embedding, initEmbedding, type EmbeddingParams } from "../engine/layers.ts";
import { normalParam } from "../engine/params.ts";
import type { HostArray } from "../engine/tensor.ts";
import type { HostRng } from "../engine/random.ts";
import { addFeedback, maskMissing, type ModalityEncoder, type ModalityInput } from "./common.ts";
import { initPool, pool, type Pooling, type PoolParams } from "./pooling.ts";

export type TextEncoderParams = { embedding: EmbeddingParams; positions: HostArray; pool: PoolParams };

export function textEncoder(spec: ModalitySpec, dim: number, pooling: Pooling = "structured"): ModalityEncoder<TextEncoderParams> {
  const T = spec.shape[0]!;
  const vocabSize = spec.vocabSize;
  if (!vocabSize || vocabSize < 2) {
    throw new FusionkitError(`text modality has no vocabulary size; re-prepare the dataset`, { field: spec.name, layer: "TextEncoder" });
  }
  return {
    spec,
    dims: { name: spec.name, type: spec.type, dim, tokens: T },
    init: (rng: HostRng): TextEncoderParams => ({
      embedding: initEmbedding(rng, vocabSize, dim),
      positions: normalParam(rng, [T, dim], 0.02),
      pool: initPool(rng, dim, pooling),
    }),
    apply(p, x: ModalityInput) {
      const B = x.present.shape[0]!;
      // ids past the vocabulary (a hand-edited row) become unknown (1) rather than reading out of bounds
      const ids = x.input.reshape([B, T]);
      const tooBig = ids.greater(vocabSize - 0.5);
      const safeIds = ids.sub(ids.sub(1).mul(tooBig));
      const mask = (x.tokenMask ?? safeIds.greater(0.5)).mul(x.present.reshape([B, 1]));
      const tokens = addFeedback(embedding(p.embedding, safeIds).add(p.positions), x.feedback).mul(mask.expand(2));
      const pooled = pool(p.pool, tokens, mask);
      return maskMissing(spec, pooled, tokens, mask, x.present);
    },
  };
}
