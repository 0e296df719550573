/**
 * Attention pooling over tokens with learned queries (the pooling of Lee et
 * al., "Set Transformer", ICML 2019, PMA with one layer and no projections;
 * also Ilse et al., ICML 2018 for attention-based MIL pooling):
 *   a_h     = softmax_t( <x_t, q_h> / sqrt(d) )      over real tokens only
 *   z_h     = sum_t a_{t,h} x_t                       (h = 1..H learned queries)
 *   pooled  = ReLU( [mean_t x_t ; z_1 ; ... ; z_H] W + b )
 * Why: a plain mean over tokens forgets which token sat where and which
 * mattered; tokens carry their position, so a query can pick the token at a
 * position or the token of a kind, and the projection can compare them (word
 * order, frame order). The mean stays in, so nothing the mean gave is lost.
 * Cost: one [T, d] x [d, H] product and H weighted sums per row.
 */
import { initLinear, linear, maskedMean, type LinearParams } from "../engine/layers.ts";
import { normalParam, type Params } from "../engine/params.ts";
import type { HostRng } from "../engine/random.ts";
import { concat, softmax, where, type HostArray, type Tensor } from "../engine/tensor.ts";

export type AttentionPoolParams = { queries: HostArray; projection: LinearParams };

export const defaultPoolQueries = 2;

/**
 * "structured": the pooling each encoder's header describes (the default);
 * "mean": the plain mean over tokens/patches it replaced, ReLU(W mean + b),
 * kept only so the two can be measured side by side (docs/encoders.md) and
 * so tests can show what the mean cannot learn.
 */
export type Pooling = "structured" | "mean";

export type MeanPoolParams = { projection: LinearParams };

export function initMeanPool(rng: HostRng, dim: number): MeanPoolParams {
  return { projection: initLinear(rng, dim, dim, "he") };
}

/** ReLU(W masked_mean_t(tokens) + b). */
export function meanPool(p: Params<MeanPoolParams>, tokens: Tensor, mask: Tensor): Tensor {
  return linear(p.projection, maskedMean(tokens, mask)).relu();
}

export function initAttentionPool(rng: HostRng, dim: number, queries = defaultPoolQueries): AttentionPoolParams {
  return { queries: normalParam(rng, [dim, queries], 1 / Math.sqrt(dim)), projection: initLinear(rng, (queries + 1) * dim, dim, "he") };
}

/** tokens [B, T, d], mask [B, T] (1 = real) -> pooled [B, d], and the attention weights [B, H, T]. */
export function attentionPool(p: Params<AttentionPoolParams>, tokens: Tensor, mask: Tensor): { pooled: Tensor; weights: Tensor } {
  const [B, T, d] = tokens.shape as [number, number, number];
  const H = p.queries.shape[1]!;
  const scores = where(mask.reshape([B, T, 1]), tokens.matmul(p.queries).mul(1 / Math.sqrt(d)), -1e9);
  const weights = softmax(scores, 1).mul(mask.reshape([B, T, 1])).transpose([0, 2, 1]);
  const picked = weights.matmul(tokens).reshape([B, H * d]);
  return { pooled: linear(p.projection, concat([maskedMean(tokens, mask), picked], -1)).relu(), weights };
}

/** Either pooling's parameters, as the encoders hold them (`init` picks one by the Pooling choice). */
export type PoolParams = AttentionPoolParams | MeanPoolParams;

export function initPool(rng: HostRng, dim: number, pooling: Pooling): PoolParams {
  return pooling === "mean" ? initMeanPool(rng, dim) : initAttentionPool(rng, dim);
}

/** pooled [B, d] by whichever pooling `p` holds parameters for (learned queries: attention pooling). */
export function pool(p: Params<PoolParams>, tokens: Tensor, mask: Tensor): Tensor {
  return "queries" in p ? attentionPool(p, tokens, mask).pooled : meanPool(p, tokens, mask);
}
