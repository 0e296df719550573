/**
 * Reading a rows file (JSON lines or CSV) into raw rows that remember where
 * they came from, so every later error can name file and line.
 */
import { readFileSync } from "node:fs";
import { parse as parseCsv } from "csv-parse/sync";
import { FusionkitError } from "../errors.ts";
import type { RowProblem } from "./problems.ts";

export type RawRow = {
  /** file name shown in messages */
  file: string;
  /** 1-based line in that file */
  line: number;
  /** 0-based position among the data rows of the file (a .npy vector file is aligned on it) */
  index: number;
  /** null when the line could not be parsed (then `problem` says why) */
  values: Record<string, unknown> | null;
  /** CSV cells are strings: numbers and arrays must be parsed from text */
  textual: boolean;
  problem?: RowProblem;
};

export type RowsRead = {
  rows: RawRow[];
  /** data rows in the whole file, also those beyond maxRows */
  totalRows: number;
};

export function readRowsFile(path: string, displayName: string, maxRows = Infinity): RowsRead {
  const text = readFileSync(path, "utf8");
  return path.toLowerCase().endsWith(".csv") ? parseCsvRows(text, displayName, maxRows) : parseJsonLines(text, displayName, maxRows);
}

/**
 * Blank lines are not rows (editors and `echo >>` leave them at the end);
 * every other line must be one JSON object.
 */
export function parseJsonLines(text: string, file: string, maxRows = Infinity): RowsRead {
  const rows: RawRow[] = [];
  let totalRows = 0;
  let lineStart = 0;
  let line = 0;
  // Strip a UTF-8 byte order mark: JSON.parse rejects it and Windows editors add it.
  if (text.charCodeAt(0) === 0xfeff) lineStart = 1;
  while (lineStart <= text.length) {
    let lineEnd = text.indexOf("\n", lineStart);
    if (lineEnd === -1) lineEnd = text.length;
    line++;
    const content = text.slice(lineStart, lineEnd).trim();
    lineStart = lineEnd + 1;
    if (content === "") continue;
    const index = totalRows++;
    if (rows.length >= maxRows) continue;
    rows.push(parseJsonLine(content, file, line, index));
  }
  return { rows, totalRows };
}

function parseJsonLine(content: string, file: string, line: number, index: number): RawRow {
  const row: RawRow = { file, line, index, values: null, textual: false };
  let value: unknown;
  try {
    value = JSON.parse(content);
  } catch (error) {
    // NaN and Infinity (Python's json.dumps writes them) are the usual reason a numeric line fails here.
    const nonFinite = findNonFiniteLiteral(content);
    if (nonFinite) {
      row.problem = {
        ...(nonFinite.field !== undefined ? { field: nonFinite.field } : {}),
        reason: `${nonFinite.literal} is not a valid value (and not valid JSON). Write null to mark the value missing, or fix the number`,
      };
    } else {
      row.problem = {
        reason: `line is not valid JSON (${(error as Error).message}). Each line must be one JSON object, e.g. {"label": "cat", "image": "img/1.png"}`,
      };
    }
    return row;
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    row.problem = { reason: `line is JSON but not an object (got ${Array.isArray(value) ? "an array" : typeof value}). Each line must be one JSON object` };
    return row;
  }
  row.values = value as Record<string, unknown>;
  return row;
}

export function parseCsvRows(text: string, file: string, maxRows = Infinity): RowsRead {
  const rows: RawRow[] = [];
  let records: { record: Record<string, string>; info: { lines: number } }[];
  try {
    records = parseCsv<{ record: Record<string, string>; info: { lines: number } }>(text, {
      columns: true,
      bom: true,
      info: true,
      skip_empty_lines: true,
      // A record with the wrong number of cells becomes a row problem (skippable) instead of aborting the parse.
      skip_records_with_error: true,
      on_skip: (error: { message: string; lines?: number } | undefined) => {
        if (!error) return;
        rows.push({ file, line: error.lines ?? 0, index: -1, values: null, textual: true, problem: { reason: `malformed CSV record: ${error.message}` } });
      },
    });
  } catch (error) {
    const lines = (error as { lines?: number }).lines;
    throw new FusionkitError(`cannot parse CSV: ${(error as Error).message}. Fix the file (check quotes and the header line).`, { file, line: lines });
  }
  for (const { record, info } of records) {
    rows.push({ file, line: info.lines, index: 0, values: record, textual: true });
  }
  // on_skip rows arrive interleaved: restore file order, then number the data rows.
  rows.sort((a, b) => a.line - b.line);
  rows.forEach((row, index) => (row.index = index));
  return { rows: rows.slice(0, maxRows), totalRows: rows.length };
}

/**
 * Finds a bare NaN / Infinity / -Infinity outside string literals and the key
 * it belongs to (the last `"key":` before it), for a message that names the field.
 */
export function findNonFiniteLiteral(line: string): { literal: string; field?: string } | undefined {
  // Blank out string literals (same length, so positions still match the original line).
  const outsideStrings = line.replace(/"(?:[^"\\]|\\.)*"/g, (literal) => `"${" ".repeat(literal.length - 2)}"`);
  const match = /-?\b(NaN|Infinity)\b/.exec(outsideStrings);
  if (!match) return undefined;
  const keys = [...line.slice(0, match.index).matchAll(/"((?:[^"\\]|\\.)*)"\s*:/g)];
  const field = keys.length ? keys[keys.length - 1][1] : undefined;
  return { literal: match[0], ...(field !== undefined ? { field } : {}) };
}
