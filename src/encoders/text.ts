/**
 * Text encoder: token embeddings (vocabSize x dim) plus learned positions;
 * tokens = E[id_t] + P_t for real tokens (padding zeroed), pooled =
 * ReLU(W masked_mean_t(tokens) + b). A bag-of-embeddings encoder: small and
 * fast on the wasm engine, and the tokens are there for attention fusion.
 */
import type { ModalitySpec } from "../data/types.ts";
import { FusionkitError } from "../errors.ts";
import { embedding, initEmbedding, initLinear, linear, maskedMean, type EmbeddingParams, type LinearParams } from "../engine/layers.ts";
import { normalParam } from "../engine/params.ts";
import type { HostArray } from "../engine/tensor.ts";
import type { HostRng } from "../engine/random.ts";
import { addFeedback, maskMissing, type ModalityEncoder, type ModalityInput } from "./common.ts";

export type TextEncoderParams = { embedding: EmbeddingParams; positions: HostArray; projection: LinearParams };

export function textEncoder(spec: ModalitySpec, dim: number): ModalityEncoder {
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
      projection: initLinear(rng, dim, dim, "he"),
    }),
    apply(p, x: ModalityInput) {
      const B = x.present.shape[0]!;
      // ids past the vocabulary (a hand-edited row) become unknown (1) rather than reading out of bounds
      const ids = x.input.reshape([B, T]);
      const tooBig = ids.greater(vocabSize - 0.5);
      const safeIds = ids.sub(ids.sub(1).mul(tooBig));
      const mask = (x.tokenMask ?? safeIds.greater(0.5)).mul(x.present.reshape([B, 1]));
      const tokens = addFeedback(embedding(p.embedding, safeIds).add(p.positions), x.feedback).mul(mask.expand(2));
      const pooled = linear(p.projection, maskedMean(tokens, mask)).relu();
      return maskMissing(spec, pooled, tokens, mask, x.present);
    },
  };
}
