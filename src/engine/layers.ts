/**
 * Layers as (init, apply) pairs: init builds a host ParamTree from a seeded
 * HostRng, apply is a pure function of (params, inputs). No hidden state.
 * Every apply checks its input shape and names itself in the error, so a
 * user never sees a bare jax-js message for a wrong shape.
 */
import { lax, numpy as np } from "@jax-js/jax";
import { FusionkitError } from "../errors.ts";
import { adopt, concat, maximum, softmax, stopGradient, takeRows, tracingForOnnx, where, zeros, type Tensor } from "./tensor.ts";
import type { HostArray } from "./tensor.ts";
import { glorotParam, heParam, normalParam, onesParam, zerosParam, type Params } from "./params.ts";
import type { HostRng, Rng } from "./random.ts";

export function expectShape(layer: string, x: Tensor, expected: (number | null)[], what = "input"): void {
  const s = x.shape;
  const ok = s.length === expected.length && expected.every((e, i) => e === null || e === s[i]);
  if (!ok) {
    const fmt = (a: (number | null)[]) => `[${a.map((v) => (v === null ? "*" : v)).join(", ")}]`;
    throw new FusionkitError(`expected ${what} of shape ${fmt(expected)}, received ${fmt(s)}`, { layer });
  }
}

export type Activation = "relu" | "gelu" | "tanh" | "sigmoid" | "none";
export function activate(x: Tensor, act: Activation): Tensor {
  switch (act) {
    case "relu":
      return x.relu();
    case "gelu":
      return x.gelu();
    case "tanh":
      return x.tanh();
    case "sigmoid":
      return x.sigmoid();
    case "none":
      return x;
  }
}

// ---- Linear ---------------------------------------------------------------
export type LinearParams = { w: HostArray; b: HostArray };
export function initLinear(rng: HostRng, inDim: number, outDim: number, init: "glorot" | "he" = "glorot"): LinearParams {
  const w = init === "he" ? heParam(rng, [inDim, outDim]) : glorotParam(rng, [inDim, outDim]);
  return { w, b: zerosParam([outDim]) };
}
/** y = x W + b over the last axis of x (any leading axes). */
export function linear(p: { w: Tensor; b: Tensor }, x: Tensor): Tensor {
  const [inDim, outDim] = p.w.shape as [number, number];
  if (x.shape[x.ndim - 1] !== inDim) {
    throw new FusionkitError(
      `expected input of shape [..., ${inDim}], received [${x.shape.join(", ")}]`,
      { layer: `Linear(${inDim} -> ${outDim})` },
    );
  }
  return x.matmul(p.w).add(p.b);
}

// ---- MLP --------------------------------------------------------------------
export type MlpParams = LinearParams[];
export function initMlp(rng: HostRng, sizes: number[], act: Activation = "relu"): MlpParams {
  const layers: LinearParams[] = [];
  for (let i = 0; i + 1 < sizes.length; i++) layers.push(initLinear(rng, sizes[i]!, sizes[i + 1]!, act === "relu" ? "he" : "glorot"));
  return layers;
}
/** Linear layers with `act` between them (not after the last), dropout before each hidden->next. */
export function mlp(p: Params<MlpParams>, x: Tensor, opts: { act?: Activation; dropout?: number; rng?: Rng; finalAct?: boolean } = {}): Tensor {
  const act = opts.act ?? "relu";
  const rngs = opts.rng && opts.dropout ? opts.rng.split(p.length) : [];
  let h = x;
  p.forEach((layer, i) => {
    h = linear(layer, h);
    if (i < p.length - 1 || opts.finalAct) {
      h = activate(h, act);
      if (rngs[i]) h = dropout(h, opts.dropout!, rngs[i]);
    }
  });
  return h;
}

// ---- LayerNorm ----------------------------------------------------------------
export type LayerNormParams = { gamma: HostArray; beta: HostArray };
export function initLayerNorm(dim: number): LayerNormParams {
  return { gamma: onesParam([dim]), beta: zerosParam([dim]) };
}
export function layerNorm(p: { gamma: Tensor; beta: Tensor }, x: Tensor, eps = 1e-5): Tensor {
  const d = p.gamma.shape[0]!;
  if (x.shape[x.ndim - 1] !== d) {
    throw new FusionkitError(`expected input of shape [..., ${d}], received [${x.shape.join(", ")}]`, { layer: `LayerNorm(${d})` });
  }
  const mu = x.mean(-1, true);
  const centred = x.sub(mu);
  const variance = centred.square().mean(-1, true);
  return centred.div(variance.add(eps).sqrt()).mul(p.gamma).add(p.beta);
}

// ---- Dropout ----------------------------------------------------------------
/** Inverted dropout; identity when rng is undefined (eval mode). */
export function dropout(x: Tensor, rate: number, rng: Rng | undefined): Tensor {
  if (!rng || rate <= 0) return x;
  const keep = rng.bernoulli(1 - rate, x.shape);
  return x.mul(keep).div(1 - rate);
}

