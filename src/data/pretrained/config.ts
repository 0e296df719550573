/**
 * How a text or image modality names a pretrained encoder: in dataset.json
 * (`"encoder": "Xenova/all-MiniLM-L6-v2"` or the object form) or on the
 * command line (`--encoder caption=Xenova/all-MiniLM-L6-v2`). One zod schema;
 * the string form is shorthand for `{ "model": ... }`.
 *
 *   model      a Hugging Face model id, a local directory in the HF layout
 *              (config.json, tokenizer or preprocessor configs, onnx/*.onnx),
 *              or onnx:<file.onnx> (a bare ONNX graph + <file>.encoder.json)
 *   output     "pooled" (default): one vector per row -> a vector modality
 *              "tokens": the token/patch states -> a sequence modality with a
 *              mask, for the attention methods
 *   maxTokens  text: tokens per row after the tokenizer (truncated, padded)
 *   batchSize  rows per encoder call
 *   normalize  pooled vectors scaled to unit length (default true)
 */
import { z } from "zod";
import { FusionkitError } from "../../errors.ts";

export const encoderObjectSchema = z.strictObject({
  model: z.string().min(1, "must name a model id, a directory or onnx:<file>"),
  output: z.enum(["pooled", "tokens"]).default("pooled"),
  maxTokens: z.number().int().positive().max(4096).default(64),
  batchSize: z.number().int().positive().max(4096).default(32),
  normalize: z.boolean().default(true),
});

export const encoderSchema = z.union([z.string().min(1, "must name a model id, a directory or onnx:<file>"), encoderObjectSchema]);

export type EncoderConfigInput = z.input<typeof encoderObjectSchema>;
export type EncoderConfig = z.infer<typeof encoderObjectSchema>;

/** The object form with defaults, from either form. */
export function normaliseEncoder(value: string | EncoderConfigInput): EncoderConfig {
  return encoderObjectSchema.parse(typeof value === "string" ? { model: value } : value);
}

/** Values of `--encoder` that mean "train this modality's encoder from scratch" (for sweeps). */
export const scratchNames = new Set(["scratch", "none"]);

/**
 * `--encoder caption=Xenova/all-MiniLM-L6-v2` (repeatable) -> { caption: "..." }.
 * A `:tokens` or `:pooled` suffix picks the output: `caption=./minilm:tokens`.
 * `caption=scratch` removes a dataset.json default.
 */
export function parseEncoderFlags(values: string[]): Record<string, EncoderConfigInput | null> {
  const out: Record<string, EncoderConfigInput | null> = {};
  for (const value of values) {
    const eq = value.indexOf("=");
    if (eq <= 0 || eq === value.length - 1) {
      throw new FusionkitError(`--encoder takes <modality>=<model>, e.g. caption=Xenova/all-MiniLM-L6-v2 or image=./models/clip; got "${value}"`, { field: "--encoder" });
    }
    const modality = value.slice(0, eq);
    let model = value.slice(eq + 1);
    if (modality in out) throw new FusionkitError(`--encoder names modality "${modality}" twice`, { field: "--encoder" });
    if (scratchNames.has(model)) {
      out[modality] = null;
      continue;
    }
    let output: EncoderConfig["output"] | undefined;
    const suffix = /:(tokens|pooled)$/u.exec(model);
    if (suffix) {
      output = suffix[1] as EncoderConfig["output"];
      model = model.slice(0, -suffix[0].length);
    }
    out[modality] = output ? { model, output } : { model };
  }
  return out;
}

/** "caption=Xenova/all-MiniLM-L6-v2" style label of a modality's encoder choice, for reports. */
export function describeEncoders(encoders: Record<string, { model: string; output?: string } | null | undefined>): string {
  const parts = Object.entries(encoders).map(([name, e]) => `${name}=${e ? `${e.model}${e.output === "tokens" ? ":tokens" : ""}` : "scratch"}`);
  return parts.length ? parts.join(" ") : "scratch";
}

/**
 * The type of a modality's raw row values: a pretrained text or image modality
 * is prepared as a vector or sequence, but its rows still hold a string or an
 * image path (serve validates and path-checks rows by this).
 */
export function rawTypeOf(spec: { type: string; preprocessing?: Record<string, unknown>; config?: Record<string, unknown> }): string {
  const encoder = (spec.preprocessing as { encoder?: { modality?: string } } | undefined)?.encoder;
  return encoder?.modality ?? spec.type;
}
