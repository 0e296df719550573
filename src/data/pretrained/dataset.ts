/**
 * Pretrained encoders at the dataset level: `--encoder` overrides on top of
 * dataset.json's per-modality "encoder" entries, and resolving every encoder
 * once per load (its identity keys the dataset cache).
 */
import { FusionkitError } from "../../errors.ts";
import { modalitySchema, type DatasetConfig } from "../schema.ts";
import type { PipelineContext } from "../modalities/index.ts";
import { normaliseEncoder, type EncoderConfigInput } from "./config.ts";
import { resolveEncoder, type ResolvedEncoder, type ResolveOptions } from "./resolve.ts";

/** A copy of `config` with each named modality's encoder set (or removed, for null). */
export function applyEncoderOverrides(config: DatasetConfig, encoders: Record<string, EncoderConfigInput | string | null>, configFile: string): DatasetConfig {
  const names = config.modalities.map((m) => m.name);
  const modalities = config.modalities.map((modality) => ({ ...modality }));
  for (const [name, encoder] of Object.entries(encoders)) {
    const index = names.indexOf(name);
    if (index < 0) throw new FusionkitError(`--encoder names modality "${name}", which ${configFile} does not have; its modalities: ${names.join(", ")}`, { field: "--encoder" });
    const modality = modalities[index]!;
    if (modality.type !== "text" && modality.type !== "image") {
      throw new FusionkitError(`--encoder: modality "${name}" is ${modality.type}; pretrained encoders take text or image modalities`, { field: "--encoder" });
    }
    if (encoder === null) delete (modality as { encoder?: unknown }).encoder;
    else (modality as { encoder?: unknown }).encoder = normaliseEncoder(encoder);
    modalities[index] = modalitySchema.parse(modality);
  }
  return { ...config, modalities };
}

export type DatasetEncoders = {
  /** modality name -> encoder identity, for the dataset cache key (undefined when no modality has one) */
  identities?: Record<string, string>;
  context?: NonNullable<PipelineContext["pretrained"]>;
  resolved: Record<string, ResolvedEncoder>;
};

export async function resolveDatasetEncoders(config: DatasetConfig, options: ResolveOptions & { cacheDir: string }): Promise<DatasetEncoders> {
  const resolved: Record<string, ResolvedEncoder> = {};
  for (const modality of config.modalities) {
    if ((modality.type === "text" || modality.type === "image") && modality.encoder !== undefined) {
      resolved[modality.name] = await resolveEncoder(normaliseEncoder(modality.encoder), modality.type, options);
    }
  }
  if (Object.keys(resolved).length === 0) return { resolved };
  return {
    resolved,
    identities: Object.fromEntries(Object.entries(resolved).map(([name, encoder]) => [name, encoder.identity])),
    context: { ...options, resolved },
  };
}