// ---- Embedding --------------------------------------------------------------
export type EmbeddingParams = { table: HostArray };
export function initEmbedding(rng: HostRng, vocabSize: number, dim: number): EmbeddingParams {
  return { table: normalParam(rng, [vocabSize, dim], 1 / Math.sqrt(dim)) };
}
export function embedding(p: { table: Tensor }, ids: Tensor): Tensor {
  return takeRows(p.table, ids);
}

// ---- Multi-head attention ------------------------------------------------------
export type AttentionParams = { q: LinearParams; k: LinearParams; v: LinearParams; o: LinearParams };
export function initAttention(rng: HostRng, queryDim: number, keyDim: number, dim: number): AttentionParams {
  return {
    q: initLinear(rng, queryDim, dim),
    k: initLinear(rng, keyDim, dim),
    v: initLinear(rng, keyDim, dim),
    o: initLinear(rng, dim, dim),
  };
}

/**
 * Multi-head attention: softmax(Q K^T / sqrt(d_h)) V, with queries from `query`
 * [B, Tq, dq] and keys/values from `context` [B, Tk, dk] (cross-attention when
 * they differ). `keyMask` [B, Tk] (1 = real) keeps padded or missing tokens out
 * of every softmax. A query whose context has no real key at all (a missing
 * modality) gets a zero output instead of an average of padding.
 * Returns the output [B, Tq, dim] and the weights [B, heads, Tq, Tk].
 */
export function attention(
  p: Params<AttentionParams>,
  query: Tensor,
  context: Tensor,
  opts: { heads: number; keyMask?: Tensor },
): { out: Tensor; weights: Tensor } {
  const layer = `Attention(heads=${opts.heads})`;
  if (query.ndim !== 3 || context.ndim !== 3 || query.shape[0] !== context.shape[0]) {
    throw new FusionkitError(
      `expected query [B, Tq, d] and context [B, Tk, d] with the same B, received [${query.shape.join(", ")}] and [${context.shape.join(", ")}]`,
      { layer },
    );
  }
  const [B, Tq] = query.shape as [number, number];
  const Tk = context.shape[1]!;
  if (opts.keyMask) expectShape(layer, opts.keyMask, [B, Tk], "key mask");
  const dim = p.q.w.shape[1] as number;
  const h = opts.heads;
  if (dim % h !== 0) throw new FusionkitError(`model dimension ${dim} is not divisible by ${h} heads`, { layer });
  const dh = dim / h;
  const split = (x: Tensor, T: number) => x.reshape([B, T, h, dh]).transpose([0, 2, 1, 3]);
  const q = split(linear(p.q, query), Tq);
  // The key bias adds q.b_k to every score of a query, which softmax ignores: its exact gradient is 0 and
  // the computed one is rounding noise that Adam scales up to +-lr steps (differently on each backend).
  // Stopping it keeps the bias where init put it; the forward pass is unchanged.
  const k = split(linear({ ...p.k, b: stopGradient(p.k.b) }, context), Tk);
  const v = split(linear(p.v, context), Tk);
  let scores = q.matmul(k.swapLastAxes()).mul(1 / Math.sqrt(dh));
  if (opts.keyMask) scores = where(opts.keyMask.reshape([B, 1, 1, Tk]), scores, -1e9);
  const weights = softmax(scores, -1);
  let out = weights.matmul(v).transpose([0, 2, 1, 3]).reshape([B, Tq, dim]);
  out = linear(p.o, out);
  if (opts.keyMask) out = out.mul(opts.keyMask.max(1).reshape([B, 1, 1]));
  return { out, weights };
}

// ---- Convolutions ---------------------------------------------------------------
export type ConvParams = { w: HostArray; b: HostArray };
export function initConv2d(rng: HostRng, inCh: number, outCh: number, kernel: number): ConvParams {
  return { w: heParam(rng, [outCh, inCh, kernel, kernel], inCh * kernel * kernel), b: zerosParam([outCh]) };
}
/** 2-D convolution, NCHW, 'SAME' padding. */
export function conv2d(p: { w: Tensor; b: Tensor }, x: Tensor, stride = 1): Tensor {
  const [outCh, inCh, kh, kw] = p.w.shape as [number, number, number, number];
  if (x.ndim !== 4 || x.shape[1] !== inCh) {
    throw new FusionkitError(`expected input of shape [B, ${inCh}, H, W], received [${x.shape.join(", ")}]`, {
      layer: `Conv2d(${inCh} -> ${outCh}, ${kh}x${kw})`,
    });
  }
  const y = adopt(lax.conv(x.borrow, p.w.borrow, [stride, stride], "SAME"));
  return y.add(p.b.reshape([1, outCh, 1, 1]));
}

