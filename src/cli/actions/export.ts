/** The run of `fusionkit export` (registered in src/cli/export.ts). */
import { join } from "node:path";
import { exportModel, metadataPathFor } from "../../export/exportModel.ts";
import { checkWritableFile } from "../../io/outputs.ts";
import type { ExportFlags } from "../export.ts";

export async function runExport(flags: ExportFlags): Promise<void> {
  if (flags.web !== undefined) {
    const { writePage } = await import("./page.ts");
    await writePage(flags.model, flags.web);
    console.log(`  open it from any static host, or: npx fusionkit page --serve ${flags.web}`);
    if (flags.out === undefined) return;
  }
  const out = flags.out ?? join(flags.model, "model.onnx");
  // before loading and lowering the model: a read-only place fails now, not after the work
  checkWritableFile(out);
  checkWritableFile(metadataPathFor(out));
  const summary = await exportModel(flags.model, out);
  const { metadata } = summary;
  console.log(`${summary.onnxPath}: ${metadata.method} (${metadata.family}), ${metadata.task}, ${(summary.bytes / 1024).toFixed(1)} KiB`);
  console.log(`  inputs:  ${metadata.inputs.map((i) => `${i.name} [${i.shape.join(", ")}]`).join(", ")}`);
  console.log(`  outputs: ${metadata.outputs.map((o) => `${o.name} [${o.shape.join(", ")}]`).join(", ")}`);
  const v = metadata.verification!;
  console.log(`  verified against jax-js on ${v.rows} ${v.source} rows in ${v.runtime}: max error ${v.maxError.toExponential(2)} (tolerance ${v.tolerance})`);
  console.log(`  fingerprint: ${metadata.fingerprint}`);
  console.log(`  metadata: ${summary.metadataPath}`);
}
