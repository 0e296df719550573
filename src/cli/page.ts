/**
 * `fusionkit page`: a trained model as a static web page that predicts and
 * explains in the browser (src/export/web), and a local static server for such
 * a folder. Registration only; the run is src/cli/actions/page.ts.
 */
import type { Command } from "commander";
import { port } from "./options.ts";

export type PageFlags = { model?: string; out?: string; serve?: string | boolean; port: number; host: string };

export function register(program: Command): void {
  program
    .command("page")
    .description("write a static web page that runs and explains a trained model in the browser (onnxruntime-web, no server code), or serve one locally")
    .option("--model <dir>", "checkpoint directory written by fusionkit train: build its page")
    .option("--out <dir>", "the page folder to write (default: <model>/page)")
    .option("--serve [dir]", "serve a page folder on a local static server (default: the folder just written)")
    .option("--port <n>", "TCP port for --serve (0 picks a free one)", port, 8090)
    .option("--host <address>", "interface for --serve (0.0.0.0 for every interface)", "127.0.0.1")
    .addHelpText("after", "\nExamples:\n  fusionkit page --model runs/gmu --out site     # write site/index.html, model.onnx, ort/...\n  fusionkit page --serve site                     # open http://127.0.0.1:8090/\n  fusionkit export --model runs/gmu --web site    # the same page, from export")
    .action(async (flags: PageFlags) => {
      const { runPage } = await import("./actions/page.ts");
      await runPage(flags);
    });
}
