/** The pretrained encoders a model's modalities were prepared with, as export metadata and reports name them. */
import type { ModalitySpec } from "../types.ts";
import type { EncoderRecord } from "./pipeline.ts";

export type EncoderSummary = { modality: string; model: string; modelType: string; output: string; identity: string; files: { path: string; sha256: string }[] };

export function encoderSummaries(specs: ModalitySpec[]): EncoderSummary[] {
  return specs.flatMap((spec) => {
    const record = (spec.preprocessing as { encoder?: EncoderRecord } | undefined)?.encoder;
    return record ? [{ modality: spec.name, model: record.model, modelType: record.modelType, output: record.output, identity: record.identity, files: record.files }] : [];
  });
}
