/**
 * Image encoder: a LeNet-style CNN (LeCun, Bottou, Bengio & Haffner,
 * "Gradient-based learning applied to document recognition", Proc. IEEE 1998;
 * MultiBench's AV-MNIST image encoder is one too). On x [B, H, W, C]:
 *   h1 = maxpool2( ReLU( conv5x5(x;  C -> 16) + b1 ) )       [B, 16, H/2, W/2]
 *   h2 = maxpool2( ReLU( conv3x3(h1; 16 -> 32) + b2 ) )      [B, 32, H/4, W/4]
 *   tokens_p = h2[:, :, p] W_t + b_t + P_p                    one token per position p of h2
 *   pooled   = ReLU( W flatten(tokens) + b )                  every position at its place
 * Convolutions are stride 1 with 'SAME' padding; pooling is a reshape to 2x2
 * blocks and a max (a side of odd length is padded with one zero row/column,
 * harmless after the ReLU). The final map's positions are the tokens the
 * attention-based methods read; the pooled vector flattens them (not a mean),
 * so where a stroke is survives pooling (test/model/layoutEncoders.test.ts).
 * Why a CNN over the flattened-patch encoder (patchImage.ts): weight sharing
 * and local pooling give translation-tolerant stroke detectors that a linear
 * map of fixed 4x4/8x8 patches does not have. Measured (2026-12-02, 2-core
 * AMD EPYC, Node 22.23.3, unimodal:image, width 64, seed 0; commands in
 * docs/encoders.md): AV-MNIST-style val/test 0.952/0.968 vs patches
 * 0.904/0.914; emoji 0.606/0.546 vs 0.586/0.520 (linear:image 0.549 test);
 * in `npm run bench:avmnist` 0.964 test (docs/benchmarks.md). It costs
 * ~5-10x the patch encoder per step (20.9 vs 3.2 ms at batch 32 on 28x28 in ORT).
 * Cost: a stride-1 conv's backward pass is two more stride-1 convolutions (no
 * input dilation), so the train step lowers to ONNX Conv for ONNX Runtime.
 */
import type { ModalitySpec } from "../data/types.ts";
import { initLinear, initConv2dChannelsLast, linear, maxPool2, conv2dChannelsLast, type LinearParams, type ChannelsLastConvParams } from "../engine/layers.ts";
import { normalParam } from "../engine/params.ts";
import type { HostArray } from "../engine/tensor.ts";
import type { HostRng } from "../engine/random.ts";
import { addFeedback, maskMissing, type ModalityEncoder, type ModalityInput } from "./common.ts";

export type CnnImageEncoderParams = { conv1: ChannelsLastConvParams; conv2: ChannelsLastConvParams; token: LinearParams; positions: HostArray; projection: LinearParams };

/** Channels of the two convolution stages and their kernel sizes. */
export type CnnStage = { channels: number; kernel: number };
export const cnnStages: [CnnStage, CnnStage] = [
  { channels: 16, kernel: 5 },
  { channels: 32, kernel: 3 },
];

/** Side length after one 2x2 max-pool (an odd side is padded by one first). */
const pooledSide = (n: number) => Math.ceil(n / 2);

export function cnnImageEncoder(spec: ModalitySpec, dim: number, stages: [CnnStage, CnnStage] = cnnStages): ModalityEncoder<CnnImageEncoderParams> {
  const [H, W, C] = spec.shape as [number, number, number];
  const [s1, s2] = stages;
  const rows = pooledSide(pooledSide(H));
  const cols = pooledSide(pooledSide(W));
  const positions = rows * cols;
  return {
    spec,
    dims: { name: spec.name, type: spec.type, dim, tokens: positions },
    init: (rng: HostRng): CnnImageEncoderParams => ({
      conv1: initConv2dChannelsLast(rng, C, s1.channels, s1.kernel),
      conv2: initConv2dChannelsLast(rng, s1.channels, s2.channels, s2.kernel),
      token: initLinear(rng, s2.channels, dim),
      positions: normalParam(rng, [positions, dim], 0.02),
      projection: initLinear(rng, positions * dim, dim, "he"),
    }),
    apply(p, x: ModalityInput) {
      const B = x.present.shape[0]!;
      const h1 = maxPool2(conv2dChannelsLast(p.conv1, x.input.reshape([B, H, W, C]), s1.kernel).relu());
      const h2 = maxPool2(conv2dChannelsLast(p.conv2, h1, s2.kernel).relu());
      // [B, rows, cols, 32] -> [B, rows*cols, 32]: one token per position of the final map, row-major
      const map = h2.reshape([B, positions, s2.channels]);
      const tokens = addFeedback(linear(p.token, map).add(p.positions), x.feedback);
      const pooled = linear(p.projection, tokens.reshape([B, positions * dim])).relu();
      const mask = x.present.reshape([B, 1]).broadcastTo([B, positions]);
      return maskMissing(spec, pooled, tokens, mask, x.present);
    },
  };
}
