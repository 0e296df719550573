/**
 * `--encoder <modality>=<model>` (repeatable) and `--allow-download`, shared by
 * train, bench and align: which modalities a frozen pretrained encoder
 * prepares (docs/pretrained.md). Registration stays cheap: parsing is plain
 * string work, transformers.js loads only when an encoder runs.
 */
import type { Command } from "commander";
import type { EncoderConfigInput } from "../data/pretrained/config.ts";

export type EncoderFlags = { encoder?: string[]; allowDownload?: boolean };

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function addEncoderOptions(command: Command): Command {
  return command
    .option(
      "--encoder <modality=model>",
      "frozen pretrained encoder for a text or image modality: a Hugging Face model id, a local model directory or onnx:<file>; add :tokens for token states (repeatable; modality=scratch drops a dataset.json encoder)",
      collect,
    )
    .option("--allow-download", "let transformers.js download a model id that is not on this machine (also FUSIONKIT_ALLOW_DOWNLOAD=1)");
}

/** The loadDataset options the flags ask for (none when no flag is given). */
export async function encoderLoadOptions(flags: EncoderFlags): Promise<{ encoders?: Record<string, EncoderConfigInput | null>; allowDownload?: boolean }> {
  // the data layer loads only when a command runs (registration must stay cheap: test/cli/startup.test.ts)
  const { parseEncoderFlags } = await import("../data/pretrained/config.ts");
  return {
    ...(flags.encoder?.length ? { encoders: parseEncoderFlags(flags.encoder) } : {}),
    ...(flags.allowDownload ? { allowDownload: true } : {}),
  };
}
