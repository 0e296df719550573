/**
 * Bad rows: either stop with a FusionkitError that says file, line, field and
 * what to do, or (with skipBadRows) drop the row and record it so the report
 * can list it. Nothing is dropped without a record.
 */
import { FusionkitError } from "../errors.ts";
import type { PreparedDataset } from "./types.ts";

export type RowProblem = { field?: string; reason: string };
export type SkippedRow = PreparedDataset["skipped"][number];

// Every command that loads rows (train, bench, align, eval, search, predict, explain, data inspect) has --skip-bad-rows and lists what it skipped.
const skipHint = " (or pass --skip-bad-rows to skip rows like this one; the command lists the rows it skipped)";

/** One line per skipped row: "data.jsonl:12 field "image": reason". */
export function formatSkippedRow(row: SkippedRow): string {
  return `${row.file}:${row.line}${row.field ? ` field "${row.field}"` : ""}: ${row.reason}`;
}

/** The lines a command prints about the rows --skip-bad-rows dropped (none when nothing was skipped). */
export function skippedRowsReport(skipped: SkippedRow[]): string[] {
  if (skipped.length === 0) return [];
  return [`skipped ${skipped.length} bad row${skipped.length === 1 ? "" : "s"} (--skip-bad-rows):`, ...skipped.map((row) => `  ${formatSkippedRow(row)}`)];
}

export class RowRejecter {
  readonly skipped: SkippedRow[] = [];

  constructor(readonly skipBadRows: boolean) {}

  /** Throws unless skipping bad rows; the caller must drop the row when this returns. */
  reject(row: { file: string; line: number }, problem: RowProblem): void {
    if (!this.skipBadRows) {
      throw new FusionkitError(`${problem.reason}${skipHint}`, { file: row.file, line: row.line, field: problem.field });
    }
    this.skipped.push({ file: row.file, line: row.line, ...(problem.field !== undefined ? { field: problem.field } : {}), reason: problem.reason });
  }
}
