/**
 * Gradient accumulation for contrastive losses, GradCache style (Gao, Zhang,
 * Han, Callan, "Scaling Deep Contrastive Learning Batch Size under Memory
 * Limited Setup", RepL4NLP 2021).
 *
 * Plain gradient accumulation does not work for InfoNCE: each micro-batch
 * would only see its own in-batch negatives, so K micro-batches of b rows give
 * the gradient of K small-batch losses, not of one loss over K*b rows. The
 * loss couples every row to every other row through its denominator.
 * GradCache gets the exact big-batch gradient with micro-batch memory:
 *   1. embed every micro-batch without keeping the graph: Z (K*b rows);
 *   2. compute the full-batch loss L(Z, t) and its gradient G = dL/dZ, dL/dt;
 *   3. per micro-batch k, re-embed with the graph and backpropagate the cached
 *      G_k: grad_theta += d/dtheta sum(Z_k(theta) * stopgrad(G_k))
 *      (the chain rule: dL/dtheta = sum_k (dZ_k/dtheta)^T G_k);
 *   4. one optimiser update with the summed gradient (+ dL/dt on t).
 * The cost is one extra forward pass per micro-batch. The encoders here have
 * no dropout, so the re-embedding in step 3 reproduces step 1 exactly; a
 * stochastic encoder would need its per-micro-batch key replayed.
 * Equivalence with the one-batch step is pinned by test/align/gradCache.test.ts.
 */
import { numpy as np } from "@jax-js/jax";
import { fillSkeleton, type ParamLayout, type Params } from "../engine/params.ts";
import { applyUpdate, clipByGlobalNorm, optimizerSlots } from "../engine/optim.ts";
import { toRaw, type HostBatch, type TrainStepOptions } from "../engine/step.ts";
import type { RawArray, Tensor } from "../engine/tensor.ts";
import { compile, valueAndGrad } from "../engine/transforms.ts";
import type { AlignInputs, AlignModel, AlignParamTree } from "./alignModel.ts";
import { multiModalInfoNCE } from "./loss.ts";

export type ContrastiveStepMetrics = { loss: number; logitScale: number; gradNorm?: number };

function upload(data: Float32Array, shape: number[]): RawArray {
  return np.array(data).reshape(shape);
}

export class GradCacheStep {
  private params: RawArray[];
  private slots: RawArray[][];
  private t = 0;
  private readonly names: string[];
  private readonly scaleIndex: number;
  private readonly embedFn: (...args: any[]) => any;
  private readonly lossGradFn: (...args: any[]) => any;
  private readonly microGradFn: (...args: any[]) => any;
  private readonly updateFn: (...args: any[]) => any;

  constructor(
    readonly layout: ParamLayout,
    initialParams: Float32Array,
    readonly model: AlignModel,
    readonly options: TrainStepOptions,
  ) {
    this.names = model.spec.modalities.map((m) => m.name);
    this.scaleIndex = layout.entries.findIndex((e) => e.name === "logitScale");
    if (this.scaleIndex < 0) throw new Error("GradCacheStep: the layout has no logitScale leaf");
    this.params = layout.entries.map((e) => upload(initialParams.slice(e.offset, e.offset + e.size), e.shape));
    this.slots = Array.from({ length: optimizerSlots(options.optimizer) }, () => layout.entries.map((e) => np.zeros(e.shape)));
    const names = this.names;
    const fill = (leaves: Tensor[]) => fillSkeleton<Params<AlignParamTree>>(layout.skeleton, leaves);

    this.embedFn = compile((leaves: Tensor[], batch: AlignInputs) => model.embed(fill(leaves), batch));

    this.lossGradFn = compile((scaleLeaf: Tensor, embeddings: Record<string, Tensor>, mask: Tensor, rowWeight: Tensor) => {
      const { value, grad, aux } = valueAndGrad(
        ([z, s]: [Record<string, Tensor>, Tensor]) => {
          const scale = model.logitScale({ logitScale: s });
          return [multiModalInfoNCE(z, names, scale, mask, rowWeight), { scale }];
        },
        [embeddings, scaleLeaf] as [Record<string, Tensor>, Tensor],
      );
      return [value, grad[0], grad[1], (aux as { scale: Tensor }).scale];
    });

    this.microGradFn = compile((leaves: Tensor[], accumulated: Tensor[], batch: AlignInputs, cached: Record<string, Tensor>) => {
      const { grad } = valueAndGrad((p: Tensor[]) => {
        const z = model.embed(fill(p), batch);
        let surrogate = z[names[0]!]!.mul(cached[names[0]!]!).sum();
        for (const name of names.slice(1)) surrogate = surrogate.add(z[name]!.mul(cached[name]!).sum());
        return [surrogate, {}];
      }, leaves);
      return accumulated.map((a, i) => a.add(grad[i]!));
    });

    const scaleIndex = this.scaleIndex;
    this.updateFn = compile((leaves: Tensor[], slots: Tensor[][], accumulated: Tensor[], scaleGrad: Tensor, lr: Tensor, t: Tensor) => {
      let g = accumulated.map((a, i) => (i === scaleIndex ? a.add(scaleGrad) : a));
      const metrics: Tensor[] = [];
      if (options.clipNorm) {
        const clipped = clipByGlobalNorm(g, options.clipNorm);
        g = clipped.grad;
        metrics.push(clipped.norm.reshape([1]));
      }
      const updated = applyUpdate(options.optimizer, layout, leaves, g, slots, lr, t);
      return [updated.params, updated.slots, metrics];
    });
  }

