/** One encoder per modality type; each maps its modality to `Encoded` with a common width `dim`. */
import type { ModalitySpec } from "../data/types.ts";
import type { ModalityEncoder } from "./common.ts";
import { frameEncoder } from "./frames.ts";
import { imageEncoder } from "./image.ts";
import { cnnImageEncoder } from "./imageCnn.ts";
import { tabularEncoder } from "./tabular.ts";
import { textEncoder, type TextEncoderKind } from "./text.ts";
import { vectorEncoder } from "./vector.ts";
import type { Pooling } from "./pooling.ts";

export type { ModalityEncoder, ModalityInput } from "./common.ts";
export type { Encoded, EncodedDims } from "./types.ts";
export type { Pooling } from "./pooling.ts";
export { textEncoderKinds, defaultTextEncoder, type TextEncoderKind } from "./text.ts";
export { vectorEncoder, tabularEncoder, textEncoder, imageEncoder, cnnImageEncoder, frameEncoder };

export const defaultEncoderDim = 64;

/** Which image encoder: "cnn" (LeNet-style, src/encoders/imageCnn.ts, the default) or "patches" (flattened patch tokens, image.ts). */
export const imageEncoderKinds = ["cnn", "patches"] as const;
export type ImageEncoderKind = (typeof imageEncoderKinds)[number];
export const defaultImageEncoder: ImageEncoderKind = "cnn";

/**
 * `pooling` "mean" gives the plain-mean encoders they replaced, for measurement and tests only (src/encoders/pooling.ts);
 * for images it means the patch encoder with a mean over patches, whatever `image` says.
 */
export function encoderFor(
  spec: ModalitySpec,
  dim: number = defaultEncoderDim,
  pooling: Pooling = "structured",
  image: ImageEncoderKind = defaultImageEncoder,
  text?: TextEncoderKind,
): ModalityEncoder {
  switch (spec.type) {
    case "vector":
      return vectorEncoder(spec, dim);
    case "tabular":
      return tabularEncoder(spec, dim);
    case "text":
      return textEncoder(spec, dim, pooling, text);
    case "image":
      return image === "cnn" && pooling === "structured" ? cnnImageEncoder(spec, dim) : imageEncoder(spec, dim, undefined, pooling);
    case "audio":
    case "sequence":
      return frameEncoder(spec, dim, pooling);
  }
}
