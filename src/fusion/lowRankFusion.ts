/**
 * Low-rank / factorised fusion: methods.md §4.
 *
 * TFN, Tensor Fusion Network (Zadeh, Chen, Poria, Cambria & Morency, EMNLP 2017):
 *   u_m = [s_m (h_m P_m + c_m); 1]                    per-modality projection to d_m (config projectionDim)
 *   Z   = u_1 (x) u_2 (x) ... (x) u_M                 outer product, prod_m (d_m + 1) entries per row
 *   y   = W vec(Z) + b,   fused = ReLU(y)             (d_y = config dim)
 *   Fusion-layer parameters (W, b): d_y * prod_m (d_m + 1) + d_y.
 *   vec(Z) is row-major with modality 1 slowest. The appended 1 keeps every
 *   lower-order term (unimodal, bimodal, ...) inside Z.
 *   Missing modality m: h_m -> 0, so u_m = [0; 1] and Z keeps exactly the terms
 *   without modality m (its projection bias c_m is zeroed too).
 *   Why the projection: Z grows as the product of the widths; with encoder widths
 *   of 64 and three modalities it would hold 65^3 = 274,625 entries per row.
 *   Configs whose Z exceeds `maxTensorSize` entries are rejected (use lmf).
 *
 * LMF, Low-rank Multimodal Fusion (Liu, Shen, Lakshminarasimhan, Liang, Zadeh &
 * Morency, ACL 2018): the TFN weight tensor in rank-r CP form, never building Z:
 *   y = sum_{i=1..r} lambda_i * prod_m ( [h_m; 1] W_m^(i) ) + b     (product elementwise over m)
 *   Parameters: r * d_y * sum_m (d_m + 1) + r + d_y   (d_m = encoder widths, no projection).
 *   W_m is stored as one [d_m + 1, r * d_y] matrix (column i * d_y + k is W_m^(i)[:, k]),
 *   so each modality's r factors cost one matmul. fused = y (as in the paper).
 *   Missing modality m: its factor [h_m; 1] W_m^(i) is replaced by the all-ones
 *   vector, so it drops out of the product.
 *
 * `lowRankAdvice` says which of the two is smaller for given widths: LMF only
 * saves parameters when r * sum(d_m + 1) << prod(d_m + 1) (methods.md: the
 * AV-MNIST setup 48/192 -> 120, r = 40 is a case where LMF is larger).
 */
import { FusionkitError } from "../errors.ts";
import { initLinear, linear, type LinearParams } from "../engine/layers.ts";
import { glorotParam, normalParam, onesParam, zerosParam } from "../engine/params.ts";
import type { HostRng } from "../engine/random.ts";
import { concat, where, type HostArray, type Tensor } from "../engine/tensor.ts";
import type { Encoded, EncodedDims } from "../encoders/types.ts";
import { z } from "zod";
import { defaultsOf, integer, requireModalities } from "./config.ts";
import type { FusionMethod } from "./types.ts";

const tfnConfig = z.strictObject({
  /** d_y, the fused width */
  dim: integer(1).default(32),
  /** d_m, the width each modality is projected to before the outer product */
  projectionDim: integer(1).default(8),
  /** the largest outer-product tensor prod_m (d_m + 1) accepted, per row */
  maxTensorSize: integer(1).default(65536),
});
export type TfnConfig = z.infer<typeof tfnConfig>;

const lmfConfig = z.strictObject({
  /** d_y, the fused width */
  dim: integer(1).default(32),
  /** r, the number of rank-1 terms */
  rank: integer(1).default(4),
});
export type LmfConfig = z.infer<typeof lmfConfig>;

export type TfnParams = { projections: LinearParams[]; fusion: { w: HostArray; b: HostArray } };
export type LmfParams = { factors: HostArray[]; lambda: HostArray; bias: HostArray };

/** TFN fusion-layer parameters: d_y * prod_m (d_m + 1) + d_y. */
export function tfnParameterCount(dims: number[], dy: number): number {
  return dy * dims.reduce((n, d) => n * (d + 1), 1) + dy;
}
/** LMF parameters: r * d_y * sum_m (d_m + 1) + r + d_y. */
export function lmfParameterCount(dims: number[], dy: number, rank: number): number {
  return rank * dy * dims.reduce((n, d) => n + d + 1, 0) + rank + dy;
}

export type LowRankAdvice = { tfn: number; lmf: number; smaller: "tfn" | "lmf"; message: string };

/** Which of TFN and LMF needs fewer parameters for these modality widths, output width and rank. */
export function lowRankAdvice(dims: number[], dy: number, rank: number): LowRankAdvice {
  const tfn = tfnParameterCount(dims, dy);
  const lmf = lmfParameterCount(dims, dy, rank);
  const smaller = lmf < tfn ? "lmf" : "tfn";
  const fmt = (n: number) => n.toLocaleString("en-US");
  const widths = `widths ${dims.join("/")} -> ${dy}`;
  const message =
    smaller === "lmf"
      ? `${widths}: LMF (rank ${rank}) needs ${fmt(lmf)} parameters, TFN ${fmt(tfn)}: LMF is ${(tfn / lmf).toFixed(1)}x smaller`
      : `${widths}: LMF (rank ${rank}) needs ${fmt(lmf)} parameters, TFN only ${fmt(tfn)}: at this rank the factorisation saves nothing (r * sum(d_m + 1) = ${rank * dims.reduce((n, d) => n + d + 1, 0)} >= prod(d_m + 1) = ${dims.reduce((n, d) => n * (d + 1), 1)}); lower the rank or use TFN`;
  return { tfn, lmf, smaller, message };
}