  /**
   * One optimiser step over K micro-batches (embedding inputs, `microSize`
   * rows each); `rowWeight` [K * microSize] and `pairMask` [K*b, K*b] are
   * those of the whole batch.
   */
  step(micro: HostBatch[], rowWeight: Float32Array, pairMask: Float32Array, lr: number): ContrastiveStepMetrics {
    this.t += 1;
    const total = rowWeight.length;
    const microSize = total / micro.length;
    // 1. embeddings of every micro-batch, no graph kept
    const parts: Record<string, Float32Array[]> = Object.fromEntries(this.names.map((n) => [n, []]));
    let dim = 0;
    for (const batch of micro) {
      const out = this.embedFn(this.params.map((p) => p.ref), toRaw(batch)) as Record<string, RawArray>;
      for (const name of this.names) {
        dim = out[name]!.shape[1]!;
        parts[name]!.push(out[name]!.dataSync() as Float32Array);
      }
    }
    const joined: Record<string, RawArray> = {};
    for (const name of this.names) {
      const all = new Float32Array(total * dim);
      parts[name]!.forEach((p, k) => all.set(p, k * microSize * dim));
      joined[name] = upload(all, [total, dim]);
    }
    // 2. full-batch loss and its gradient with respect to the embeddings and t
    const [lossRaw, embeddingGrads, scaleGrad, scaleRaw] = this.lossGradFn(
      this.params[this.scaleIndex]!.ref,
      joined,
      upload(pairMask, [total, total]),
      upload(rowWeight, [total]),
    ) as [RawArray, Record<string, RawArray>, RawArray, RawArray];
    const cachedGrads: Record<string, Float32Array> = {};
    for (const name of this.names) cachedGrads[name] = embeddingGrads[name]!.dataSync() as Float32Array;
    // 3. backpropagate the cached gradients through each micro-batch
    let accumulated: RawArray[] = this.layout.entries.map((e) => np.zeros(e.shape));
    micro.forEach((batch, k) => {
      const cached: Record<string, RawArray> = {};
      for (const name of this.names) {
        cached[name] = upload(cachedGrads[name]!.slice(k * microSize * dim, (k + 1) * microSize * dim), [microSize, dim]);
      }
      accumulated = this.microGradFn(this.params.map((p) => p.ref), accumulated, toRaw(batch), cached) as RawArray[];
    });
    // 4. one update
    const [params, slots, metrics] = this.updateFn(
      this.params,
      this.slots,
      accumulated,
      scaleGrad,
      upload(new Float32Array([lr]), []),
      upload(new Float32Array([this.t]), []),
    ) as [RawArray[], RawArray[][], RawArray[]];
    this.params = params;
    this.slots = slots;
    const out: ContrastiveStepMetrics = { loss: (lossRaw.dataSync() as Float32Array)[0]!, logitScale: (scaleRaw.dataSync() as Float32Array)[0]! };
    if (metrics.length) out.gradNorm = (metrics[0]!.dataSync() as Float32Array)[0]!;
    return out;
  }

  currentParams(): Float32Array {
    const flat = new Float32Array(this.layout.total);
    this.params.forEach((leaf, i) => flat.set(leaf.ref.dataSync() as Float32Array, this.layout.entries[i]!.offset));
    return flat;
  }

  dispose(): void {
    for (const p of this.params) p.dispose();
    for (const slot of this.slots) for (const s of slot) s.dispose();
    this.params = [];
    this.slots = [];
  }
}
