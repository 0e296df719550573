/**
 * A failure the user can fix: bad data, a bad config, a bad flag.
 * The CLI prints only `message` (no stack trace) and exits non-zero; anything
 * that is not a FusionkitError is a bug and is printed with its stack under --debug.
 */
export class FusionkitError extends Error {
  constructor(
    message: string,
    /** where it happened, for messages like "data.jsonl:12 field image" */
    readonly where?: { file?: string; line?: number; field?: string; layer?: string },
  ) {
    super(FusionkitError.format(message, where));
    this.name = "FusionkitError";
  }

  static format(message: string, where?: FusionkitError["where"]): string {
    if (!where) return message;
    const parts: string[] = [];
    if (where.file) parts.push(where.line !== undefined ? `${where.file}:${where.line}` : where.file);
    if (where.field) parts.push(`field "${where.field}"`);
    if (where.layer) parts.push(`layer ${where.layer}`);
    return parts.length ? `${parts.join(", ")}: ${message}` : message;
  }
}

/** Refuses anything but a positive integer, naming the option or field. */
export function requirePositiveInteger(value: number, field: string): void {
  if (!Number.isInteger(value) || value <= 0) throw new FusionkitError(`${field} must be a positive integer, got ${value}`, { field });
}
