/**
 * Validated request rows -> SplitData for the exported graph, with the
 * preprocessing fitted at training time.
 *
 * The data layer's `encodeRawRows` does this through the training pipelines
 * themselves (same tokeniser, image decoding, log-mel, missing-value rules),
 * so it is used whenever the model's modality specs carry their dataset.json
 * entry (`spec.config`, recorded since the data layer added it). Models whose
 * specs predate that fall back to the model layer's `prepareRows` (vector,
 * tabular, text and sequence; it refuses image and audio with a clear error).
 *
 * Image and audio paths were already checked by `resolveInside` and replaced
 * by their real absolute paths, so the pipelines only ever open files inside
 * the model directory.
 */
import { encodeRawRows } from "../data/encodeRows.ts";
import type { RawRow } from "../data/rows.ts";
import type { SplitData } from "../data/types.ts";
import { FusionkitError } from "../errors.ts";
import { prepareRows } from "../model/prepareRows.ts";
import { resolveInside } from "./paths.ts";
import type { ModalityFields } from "./rowSchema.ts";

/** A request problem to report as HTTP 400, naming the field as `rows[i].field`. */
export class RequestError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

const requestFile = "request";

function rawRows(rows: Record<string, unknown>[]): RawRow[] {
  return rows.map((values, index) => ({ file: requestFile, line: index, index, values, textual: false }));
}

/** Replaces every image/audio path by its checked absolute path inside `root` (copies the rows). */
export function checkFilePaths(rows: Record<string, unknown>[], fields: ModalityFields[], root: string): Record<string, unknown>[] {
  const fileFields = fields.filter((f) => f.spec.type === "image" || f.spec.type === "audio").map((f) => f.field);
  if (fileFields.length === 0) return rows;
  return rows.map((row, i) => {
    const copy = { ...row };
    for (const field of fileFields) {
      const value = row[field];
      if (typeof value !== "string") continue;
      const checked = resolveInside(root, value);
      if ("problem" in checked) throw new RequestError(`rows[${i}].${field}`, checked.problem);
      copy[field] = checked.path;
    }
    return copy;
  });
}

function asRequestError(error: unknown): never {
  if (error instanceof FusionkitError && error.where?.file === requestFile) {
    const field = error.where.field ? `.${error.where.field}` : "";
    const reason = error.message.replace(/^[^:]*:\d+(, field "[^"]*")?: /, "");
    throw new RequestError(`rows[${error.where.line ?? 0}]${field}`, reason);
  }
  throw error;
}

/** Encodes validated rows (paths already checked) for the model's modalities. */
export async function prepareRequestRows(rows: Record<string, unknown>[], fields: ModalityFields[], root: string): Promise<SplitData> {
  const specs = fields.map((f) => f.spec);
  const raw = rawRows(rows);
  try {
    if (specs.every((s) => s.config)) {
      // skipping collects the problem without the CLI's "--skip-bad-rows" hint; any skipped row fails the request
      const { data, skipped } = await encodeRawRows(raw, specs, { baseDir: root, skipBadRows: true });
      const bad = skipped[0];
      if (bad) throw new RequestError(`rows[${bad.line}]${bad.field ? `.${bad.field}` : ""}`, bad.reason);
      return data;
    }
    return prepareRows(raw, specs, fields.map((f) => ({ name: f.spec.name, field: f.field })));
  } catch (error) {
    asRequestError(error);
  }
}
