/**
 * Image encoder: ViT-style patch embedding (Dosovitskiy et al., ICLR 2021).
 * An [H, W, C] image is cut into non-overlapping P x P patches (8 x 8 on
 * 32 x 32 = 16 tokens), each flattened patch goes through one linear layer,
 * plus a learned position per patch; pooled = ReLU(W flatten(tokens) + b),
 * i.e. every patch embedding at its place goes through the projection.
 * Why flatten, not the mean over patches it replaced: with a linear patch
 * embedding, mean_patches(linear(patch) + pos) = linear(mean patch) + const,
 * a function of the AVERAGE 8x8 patch, so where things are in the image was
 * lost before fusion (a digit and its mirror image looked alike). Flattening
 * keeps the layout for one [patches*dim, dim] matmul (a strict superset: the
 * mean is one setting of W); test/model/layoutEncoders.test.ts pins a
 * which-quadrant task the mean cannot learn. No longer the default: the
 * LeNet-style CNN (imageCnn.ts) won on validation; this one is kept,
 * selectable as `imageEncoder: "patches"`, because it is ~5-10x cheaper per
 * step. Measured (2-core AMD EPYC, Node 22.23.3, 2026-12-02, unimodal:image,
 * width 64, seed 0; commands in docs/encoders.md): AV-MNIST-style test 0.914
 * (val 0.904) vs the CNN's 0.968 (val 0.952).
 */
import type { ModalitySpec } from "../data/types.ts";
import { FusionkitError } from "../errors.ts";
import { initLinear, linear, type LinearParams } from "../engine/layers.ts";
import { normalParam } from "../engine/params.ts";
import type { HostArray } from "../engine/tensor.ts";
import type { HostRng } from "../engine/random.ts";
import { addFeedback, maskMissing, type ModalityEncoder, type ModalityInput } from "./common.ts";
import type { Pooling } from "./pooling.ts";

export type ImageEncoderParams = { patch: LinearParams; positions: HostArray; projection: LinearParams };

/** The largest of 8, 4, 2, 1 that divides both sides (8 on the usual 32 x 32). */
export function defaultPatchSize(height: number, width: number): number {
  return [8, 4, 2, 1].find((p) => height % p === 0 && width % p === 0)!;
}

export function imageEncoder(spec: ModalitySpec, dim: number, patchSize?: number, pooling: Pooling = "structured"): ModalityEncoder<ImageEncoderParams> {
  const [H, W, C] = spec.shape as [number, number, number];
  const P = patchSize ?? defaultPatchSize(H, W);
  if (H % P !== 0 || W % P !== 0) {
    throw new FusionkitError(`patch size ${P} does not divide the image size ${H} x ${W}`, { field: spec.name, layer: "ImageEncoder" });
  }
  const rows = H / P;
  const cols = W / P;
  const patches = rows * cols;
  const patchWidth = P * P * C;
  return {
    spec,
    dims: { name: spec.name, type: spec.type, dim, tokens: patches },
    init: (rng: HostRng): ImageEncoderParams => ({
      patch: initLinear(rng, patchWidth, dim),
      positions: normalParam(rng, [patches, dim], 0.02),
      projection: initLinear(rng, (pooling === "mean" ? 1 : patches) * dim, dim, "he"),
    }),
    apply(p, x: ModalityInput) {
      const B = x.present.shape[0]!;
      // [B, H, W, C] -> [B, rows, P, cols, P, C] -> [B, rows, cols, P, P, C] -> [B, patches, P*P*C]
      const cut = x.input
        .reshape([B, rows, P, cols, P, C])
        .transpose([0, 1, 3, 2, 4, 5])
        .reshape([B, patches, patchWidth]);
      const tokens = addFeedback(linear(p.patch, cut).add(p.positions), x.feedback);
      const pooled = linear(p.projection, pooling === "mean" ? tokens.mean(1) : tokens.reshape([B, patches * dim])).relu();
      const mask = x.present.reshape([B, 1]).broadcastTo([B, patches]);
      return maskMissing(spec, pooled, tokens, mask, x.present);
    },
  };
}
