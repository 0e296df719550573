/**
 * Reading one cell of a row. JSON rows carry typed values; CSV cells are
 * text, so numbers and arrays are parsed from it ("" means missing there).
 */

/** Largest finite float32: bigger numbers would become Infinity in the prepared arrays. */
const float32Max = 3.4028234663852886e38;

export type CellResult<T> = { value: T } | { missing: true } | { problem: string };

export function isMissing(raw: unknown, textual: boolean): boolean {
  return raw === undefined || raw === null || (textual && typeof raw === "string" && raw.trim() === "");
}

export function readNumber(raw: unknown, textual: boolean): CellResult<number> {
  if (isMissing(raw, textual)) return { missing: true };
  const value = typeof raw === "number" ? raw : textual && typeof raw === "string" ? Number(raw.trim()) : undefined;
  if (value === undefined) return { problem: `expected a number, got ${describe(raw)}` };
  if (!Number.isFinite(value)) return { problem: `${describe(raw)} is not a finite number; write null (JSON) or leave the cell empty (CSV) to mark it missing` };
  if (Math.abs(value) > float32Max) return { problem: `${value} is outside the float32 range (about ±3.4e38); rescale the column` };
  return { value };
}

/**
 * An array cell: JSON arrays as they are; in CSV, a JSON array written in the
 * cell ("[0.1, 0.2]").
 */
export function readArray(raw: unknown, textual: boolean): CellResult<unknown[]> {
  if (isMissing(raw, textual)) return { missing: true };
  let value = raw;
  if (textual && typeof raw === "string") {
    try {
      value = JSON.parse(raw);
    } catch {
      return { problem: `expected a JSON array in the cell, e.g. "[0.1, 0.2]", got ${describe(raw)}` };
    }
  }
  if (!Array.isArray(value)) return { problem: `expected an array, got ${describe(value)}` };
  return { value };
}

/** Numbers of an array cell into a Float64Array; names the first bad element. */
export function readNumberArray(values: unknown[], where: string): CellResult<Float64Array> {
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const element = values[i];
    if (typeof element !== "number") {
      return { problem: `${where}[${i}] is ${describe(element)}, expected a number (JSON has no NaN/Infinity; a missing value inside an array is not supported, mark the whole field null instead)` };
    }
    if (!Number.isFinite(element) || Math.abs(element) > float32Max) return { problem: `${where}[${i}] = ${element} is not a finite float32 number` };
    out[i] = element;
  }
  return { value: out };
}

export function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  if (typeof value === "number" && !Number.isFinite(value)) return String(value);
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
