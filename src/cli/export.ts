/** `fusionkit export`: a trained model directory -> an ONNX graph + preprocessing metadata (<out>.json). Registration only; the run is src/cli/actions/export.ts. */
import type { Command } from "commander";

export type ExportFlags = { model: string; out?: string; web?: string };

export function register(program: Command): void {
  program
    .command("export")
    .description("export a trained model to ONNX (opset 17, dynamic batch) with its preprocessing metadata beside it")
    .requiredOption("--model <dir>", "checkpoint directory written by fusionkit train")
    .option("--out <file>", "the .onnx file to write; metadata goes to <file>.json (default: <model>/model.onnx, where serve looks)")
    .option("--web <dir>", "write a static web page folder instead (index.html, model.onnx, onnxruntime-web): the model runs and explains in the browser (as fusionkit page)")
    .action(async (flags: ExportFlags) => {
      const { runExport } = await import("./actions/export.ts");
      await runExport(flags);
    });
}
