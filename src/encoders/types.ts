/**
 * What every per-modality encoder hands to fusion. Fusion methods read
 * `pooled` (vector-level methods: early, late, TFN/LMF, GMU, ...) or
 * `tokens` + `tokenMask` (attention methods: cross-attention, MulT, Flamingo).
 */
import type { Tensor } from "../engine/tensor.ts";
import type { ModalityType } from "../data/types.ts";

export type Encoded = {
  name: string;
  type: ModalityType;
  /** [B, dim] summary of the modality; zero where the modality is missing. */
  pooled: Tensor;
  /** [B, T, dim] token/patch/frame features (T = 1 for vector and tabular). */
  tokens: Tensor;
  /** [B, T] 1 = real token, 0 = padding or missing modality (already multiplied by `present`). */
  tokenMask: Tensor;
  /** [B] 1 = modality present in the row, 0 = missing. */
  present: Tensor;
};

/** Static facts about an encoder's output, known before any data flows. */
export type EncodedDims = { name: string; type: ModalityType; dim: number; tokens: number };
