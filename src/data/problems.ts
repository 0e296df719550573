/**
 * Bad rows: either stop with a FusionkitError that says file, line, field and
 * what to do, or (with skipBadRows) drop the row and record it so the report
 * can list it. Nothing is dropped without a record.
 */
import { FusionkitError } from "../errors.ts";
import type { PreparedDataset } from "./types.ts";

export type RowProblem = { field?: string; reason: string };
export type SkippedRow = PreparedDataset["skipped"][number];

const skipHint = " (or pass --skip-bad-rows to skip rows like this one; skipped rows are listed by `fusionkit data inspect`)";

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
