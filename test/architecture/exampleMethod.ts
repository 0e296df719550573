/** The example method of docs/architecture.md, compiled: test/architecture/exampleMethod.test.ts checks the page shows this code. */
import { z } from "zod";
import { initLinear, linear, type LinearParams } from "../../src/engine/layers.ts";
import { maximum, stack } from "../../src/engine/tensor.ts";
import { defaultsOf, integer, requireModalities } from "../../src/fusion/config.ts";
import { modalityNames } from "../../src/fusion/explain.ts";
import type { FusionMethod } from "../../src/fusion/types.ts";

// --- the page's example starts here
const meanPoolConfig = z.strictObject({
  /** width of each modality's projection and of the fused vector */
  dim: integer(1).default(16),
});
type MeanPoolConfig = z.infer<typeof meanPoolConfig>;
type MeanPoolParams = { projections: LinearParams[] };

/** h = (1/|S|) sum over the present modalities m of ReLU(e_m W_m + b_m) */
export const meanPoolFusion: FusionMethod<MeanPoolConfig, MeanPoolParams> = {
  name: "mean_pool",
  family: "intermediate",
  summary: "mean of the projected modalities over the present ones",
  citation: "the example of docs/architecture.md",
  config: meanPoolConfig,
  defaults: defaultsOf(meanPoolConfig),
  check: (_config, inputs) => requireModalities("mean_pool", inputs, 2),
  init: (rng, inputs, _outDim, config) => ({ projections: inputs.map((m) => initLinear(rng, m.dim, config.dim, "he")) }),
  apply(p, encoded) {
    const present = stack(encoded.map((e) => e.present), 1); // [B, M]
    const weights = present.div(maximum(present.sum(1, true), 1)); // 1/|S| where present, else 0
    const h = stack(encoded.map((e, m) => linear(p.projections[m]!, e.pooled).relu()), 1); // [B, M, dim]
    return { fused: h.mul(weights.expand(2)).sum(1), explain: { weights } };
  },
  fusedDim: (_inputs, config) => config.dim,
  explains: (inputs) => ({ weights: { kind: "modalityWeights", modalities: modalityNames(inputs) } }),
};
