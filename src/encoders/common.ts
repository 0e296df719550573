/**
 * What every per-modality encoder shares: its inputs as Tensors, its interface
 * (an init/apply pair plus static output dims), and the one rule about missing
 * modalities: pooled, tokens and tokenMask are multiplied by `present`, so a
 * missing modality reaches fusion as exact zeros and leaks nothing, whatever
 * the biases inside the encoder would have produced from zero-filled input.
 * Every encoder also accepts an optional input-stage `feedback` (see ModalityInput).
 */
import type { ModalitySpec } from "../data/types.ts";
import type { ParamTree, Params } from "../engine/params.ts";
import type { HostRng } from "../engine/random.ts";
import type { Tensor } from "../engine/tensor.ts";
import type { Encoded, EncodedDims } from "./types.ts";

/** One modality's slice of a batch, as Tensors. */
export type ModalityInput = {
  /** [B, ...spec.shape] */
  input: Tensor;
  /** [B, T] for text, audio and sequence; absent for the others. */
  tokenMask?: Tensor;
  /** [B] */
  present: Tensor;
  /**
   * [B, dim]: added to the encoder's input-stage features (the output of its first linear map,
   * before any nonlinearity). Progressive fusion's backward connection (src/fusion/progressiveFusion.ts):
   * adding G(z) there equals concatenating a learned map of z to the encoder's input.
   */
  feedback?: Tensor;
};

export type ModalityEncoder<P extends ParamTree = ParamTree> = {
  spec: ModalitySpec;
  dims: EncodedDims;
  init(rng: HostRng): P;
  apply(params: Params<P>, x: ModalityInput): Encoded;
  /**
   * What a multimodal model's encoder starts from when it is handed this
   * encoder as a unimodal run trained it (warm start, src/train/trainer.ts
   * withEncoders): the same layout, a fresh copy. Absent: the trained values
   * as they are. For leaves that run never read but fusion methods do.
   */
  startFrom?(trained: P): P;
};

/** Zeroes pooled/tokens/tokenMask where the modality is missing (the leak-proof rule above). */
export function maskMissing(spec: ModalitySpec, pooled: Tensor, tokens: Tensor, tokenMask: Tensor, present: Tensor): Encoded {
  const B = present.shape[0]!;
  return {
    name: spec.name,
    type: spec.type,
    pooled: pooled.mul(present.reshape([B, 1])),
    tokens: tokens.mul(present.reshape([B, 1, 1])),
    tokenMask: tokenMask.mul(present.reshape([B, 1])),
    present,
  };
}

export function product(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** x [B, ..., dim] + feedback [B, dim] broadcast over the middle axes; x itself when there is no feedback. */
export function addFeedback(x: Tensor, feedback: Tensor | undefined): Tensor {
  if (!feedback) return x;
  const B = x.shape[0]!;
  const dim = x.shape[x.ndim - 1]!;
  const middle = x.shape.slice(1, -1).map(() => 1);
  return x.add(feedback.reshape([B, ...middle, dim]));
}
