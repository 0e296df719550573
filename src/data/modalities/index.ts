/** One pipeline per modality in dataset.json. */
import type { ModalityConfig } from "../schema.ts";
import { PretrainedPipeline, type PretrainedContext } from "../pretrained/pipeline.ts";
import { AudioPipeline } from "./audio.ts";
import { ImagePipeline } from "./image.ts";
import type { ModalityPipeline } from "./pipeline.ts";
import { SequencePipeline } from "./sequence.ts";
import { TabularPipeline } from "./tabular.ts";
import { TextPipeline } from "./text.ts";
import { VectorPipeline } from "./vector.ts";

export type PipelineContext = {
  baseDir: string;
  resolvePath: (relative: string) => { path: string; display: string };
  totalRows: number;
  /** pretrained encoders: options, and the encoders loadDataset already resolved (by modality name) */
  pretrained?: Omit<PretrainedContext, "baseDir" | "resolved"> & { resolved?: Record<string, PretrainedContext["resolved"]> };
};

export function createPipeline(config: ModalityConfig, context: PipelineContext): ModalityPipeline<unknown, unknown> {
  if ((config.type === "text" || config.type === "image") && config.encoder !== undefined) {
    const { resolved, ...options } = context.pretrained ?? {};
    const encoder = resolved?.[config.name];
    return new PretrainedPipeline({ ...config, encoder: config.encoder }, { ...options, baseDir: context.baseDir, ...(encoder ? { resolved: encoder } : {}) }) as ModalityPipeline<unknown, unknown>;
  }
  switch (config.type) {
    case "vector":
      return new VectorPipeline(config, context.resolvePath, context.totalRows) as ModalityPipeline<unknown, unknown>;
    case "tabular":
      return new TabularPipeline(config) as ModalityPipeline<unknown, unknown>;
    case "text":
      return new TextPipeline(config) as ModalityPipeline<unknown, unknown>;
    case "image":
      return new ImagePipeline(config, context.baseDir) as ModalityPipeline<unknown, unknown>;
    case "audio":
      return new AudioPipeline(config, context.baseDir) as ModalityPipeline<unknown, unknown>;
    case "sequence":
      return new SequencePipeline(config) as ModalityPipeline<unknown, unknown>;
  }
}
