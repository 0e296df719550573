/**
 * Which parameter leaves a loss reads at all. A model may hold leaves its
 * training loss never touches: a unimodal baseline keeps every modality's
 * encoder in its tree but reads one (the bench hands that encoder to the
 * fusion runs), and a method that reads only pooled vectors leaves the text
 * encoder's token table unread. Their gradient is zero by construction, yet
 * an AdamW step would still decay them and stream them and their two slots
 * through memory every step (on the default emoji bench: 523,520 of a
 * unimodal image model's 802,537 values, the text token path's 262,272 in
 * every pooled-only fusion model; docs/engine.md).
 *
 * Both train steps (src/engine/step.ts, src/export/lowerStep.ts) therefore
 * leave an unread leaf exactly as it was, as PyTorch's optimisers skip a
 * parameter whose `.grad` is None, and the trainer counts only read leaves as
 * the model's parameters. Nothing a prediction reads changes: an unread
 * leaf feeds no output of the loss, so no trained leaf sees it either.
 *
 * "Read" is structural: the loss is traced once to a jaxpr and an input
 * counts when any equation on a path to the loss or a metric consumes it
 * (a leaf read only under stop_gradient counts: it is read, though not
 * trained). A read leaf whose gradient happens to be zero is still updated.
 */
import { numpy as np } from "@jax-js/jax";
import { fillSkeleton, type ParamLayout, type ParamTree, type Params } from "./params.ts";
import { Rng } from "./random.ts";
import { leavesOf, rebuildLike, type HostBatch } from "./hostBatch.ts";
import type { LossFn } from "./step.ts";
import type { Tensor } from "./tensor.ts";
import { liveVars, type JaxprAtom, type JaxprLike } from "./jaxpr.ts";
import { trace } from "./transforms.ts";

type Jaxpr = JaxprLike<JaxprAtom> & { inBinders: JaxprAtom[] };

/** read[i]: whether the loss (or one of its metrics) depends on layout leaf i, at this batch's shapes. */
export function leavesReadByLoss<P extends ParamTree, B>(layout: ParamLayout<P>, lossFn: LossFn<P, B>, exampleBatch: HostBatch): boolean[] {
  const batchLeaves = leavesOf(exampleBatch);
  const L = layout.entries.length;
  const raws = [
    ...layout.entries.map((e) => np.zeros(e.shape)),
    np.zeros([2], { dtype: "uint32" as np.DType }),
    ...batchLeaves.map(([, a]) => np.zeros(a.shape)),
  ];
  let traced: { jaxpr: Jaxpr & { flatten(): Jaxpr }; consts: unknown[]; dispose(): void };
  try {
    ({ jaxpr: traced } = trace(
      (...all: Tensor[]) => {
        const out = lossFn(fillSkeleton<Params<P>>(layout.skeleton, all.slice(0, L)), rebuildLike(exampleBatch, all.slice(L + 1)) as B, new Rng(all[L]!));
        return [out.loss, ...Object.values(out.metrics ?? {})];
      },
      ...(raws as any[]),
    ) as unknown as { jaxpr: typeof traced });
  } finally {
    for (const r of raws) r.dispose();
  }
  try {
    const jaxpr = traced.jaxpr.flatten();
    const live = liveVars(jaxpr);
    // the traced arguments follow the constants the trace closed over
    const args = jaxpr.inBinders.slice(jaxpr.inBinders.length - raws.length);
    return layout.entries.map((_, i) => live.has(args[i]!));
  } finally {
    traced.dispose();
  }
}

/** Values in the leaves `read` marks: the parameters a model trains. */
export function readParamCount(layout: ParamLayout, read: boolean[]): number {
  return layout.entries.reduce((n, e, i) => n + (read[i] ? e.size : 0), 0);
}
