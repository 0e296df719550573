/**
 * Text encoder: token embeddings (vocabSize x dim) plus learned positions;
 * tokens = E[id_t] + P_t for known words (padding and unknown words zeroed), and
 *   "bag" (the default):  pooled = bag
 *   "ordered":            pooled = AttnPool(tokens) + bag
 *   bag = sum_{w in W} B[w] / sqrt(max(1, |W|))       W: the row's distinct known words
 * B: a second vocabSize x dim table, the bag-of-words path (fastText-style,
 * Joulin et al., EACL 2017), without a nonlinearity, so a linear head on
 * `pooled` contains a rank-dim logistic regression on word presence. AttnPool:
 * the masked mean plus two learned-query picks, projected and ReLU'd
 * (src/encoders/pooling.ts), which sees word order: test/model/layoutEncoders.test.ts
 * pins that "ordered" learns an order task the mean cannot. The tokens (with
 * their positions, so order) are what attention-based fusion reads, either way.
 * Progressive fusion's feedback is added to the tokens and, in "bag", to the
 * bag (a linear map of the word counts: its input stage).
 * Unknown words (id 1) are not tokens: the vocabulary is train's, so id 1
 * never occurs in training and its rows would stay untrained noise in every
 * val/test row with a new word (37-42% of emoji's val/test words).
 * Why "bag" is the default: on emoji, once unknown words were left out, the
 * attention path did not help. unimodal:text, default bench settings
 * (2026-12-07, docs/encoders.md), val/test, both counting repeated words:
 * 4,000-row sample, 8 seeds, "ordered" 0.824/0.832 vs "bag" 0.823/0.845;
 * full dataset, 3 seeds, 0.881/0.876 vs 0.888/0.888. A tie on the sample's
 * validation, a win on the larger one, at lower cost. Keyword lists carry no
 * order to learn; "ordered" stays for text where order matters.
 * Why distinct words (each counted once, not per occurrence): unimodal:text
 * on the 4,000-row sample, 8 seeds, val/test 0.834/0.848 vs 0.823/0.845
 * counting repeats (a TF-IDF logistic regression: val 0.849 vs 0.822 with
 * binary term frequencies, docs/encoders.md).
 * Measured and not kept: the bag reading the token table E instead of a
 * table of its own (val 0.775 with the 1/sqrt(length) scale, 0.779 with a
 * mean); word dropout (p 0.1-0.4: test 0.802-0.771 vs 0.820, before unknown
 * words were left out); the bag weighted by the TF-IDF baseline's smooth IDF
 * and L2-normalised (all 7,624 rows, 8 seeds, val/test 0.881/0.877 vs
 * 0.893/0.885: each word's learned B row sets its own scale better); no weight
 * decay on E and B (0.892/0.882; docs/benchmarks.md, 2026-12-07 late night).
 */
import type { ModalitySpec } from "../data/types.ts";
import { unknownId } from "../data/text.ts";
import { FusionkitError } from "../errors.ts";
import { embedding, initEmbedding, type EmbeddingParams } from "../engine/layers.ts";
import { normalParam } from "../engine/params.ts";
import { constant, maximum, type HostArray, type Tensor } from "../engine/tensor.ts";
import type { HostRng } from "../engine/random.ts";
import { addFeedback, maskMissing, type ModalityEncoder, type ModalityInput } from "./common.ts";
import { initPool, pool, type Pooling, type PoolParams } from "./pooling.ts";

/** "bag": pooled is the bag of words; "ordered": attention pooling over the tokens plus the bag (see the header). */
export const textEncoderKinds = ["bag", "ordered"] as const;
export type TextEncoderKind = (typeof textEncoderKinds)[number];
export const defaultTextEncoder: TextEncoderKind = "bag";

/** pool: attention pooling ("ordered") or the plain mean (pooling "mean"); bag: the bag-of-words table (structured pooling only). */
export type TextEncoderParams = { embedding: EmbeddingParams; positions: HostArray; pool?: PoolParams; bag?: EmbeddingParams };

