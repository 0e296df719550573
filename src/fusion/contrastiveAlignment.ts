/**
 * Contrastive alignment, CLIP (Radford, Kim, Hallacy, Ramesh, Goh, Agarwal,
 * Sastry, Askell, Mishkin, Clark, Krueger & Sutskever, ICML 2021): methods.md §5.
 *
 *   e_m = normalise(h_m W_m)                      per-modality linear projection (no bias, as in CLIP) to a shared D-dim space
 *   S   = exp(t) * e_a e_b^T                      for each modality pair (a, b), a < b; exp(t) clamped to <= 100
 *   InfoNCE(a, b) = (CE(S, diag) + CE(S^T, diag)) / 2     in-batch negatives (src/engine/losses.ts, shared with alignment)
 *   auxLoss = mean over pairs of InfoNCE(a, b)
 *   logits  = [sg e_1; ...; sg e_M] W_probe + b_probe      a linear probe on stop-gradient embeddings
 * t is learnable, initialised to log(1/0.07). CLIP clamps the parameter after each
 * optimiser step; a pure apply cannot write its parameters, so the clamp is applied
 * in the forward pass instead: scale = exp(min(t, log 100)). The scale never exceeds
 * 100 and t receives no gradient while it is past the clamp.
 * Training: the encoders and projections learn only from InfoNCE (the probe reads
 * them through stop-gradient), the probe only from the labels.
 *
 * Missing modalities and padding: a row takes part in pair (a, b) only where both
 * are present, as anchor and as negative. A fusion module receives no rowWeight,
 * so padding rows (rowWeight 0, which the batcher fills with copies of row 0) are
 * excluded only when their presence flags are 0. A copy of row 0 is a duplicate
 * positive, a mild false negative in that batch's pair loss; the task loss ignores it.
 * A missing modality's embedding is zero, so the probe sees zeros for it.
 *
 * Also exported for retrieval and zero-shot classification:
 * `zeroShotLogits` (logits = 100 * I W^T, w_c = normalise(mean over templates of
 * normalise(text embedding))), `normalise`, `logitScale`.
 */
import { FusionkitError } from "../errors.ts";
import { initLinear, linear, type LinearParams } from "../engine/layers.ts";
import { constantParam, glorotParam } from "../engine/params.ts";
import type { HostRng } from "../engine/random.ts";
import { infoNCE } from "../engine/losses.ts";
import { concat, minimum, stack, stopGradient, type HostArray, type Tensor } from "../engine/tensor.ts";
import type { EncodedDims } from "../encoders/types.ts";
import { z } from "zod";
import { defaultsOf, integer } from "./config.ts";
import type { ExplainSpec } from "./explain.ts";
import type { FusionMethod } from "./types.ts";

const clipConfig = z.strictObject({
  /** D, the shared embedding width */
  dim: integer(1).default(64),
});
export type ClipConfig = z.infer<typeof clipConfig>;
export type ClipParams = { projections: { w: HostArray }[]; logTemperature: HostArray; probe: LinearParams };

/** CLIP's initial temperature: logits scale exp(t) = 1/0.07. */
export const INITIAL_LOGIT_SCALE = 1 / 0.07;
/** CLIP's clamp: the logits scale never exceeds 100. */
export const MAX_LOGIT_SCALE = 100;

/** x / ||x|| over the last axis; a zero row stays zero (the epsilon keeps its gradient finite). */
export function normalise(x: Tensor): Tensor {
  return x.div(x.square().sum(-1, true).add(1e-12).sqrt());
}

/** exp(min(t, log 100)): the learnable logits scale with CLIP's clamp. */
export function logitScale(t: Tensor): Tensor {
  return minimum(t, Math.log(MAX_LOGIT_SCALE)).exp();
}

/**
 * Zero-shot class logits: 100 * normalise(I) W^T, with imageEmb [N, D] and
 * classTextEmb [C, K, D] (K prompt templates per class);
 * w_c = normalise(mean_k normalise(classTextEmb[c, k])).
 */
export function zeroShotLogits(imageEmb: Tensor, classTextEmb: Tensor): Tensor {
  if (imageEmb.ndim !== 2 || classTextEmb.ndim !== 3 || imageEmb.shape[1] !== classTextEmb.shape[2]) {
    throw new FusionkitError(
      `expected image embeddings [N, D] and class text embeddings [C, templates, D] with the same D, received [${imageEmb.shape.join(", ")}] and [${classTextEmb.shape.join(", ")}]`,
      { layer: "zeroShotLogits" },
    );
  }
  const classWeights = normalise(normalise(classTextEmb).mean(1));
  return normalise(imageEmb).matmul(classWeights.swapLastAxes()).mul(MAX_LOGIT_SCALE);
}

function checkClip(_config: ClipConfig, inputs: EncodedDims[]): void {
  if (inputs.length < 2) {
    throw new FusionkitError(`contrastive alignment needs at least two modalities to align, the dataset has ${inputs.length}`, { layer: "clip" });
  }
}

export const clip: FusionMethod<ClipConfig, ClipParams> = {
  name: "clip",
  family: "contrastive",
  summary: "CLIP: symmetric InfoNCE aligns every modality pair in a shared space; a linear probe on the frozen embeddings predicts",
  citation: "Radford et al., ICML 2021",
  config: clipConfig,
  defaults: defaultsOf(clipConfig),
  check: checkClip,
  init(rng: HostRng, inputs: EncodedDims[], outDim: number, config: ClipConfig): ClipParams {
    checkClip(config, inputs);
    return {
      projections: inputs.map((m) => ({ w: glorotParam(rng, [m.dim, config.dim]) })),
      logTemperature: constantParam([1], Math.log(INITIAL_LOGIT_SCALE)),
      probe: initLinear(rng, inputs.length * config.dim, outDim),
    };
  },
  apply(p, encoded) {
    const B = encoded[0]!.present.shape[0]!;
    const embeddings = encoded.map((e, m) => normalise(e.pooled.matmul(p.projections[m].w)).mul(e.present.reshape([B, 1])));
    const scale = logitScale(p.logTemperature.reshape([]));
    const pairLosses: Tensor[] = [];
    const similarities: Tensor[] = [];
    for (let a = 0; a < encoded.length; a++) {
      for (let b = a + 1; b < encoded.length; b++) {
        const both = encoded[a]!.present.mul(encoded[b]!.present);
        pairLosses.push(infoNCE(embeddings[a]!, embeddings[b]!, scale, { rowWeight: both }));
        similarities.push(embeddings[a]!.mul(embeddings[b]!).sum(-1));
      }
    }
    let auxLoss = pairLosses[0]!;
    for (const l of pairLosses.slice(1)) auxLoss = auxLoss.add(l);
    auxLoss = auxLoss.div(pairLosses.length);
    const logits = linear(p.probe, stopGradient(concat(embeddings, 1)));
    // pairSimilarity [B, pairs]: cosine similarity per modality pair, pairs in (0,1), (0,2), ..., (1,2), ... order; 0 where one is missing.
    return { logits, auxLoss, explain: { pairSimilarity: stack(similarities, 1) } };
  },
  explains: (inputs): ExplainSpec => ({
    pairSimilarity: { kind: "pairSimilarity", pairs: inputs.flatMap((a, i) => inputs.slice(i + 1).map((b): [string, string] => [a.name, b.name])) },
  }),
};

export const contrastiveMethods: FusionMethod[] = [clip];
