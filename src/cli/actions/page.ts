/** The run of `fusionkit page` (registered in src/cli/page.ts) and of `fusionkit export --web`. */
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { FusionkitError } from "../../errors.ts";
import { checkWritableDir } from "../../io/outputs.ts";
import { buildWebPage, type WebPageSummary } from "../../export/web/build.ts";
import { serveStatic } from "../../export/web/staticServer.ts";
import type { PageFlags } from "../page.ts";

const kib = (bytes: number) => (bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MiB` : `${(bytes / 1024).toFixed(1)} KiB`);

/** One line per part of the page: what a person downloads to open it. */
export function describePage(summary: WebPageSummary): string[] {
  const part = (prefix: string) => summary.files.filter((f) => f.path.startsWith(prefix)).reduce((s, f) => s + f.bytes, 0);
  const ort = part("ort/");
  const app = part("app/") + part("index.html");
  const model = part("model.onnx") + part("model.json");
  return [
    `${summary.dir}: page for ${summary.metadata.method} (${summary.metadata.task}), ${summary.files.length} files, ${kib(summary.bytes)}`,
    `  model.onnx + model.json ${kib(model)}, page code ${kib(app)}, onnxruntime-web wasm ${kib(ort)}`,
  ];
}

export async function writePage(modelDir: string, outDir: string): Promise<WebPageSummary> {
  if (!existsSync(modelDir) || !statSync(modelDir).isDirectory()) {
    throw new FusionkitError(`model directory not found; point --model at a directory written by "fusionkit train"`, { file: modelDir });
  }
  // before verifying and building: a read-only place fails now, not after the work
  checkWritableDir(outDir, "web page");
  const summary = await buildWebPage(modelDir, outDir);
  for (const line of describePage(summary)) console.log(line);
  return summary;
}

export async function servePage(dir: string, host: string, port: number): Promise<void> {
  if (!existsSync(join(dir, "index.html"))) {
    throw new FusionkitError(`no index.html here; write a page first with "fusionkit page --model <dir> --out ${dir}"`, { file: dir });
  }
  let server;
  try {
    server = await serveStatic(dir, { host, port });
  } catch (error) {
    throw new FusionkitError(`cannot listen on ${host}:${port} (${(error as Error).message}); pick another --port`, { field: "port" });
  }
  console.error(`serving ${dir} at ${server.url}  (Ctrl-C stops)`);
  const stop = () => void server.close().then(() => process.exit(0));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

export async function runPage(flags: PageFlags): Promise<void> {
  if (!flags.model && !flags.serve) throw new FusionkitError(`give --model <dir> to write a page, or --serve <dir> to serve one (fusionkit page --help)`);
  let dir = typeof flags.serve === "string" ? flags.serve : undefined;
  if (flags.model) {
    const out = flags.out ?? join(flags.model, "page");
    await writePage(flags.model, out);
    dir ??= out;
    if (!flags.serve) console.log(`  open it from any static host, or: npx fusionkit page --serve ${out}`);
  } else if (flags.out) {
    throw new FusionkitError(`--out is where a page is written and needs --model; to serve a folder give it to --serve`, { field: "out" });
  }
  if (flags.serve) await servePage(dir!, flags.host, flags.port);
}