/** `pooling` "mean": the plain-mean encoder, for measurement only (`kind` is then ignored). */
export function textEncoder(spec: ModalitySpec, dim: number, pooling: Pooling = "structured", kind: TextEncoderKind = defaultTextEncoder): ModalityEncoder<TextEncoderParams> {
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
      ...(pooling === "mean" || kind === "ordered" ? { pool: initPool(rng, dim, pooling) } : {}),
      ...(pooling === "structured" ? { bag: initEmbedding(rng, vocabSize, dim) } : {}),
    }),
    apply(p, x: ModalityInput) {
      const B = x.present.shape[0]!;
      // ids past the vocabulary (a hand-edited row) become unknown (1) rather than reading out of bounds
      const ids = x.input.reshape([B, T]);
      const tooBig = ids.greater(vocabSize - 0.5);
      const safeIds = ids.sub(ids.sub(1).mul(tooBig));
      // padding (0) and unknown words (1) are not tokens: unknown never occurs in train (the vocabulary is
      // train's), so its embedding rows would stay untrained noise in every val/test row with a new word
      const known = safeIds.greater(unknownId + 0.5);
      const mask = (x.tokenMask ? x.tokenMask.mul(known) : known).mul(x.present.reshape([B, 1]));
      const tokens = addFeedback(embedding(p.embedding, safeIds).add(p.positions), x.feedback).mul(mask.expand(2));
      const bag = p.bag ? bagOfWords(p.bag, safeIds, firstOccurrences(safeIds, mask)) : undefined;
      // the bag is a linear map of the word counts, so feedback enters "bag" there, as it enters the tokens
      const pooled = p.pool ? (bag ? pool(p.pool, tokens, mask).add(bag) : pool(p.pool, tokens, mask)) : addFeedback(bag!, x.feedback);
      return maskMissing(spec, pooled, tokens, mask, x.present);
    },
    ...(pooling === "structured" && kind === "bag" ? { startFrom: tokensFromBag } : {}),
  };
}

/**
 * The warm start of a "bag" encoder (ModalityEncoder.startFrom): the token
 * table E becomes a copy of the trained bag table B. unimodal:text reads only
 * the bag, so its E is still its random init, and the methods that read tokens
 * (cross_attention, mult, flamingo) would start their text path from noise
 * while the pooled-only ones start from trained word vectors; with E = B they
 * start from the same trained word vectors. Methods that read only the pooled
 * vector never read E, so nothing of theirs changes. Measured in docs/fair-comparison.md.
 */
function tokensFromBag(trained: TextEncoderParams): TextEncoderParams {
  const bag = trained.bag!.table;
  return { ...trained, embedding: { table: { data: Float32Array.from(bag.data), shape: [...bag.shape] } } };
}

/**
 * sum over the row's distinct known words of B[id] / sqrt(max(1, their count)),
 * with `mask` already holding first occurrences only (firstOccurrences): no
 * position, and a 1/sqrt(length) scale, which dilutes a keyword in a long row
 * less than a mean does (closed form pinned by test/model/textEncoder.test.ts).
 */
function bagOfWords(table: { table: Tensor }, ids: Tensor, mask: Tensor): Tensor {
  const B = ids.shape[0]!;
  const summed = embedding(table, ids).mul(mask.expand(2)).sum(1);
  return summed.div(maximum(mask.sum(1).reshape([B, 1]), 1).sqrt());
}

/**
 * mask [B, T] with each word's repeats after its first occurrence in the row
 * zeroed. Why distinct words: emoji's German keyword lists repeat words
 * ("frau mit langstock ... frau frau mit blindenstock frau mit gehstock"), and
 * counting the repeats weighs a row's filler words by how often they recur.
 */
function firstOccurrences(ids: Tensor, mask: Tensor): Tensor {
  const [B, T] = ids.shape as [number, number];
  const earlier = new Float32Array(T * T);
  for (let t = 0; t < T; t++) for (let s = 0; s < t; s++) earlier[t * T + s] = 1;
  const same = ids.reshape([B, T, 1]).sub(ids.reshape([B, 1, T])).abs().less(0.5);
  const repeat = same.mul(mask.reshape([B, 1, T])).mul(constant(earlier, [1, T, T])).max(-1);
  return mask.mul(repeat.neg().add(1));
}
