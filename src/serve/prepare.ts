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
 * the model directory; messages going back to the client pass `redactPaths`.
 */
import { encodeRawRows } from "../data/encodeRows.ts";
import type { RawRow } from "../data/rows.ts";
import type { SplitData } from "../data/types.ts";
import { FusionkitError } from "../errors.ts";
import { prepareRows } from "../model/prepareRows.ts";
import { sep } from "node:path";
import { resolveInside } from "./paths.ts";
import { AdaptiveSlicer, inSlices } from "./slices.ts";
import { rawTypeOf } from "../data/pretrained/config.ts";
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

const pathSlicer = new AdaptiveSlicer();

/** Replaces every image/audio path by its checked absolute path inside `root` (copies the rows), in slices. */
export async function checkFilePaths(rows: Record<string, unknown>[], fields: ModalityFields[], root: string): Promise<Record<string, unknown>[]> {
  // by the raw row type: a pretrained image modality is prepared as a vector but its rows still hold paths
  const fileFields = fields.filter((f) => rawTypeOf(f.spec) === "image" || rawTypeOf(f.spec) === "audio").map((f) => ({ field: f.field, kind: rawTypeOf(f.spec) as "image" | "audio" }));
  if (fileFields.length === 0) return rows;
  const out: Record<string, unknown>[] = new Array(rows.length);
  await inSlices(rows.length, pathSlicer, (from, to) => {
    for (let i = from; i < to; i++) {
      const row = rows[i]!;
      const copy = { ...row };
      for (const { field, kind } of fileFields) {
        const value = row[field];
        if (typeof value !== "string") continue;
        const checked = resolveInside(root, value, kind);
        if ("problem" in checked) throw new RequestError(`rows[${i}].${field}`, checked.problem);
        copy[field] = checked.path;
      }
      out[i] = copy;
    }
  });
  return out;
}

function asRequestError(error: unknown): never {
  if (error instanceof FusionkitError && error.where?.file === requestFile) {
    const field = error.where.field ? `.${error.where.field}` : "";
    const reason = error.message.replace(/^[^:]*:\d+(, field "[^"]*")?: /, "");
    throw new RequestError(`rows[${error.where.line ?? 0}]${field}`, reason);
  }
  throw error;
}

async function encodeSlice(raw: RawRow[], fields: ModalityFields[], root: string): Promise<SplitData> {
  const specs = fields.map((f) => f.spec);
  try {
    if (specs.every((s) => s.config)) {
      // skipping collects the problem without the CLI's "--skip-bad-rows" hint; any skipped row fails the request
      const { data, skipped } = await encodeRawRows(raw, specs, { baseDir: root, skipBadRows: true, pretrained: { cache: false } });
      const bad = skipped[0];
      if (bad) throw new RequestError(`rows[${bad.line}]${bad.field ? `.${bad.field}` : ""}`, bad.reason);
      return data;
    }
    return prepareRows(raw, specs, fields.map((f) => ({ name: f.spec.name, field: f.field })));
  } catch (error) {
    asRequestError(error);
  }
}

/** The slices' rows one after another (every slice has the same modalities). */
export function concatSplits(parts: SplitData[]): SplitData {
  if (parts.length === 1) return parts[0]!;
  const join = (pick: (s: SplitData) => Record<string, Float32Array>) => {
    const out: Record<string, Float32Array> = {};
    for (const name of Object.keys(pick(parts[0]!))) {
      const arrays = parts.map((p) => pick(p)[name]!);
      const joined = new Float32Array(arrays.reduce((a, b) => a + b.length, 0));
      let at = 0;
      for (const a of arrays) (joined.set(a, at), (at += a.length));
      out[name] = joined;
    }
    return out;
  };
  const n = parts.reduce((a, p) => a + p.n, 0);
  return { n, ids: parts.flatMap((p) => p.ids), inputs: join((s) => s.inputs), tokenMasks: join((s) => s.tokenMasks), present: join((s) => s.present), labels: new Float32Array(n), fields: {} };
}

// one row first: a row with audio costs ~10 ms of decoding and log-mel before anything is measured
const preprocessSlicer = new AdaptiveSlicer(10, 1);

/**
 * Encodes validated rows (paths already checked) for the model's modalities,
 * in slices with the event loop free between them (src/serve/slices.ts).
 */
export async function prepareRequestRows(rows: Record<string, unknown>[], fields: ModalityFields[], root: string): Promise<SplitData> {
  const raw = rawRows(rows);
  const parts: SplitData[] = [];
  await inSlices(raw.length, preprocessSlicer, async (from, to) => {
    parts.push(await encodeSlice(raw.slice(from, to), fields, root));
  });
  return concatSplits(parts);
}

/**
 * A message safe to send to a client: the model directory's absolute path
 * (request files resolve inside it) becomes relative, and any other absolute
 * path is hidden, so errors never reveal the server's layout.
 */
export function redactPaths(message: string, root: string): string {
  return message
    .split(`${root}${sep}`).join("")
    .split(root).join(".")
    .replace(/(^|[\s"'(=:])(\/[^\s"'()]+)/g, "$1<server path>");
}
