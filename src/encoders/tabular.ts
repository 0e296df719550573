/**
 * Tabular encoder: numeric columns (standardised upstream) through one linear
 * layer, plus one learned embedding per categorical column, summed, then a
 * 2-layer MLP -> one token [dim]:
 *   h = MLP( x_num W_num + b + sum_c E_c[code_c] )
 * All categorical tables live in ONE stacked table indexed by code + offset_c,
 * so the lookup is a single gather per step (fewer kernels than one per column).
 */
import type { ModalitySpec } from "../data/types.ts";
import { FusionkitError } from "../errors.ts";
import { embedding, initEmbedding, initLinear, initMlp, linear, mlp, type EmbeddingParams, type LinearParams, type MlpParams } from "../engine/layers.ts";
import type { HostRng } from "../engine/random.ts";
import { constant, type Tensor } from "../engine/tensor.ts";
import { addFeedback, maskMissing, type ModalityEncoder, type ModalityInput } from "./common.ts";

export type TabularEncoderParams = { numeric?: LinearParams; categorical?: EmbeddingParams; mlp: MlpParams };

export function tabularEncoder(spec: ModalitySpec, dim: number): ModalityEncoder<TabularEncoderParams> {
  const width = spec.shape[0]!;
  const cardinalities = spec.categoricalCardinalities ?? [];
  const numericCount = width - cardinalities.length;
  if (numericCount < 0 || (spec.numericColumns && spec.numericColumns.length !== numericCount)) {
    throw new FusionkitError(
      `tabular modality has ${width} columns but ${cardinalities.length} categorical cardinalities and ${spec.numericColumns?.length ?? "?"} numeric columns; the dataset spec is inconsistent, re-prepare the dataset`,
      { field: spec.name, layer: "TabularEncoder" },
    );
  }
  // offset of column c's block in the stacked table
  const offsets: number[] = [];
  let tableRows = 0;
  for (const cardinality of cardinalities) {
    offsets.push(tableRows);
    tableRows += cardinality;
  }
  return {
    spec,
    dims: { name: spec.name, type: spec.type, dim, tokens: 1 },
    init(rng: HostRng): TabularEncoderParams {
      const p: TabularEncoderParams = { mlp: [] };
      if (numericCount > 0) p.numeric = initLinear(rng, numericCount, dim);
      if (cardinalities.length > 0) p.categorical = initEmbedding(rng, tableRows, dim);
      p.mlp = initMlp(rng, [dim, dim, dim]);
      return p;
    },
    apply(p, x: ModalityInput) {
      const B = x.present.shape[0]!;
      let h: Tensor | undefined;
      if (p.numeric) h = linear(p.numeric, x.input.slice(1, 0, numericCount));
      if (p.categorical) {
        const codes = x.input.slice(1, numericCount, width);
        // Codes outside [0, cardinality) (a hand-edited row) fall back to 0, the unknown bucket.
        const maxCodes = constant(cardinalities.map((c) => c - 1), [cardinalities.length]);
        const inRange = codes.less(maxCodes.add(0.5)).mul(codes.greater(-0.5));
        const safeCodes = codes.mul(inRange).add(constant(offsets, [offsets.length]));
        // Multiplying by presence zeroes missing rows, and also keeps jax-js 0.1.25's jit working:
        // the gather's gradient is a scatter, and a scatter whose incoming gradient is a pure
        // view (the broadcast that .sum(1) transposes to) fails with "routine primitive scatter
        // input is not imm" (pinned by test/model/encoders.test.ts, tabular gradient under jit).
        const summed = embedding(p.categorical, safeCodes).mul(x.present.reshape([B, 1, 1])).sum(1);
        h = h ? h.add(summed) : summed;
      }
      const pooled = mlp(p.mlp, addFeedback(h!, x.feedback).relu(), { finalAct: true });
      return maskMissing(spec, pooled, pooled.reshape([B, 1, dim]), x.present.reshape([B, 1]), x.present);
    },
  };
}
