/** One encoder per modality type; each maps its modality to `Encoded` with a common width `dim`. */
import type { ModalitySpec } from "../data/types.ts";
import type { ModalityEncoder } from "./common.ts";
import { frameEncoder } from "./frames.ts";
import { imageEncoder } from "./image.ts";
import { tabularEncoder } from "./tabular.ts";
import { textEncoder } from "./text.ts";
import { vectorEncoder } from "./vector.ts";
import type { Pooling } from "./pooling.ts";

export type { ModalityEncoder, ModalityInput } from "./common.ts";
export type { Encoded, EncodedDims } from "./types.ts";
export type { Pooling } from "./pooling.ts";
export { vectorEncoder, tabularEncoder, textEncoder, imageEncoder, frameEncoder };

export const defaultEncoderDim = 64;

/** `pooling` "mean" gives the plain-mean encoders they replaced, for measurement and tests only (src/encoders/pooling.ts). */
export function encoderFor(spec: ModalitySpec, dim: number = defaultEncoderDim, pooling: Pooling = "structured"): ModalityEncoder {
  switch (spec.type) {
    case "vector":
      return vectorEncoder(spec, dim);
    case "tabular":
      return tabularEncoder(spec, dim);
    case "text":
      return textEncoder(spec, dim, pooling);
    case "image":
      return imageEncoder(spec, dim, undefined, pooling);
    case "audio":
    case "sequence":
      return frameEncoder(spec, dim, pooling);
  }
}
