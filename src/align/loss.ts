/**
 * Alignment's loss: the symmetric InfoNCE of src/engine/losses.ts (CLIP,
 * Radford et al., ICML 2021; van den Oord et al. 2018 for InfoNCE):
 *
 *   S = s * Z_a Z_b^T                                        [B, B]
 *   L = 1/2 * ( mean_i CE(S_i., i) + mean_j CE(S_.j, j) )
 *     = 1/2 * mean_i [ -S_ii + log sum_j exp S_ij ] + 1/2 * mean_j [ -S_jj + log sum_i exp S_ij ]
 *
 * Two departures from the textbook batch, both through `pairMask` [B, B]
 * (1 = the pair (i, j) takes part):
 *  - padding rows of a short last batch are excluded from both the
 *    denominators and the mean (rowWeight 0);
 *  - false negatives: two rows of the same group (emoji: the same emoji's
 *    other vendor picture or other language text) are true matches, not
 *    negatives, so off-diagonal same-group pairs are left out of the
 *    denominators (each row still has exactly one positive, its own pair).
 *
 * With more than two modalities the loss is the mean over every pair (a, b).
 */
import { infoNCE } from "../engine/losses.ts";
import type { Tensor } from "../engine/tensor.ts";

/**
 * pairMask[i, j] = w_i w_j [i = j or group_i != group_j]: symmetric, so the
 * same mask serves rows (image -> text) and columns (text -> image).
 * `groups` may be omitted (every row its own group).
 */
export function pairMask(rowWeight: ArrayLike<number>, groups?: ArrayLike<number>): Float32Array {
  const B = rowWeight.length;
  const mask = new Float32Array(B * B);
  for (let i = 0; i < B; i++) {
    for (let j = 0; j < B; j++) {
      const sameGroupOther = i !== j && groups !== undefined && groups[i] === groups[j];
      mask[i * B + j] = rowWeight[i]! > 0 && rowWeight[j]! > 0 && !sameGroupOther ? 1 : 0;
    }
  }
  return mask;
}

/** Mean of the symmetric InfoNCE (src/engine/losses.ts) over every pair of modalities (in `names` order), with the pair mask above. */
export function multiModalInfoNCE(embeddings: Record<string, Tensor>, names: string[], logitScale: Tensor, mask: Tensor, rowWeight: Tensor): Tensor {
  let total: Tensor | undefined;
  let pairs = 0;
  for (let i = 0; i < names.length; i++) {
    for (let j = i + 1; j < names.length; j++) {
      const l = infoNCE(embeddings[names[i]!]!, embeddings[names[j]!]!, logitScale, { pairMask: mask, rowWeight });
      total = total ? total.add(l) : l;
      pairs++;
    }
  }
  return total!.div(pairs);
}