/** The outer product grows as (projectionDim + 1)^M: refuse it beyond maxTensorSize, pointing to LMF. */
function checkTfn(config: TfnConfig, inputs: EncodedDims[]): void {
  const layer = "tfn";
  requireModalities(layer, inputs, 1);
  const size = (config.projectionDim + 1) ** inputs.length;
  if (size > config.maxTensorSize) {
    throw new FusionkitError(
      `the outer-product tensor would hold (${config.projectionDim} + 1)^${inputs.length} = ${size.toLocaleString("en-US")} entries per row ` +
        `(limit maxTensorSize = ${config.maxTensorSize.toLocaleString("en-US")}) and the fusion layer ${tfnParameterCount(inputs.map(() => config.projectionDim), config.dim).toLocaleString("en-US")} parameters. ` +
        `Lower projectionDim, or use lmf, which factorises the same weight tensor (${lmfParameterCount(inputs.map(() => config.projectionDim), config.dim, 4).toLocaleString("en-US")} parameters at rank 4)`,
      { field: "projectionDim", layer },
    );
  }
}

/** [B, 1] presence column of one modality. */
function presenceColumn(e: Encoded): Tensor {
  return e.present.reshape([e.present.shape[0]!, 1]);
}

/** Appends the constant 1 to every row: [B, d] -> [B, d + 1]. */
function withOne(x: Tensor): Tensor {
  return concat([x, x.slice(1, 0, 1).mul(0).add(1)], 1);
}

/** vec(u_1 (x) ... (x) u_M) per row, row-major with u_1 slowest: [B, prod_m len(u_m)]. */
export function outerProductRows(us: Tensor[]): Tensor {
  const B = us[0]!.shape[0]!;
  let z = us[0]!;
  for (const u of us.slice(1)) {
    const [a, b] = [z.shape[1]!, u.shape[1]!];
    z = z.reshape([B, a, 1]).mul(u.reshape([B, 1, b])).reshape([B, a * b]);
  }
  return z;
}

export const tfn: FusionMethod<TfnConfig, TfnParams> = {
  name: "tfn",
  family: "low-rank",
  summary: "Tensor Fusion Network: outer product of [h_m; 1] over modalities, then a linear layer",
  citation: "Zadeh, Chen, Poria, Cambria & Morency, EMNLP 2017",
  config: tfnConfig,
  defaults: defaultsOf(tfnConfig),
  check: checkTfn,
  init(rng: HostRng, inputs: EncodedDims[], _outDim: number, config: TfnConfig): TfnParams {
    checkTfn(config, inputs);
    const size = (config.projectionDim + 1) ** inputs.length;
    return {
      projections: inputs.map((m) => initLinear(rng, m.dim, config.projectionDim)),
      fusion: { w: glorotParam(rng, [size, config.dim]), b: zerosParam([config.dim]) },
    };
  },
  apply(p, encoded) {
    const us = encoded.map((e, m) => withOne(linear(p.projections[m], e.pooled).mul(presenceColumn(e))));
    const y = linear(p.fusion, outerProductRows(us));
    return { fused: y.relu() };
  },
  fusedDim: (_inputs, config) => config.dim,
};

export const lmf: FusionMethod<LmfConfig, LmfParams> = {
  name: "lmf",
  family: "low-rank",
  summary: "Low-rank Multimodal Fusion: TFN's weight tensor as r modality-specific factors",
  citation: "Liu, Shen, Lakshminarasimhan, Liang, Zadeh & Morency, ACL 2018",
  config: lmfConfig,
  defaults: defaultsOf(lmfConfig),
  check: (_config, inputs) => requireModalities("lmf", inputs, 1),
  init(rng: HostRng, inputs: EncodedDims[], _outDim: number, config: LmfConfig): LmfParams {
    requireModalities("lmf", inputs, 1);
    const { dim, rank } = config;
    // Each factor ~ N(0, 1/(d_m + 1)) keeps [h; 1] W_m^(i) at unit scale, so the
    // elementwise product over modalities neither explodes nor vanishes at init.
    return {
      factors: inputs.map((m) => normalParam(rng, [m.dim + 1, rank * dim], 1 / Math.sqrt(m.dim + 1))),
      lambda: onesParam([rank]),
      bias: zerosParam([dim]),
    };
  },
  apply(p, encoded, _ctx, config) {
    const B = encoded[0]!.present.shape[0]!;
    const { dim, rank } = config;
    let product: Tensor | undefined;
    encoded.forEach((e, m) => {
      const factor = withOne(e.pooled).matmul(p.factors[m]);
      const kept = where(presenceColumn(e), factor, 1);
      product = product ? product.mul(kept) : kept;
    });
    const y = product!.reshape([B, rank, dim]).mul(p.lambda.reshape([1, rank, 1])).sum(1).add(p.bias);
    return { fused: y };
  },
  fusedDim: (_inputs, config) => config.dim,
};

export const lowRankMethods: FusionMethod[] = [tfn, lmf];

