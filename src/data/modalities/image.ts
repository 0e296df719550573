/**
 * Image modality: a path per row (relative to the dataset directory),
 * decoded to [size, size, channels] floats in [0, 1] by ../image.ts. The same
 * file referenced by several rows is decoded once.
 */
import { resolve } from "node:path";
import { decodeImage } from "../image.ts";
import type { RawRow } from "../rows.ts";
import type { ImageModalityConfig } from "../schema.ts";
import type { ModalitySpec } from "../types.ts";
import { describe, isMissing } from "../values.ts";
import { presenceOf, type EncodedModality, type ModalityPipeline, type Outcome } from "./pipeline.ts";

export class ImagePipeline implements ModalityPipeline<string, Float32Array> {
  readonly name: string;
  readonly fields: string[];
  private readonly decoded = new Map<string, Promise<Outcome<Float32Array>>>();

  constructor(
    private readonly config: ImageModalityConfig,
    private readonly baseDir: string,
  ) {
    this.name = config.name;
    this.fields = [config.field];
  }

  parse(row: RawRow): Outcome<string> {
    const raw = row.values![this.config.field];
    if (isMissing(raw, row.textual)) return { missing: true };
    if (typeof raw !== "string") return { problem: { field: this.config.field, reason: `expected an image path (string), got ${describe(raw)}` } };
    return { value: resolve(this.baseDir, raw) };
  }

  load(path: string): Promise<Outcome<Float32Array>> {
    let pending = this.decoded.get(path);
    if (!pending) {
      pending = decodeImage(path, { size: this.config.size, channels: this.config.channels }).then(
        (pixels) => ({ value: pixels }),
        (error: Error) => ({ problem: { field: this.config.field, reason: imageProblem(path, error) } }),
      );
      this.decoded.set(path, pending);
    }
    return pending;
  }

  fit(): void {}

  restore(): void {}

  spec(): ModalitySpec {
    const { size, channels } = this.config;
    return { name: this.name, type: "image", shape: [size, size, channels], preprocessing: { size, channels, range: [0, 1], alpha: "flattened onto white", fit: "contain, white letterbox" } };
  }

  encode(values: (Float32Array | undefined)[]): EncodedModality {
    const { size, channels } = this.config;
    const perRow = size * size * channels;
    const inputs = new Float32Array(values.length * perRow);
    values.forEach((pixels, row) => pixels && inputs.set(pixels, row * perRow));
    return { inputs, present: presenceOf(values) };
  }
}

function imageProblem(path: string, error: Error): string {
  if (/missing|ENOENT|no such file/i.test(error.message)) {
    return `image file not found: ${path}. Paths are relative to the dataset directory; fix the path, or write null to mark the image missing`;
  }
  return `cannot decode image ${path} (${error.message.trim()}). Replace the file with a valid PNG/JPEG/WebP, or write null to mark the image missing`;
}