/**
 * 2-D convolution on channels-last [B, H, W, C], stride 1, 'SAME' padding
 * (floor((k-1)/2) before, the rest after, as lax.conv), weights w [k*k*C, O]
 * (row (dy*k + dx)*C + c holds input channel c at offset (dy, dx)).
 * On jax-js it runs as one matrix product (im2col): the k x k shifted views of
 * the zero-padded input are concatenated on the channel axis, [B, H, W, k*k*C],
 * times w. Why: jax-js's conv kernel is slow on CPU (a LeNet forward pass at
 * batch 64 on 28x28 took ~440 ms with lax.conv, ~230 ms this way). While a
 * train step is traced for ONNX Runtime it is lax.conv instead (ONNX Conv,
 * whose backward pass is two more stride-1 Convs), which ORT runs faster than
 * the 25 Slices + Concat. Both give the same values (test/engine/layers.test.ts
 * pins each against a direct sum; test/export/trainStep.test.ts the ORT step).
 */
export type ChannelsLastConvParams = { w: HostArray; b: HostArray };
export function initConv2dChannelsLast(rng: HostRng, inCh: number, outCh: number, kernel: number): ChannelsLastConvParams {
  return { w: heParam(rng, [kernel * kernel * inCh, outCh], inCh * kernel * kernel), b: zerosParam([outCh]) };
}
export function conv2dChannelsLast(p: { w: Tensor; b: Tensor }, x: Tensor, kernel: number): Tensor {
  const [rowsIn, outCh] = p.w.shape as [number, number];
  const layer = `Conv2dChannelsLast(${kernel}x${kernel} -> ${outCh})`;
  if (x.ndim !== 4 || kernel * kernel * x.shape[3]! !== rowsIn) {
    throw new FusionkitError(`expected input of shape [B, H, W, ${rowsIn / (kernel * kernel)}], received [${x.shape.join(", ")}]`, { layer });
  }
  const [, H, W, C] = x.shape as [number, number, number, number];
  if (tracingForOnnx() && kernel % 2 === 1) {
    const w = p.w.reshape([kernel, kernel, C, outCh]).transpose([3, 2, 0, 1]);
    const y = adopt(lax.conv(x.transpose([0, 3, 1, 2]).borrow, w.borrow, [1, 1], "SAME"));
    return y.transpose([0, 2, 3, 1]).add(p.b);
  }
  const lo = Math.floor((kernel - 1) / 2);
  const hi = kernel - 1 - lo;
  const padded = kernel > 1 ? adopt(np.pad(x.use(), [[0, 0], [lo, hi], [lo, hi], [0, 0]])) : x;
  const views: Tensor[] = [];
  for (let dy = 0; dy < kernel; dy++) for (let dx = 0; dx < kernel; dx++) views.push(padded.slice(1, dy, dy + H).slice(2, dx, dx + W));
  const columns = views.length === 1 ? views[0]! : concat(views, -1);
  return columns.matmul(p.w).add(p.b);
}

/** 2x2 max pooling on channels-last [B, H, W, C] by reshape + max; an odd H or W gets one zero row/column appended (inputs are >= 0 after ReLU). */
export function maxPool2(x: Tensor): Tensor {
  let [B, H, W, C] = x.shape as [number, number, number, number];
  let y = x;
  if (H % 2) {
    y = concat([y, zeros([B, 1, W, C])], 1);
    H += 1;
  }
  if (W % 2) {
    y = concat([y, zeros([B, H, 1, C])], 2);
    W += 1;
  }
  return y.reshape([B, H / 2, 2, W / 2, 2, C]).max([2, 4]);
}

export function initConv1d(rng: HostRng, inCh: number, outCh: number, kernel: number): ConvParams {
  return { w: heParam(rng, [outCh, inCh, kernel], inCh * kernel), b: zerosParam([outCh]) };
}
/** 1-D convolution over time on [B, T, C] (channels last in and out), 'SAME' padding. */
export function conv1d(p: { w: Tensor; b: Tensor }, x: Tensor, stride = 1): Tensor {
  const [outCh, inCh, k] = p.w.shape as [number, number, number];
  if (x.ndim !== 3 || x.shape[2] !== inCh) {
    throw new FusionkitError(`expected input of shape [B, T, ${inCh}], received [${x.shape.join(", ")}]`, {
      layer: `Conv1d(${inCh} -> ${outCh}, k=${k})`,
    });
  }
  const y = adopt(lax.conv(x.transpose([0, 2, 1]).borrow, p.w.borrow, [stride], "SAME"));
  return y.transpose([0, 2, 1]).add(p.b);
}

/** Masked mean over axis 1 of [B, T, D] with mask [B, T]; zero where no token is real. */
export function maskedMean(x: Tensor, mask: Tensor): Tensor {
  const m = mask.expand(2);
  const total = x.mul(m).sum(1);
  const count = m.sum(1);
  return total.div(maximum(count, 1));
}
