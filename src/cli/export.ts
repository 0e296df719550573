/** `fusionkit export`: a trained model directory -> an ONNX graph + preprocessing metadata (<out>.json). */
import type { Command } from "commander";
import { join } from "node:path";
import { exportModel } from "../export/exportModel.ts";

export function register(program: Command): void {
  program
    .command("export")
    .description("export a trained model to ONNX (opset 17, dynamic batch) with its preprocessing metadata beside it")
    .requiredOption("--model <dir>", "checkpoint directory written by fusionkit train")
    .option("--out <file>", "the .onnx file to write; metadata goes to <file>.json (default: <model>/model.onnx, where serve looks)")
    .action(async (flags: { model: string; out?: string }) => {
      const summary = await exportModel(flags.model, flags.out ?? join(flags.model, "model.onnx"));
      const { metadata } = summary;
      console.log(`${summary.onnxPath}: ${metadata.method} (${metadata.family}), ${metadata.task}, ${(summary.bytes / 1024).toFixed(1)} KiB`);
      console.log(`  inputs:  ${metadata.inputs.map((i) => `${i.name} [${i.shape.join(", ")}]`).join(", ")}`);
      console.log(`  outputs: ${metadata.outputs.map((o) => `${o.name} [${o.shape.join(", ")}]`).join(", ")}`);
      console.log(`  metadata: ${summary.metadataPath}`);
    });
}
