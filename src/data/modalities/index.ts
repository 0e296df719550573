/** One pipeline per modality in dataset.json. */
import type { ModalityConfig } from "../schema.ts";
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
};

export function createPipeline(config: ModalityConfig, context: PipelineContext): ModalityPipeline<unknown, unknown> {
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
