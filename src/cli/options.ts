/** Shared option parsers for CLI commands: a bad value names the flag and what it accepts. */
import { InvalidArgumentError } from "commander";
import { textPoolings } from "../bench/options.ts";
import type { TextEncoderKind } from "../encoders/text.ts";

/** A TCP port, 0-65535 (0 lets the system pick a free one). */
export function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError(`expected a port number 0-65535, got "${value}".`);
  return n;
}

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`expected a positive integer, got "${value}".`);
  return n;
}

export function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`expected a non-negative integer, got "${value}".`);
  return n;
}

/** A seed: a non-negative integer within 32 bits ("abc", -5 and 1.5 are refused, not saved as null or truncated). */
export function seedInt(value: string): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new InvalidArgumentError(`expected a non-negative integer seed (0 to 4294967295), got "${value}".`);
  return n;
}

export function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`expected a positive number, got "${value}".`);
  return n;
}

/** A number >= 0 (weight decay and the like). */
export function nonNegativeNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`expected a number >= 0, got "${value}".`);
  return n;
}

/** How text is pooled (src/encoders/text.ts): one of the bench's textPoolings. */
export function textPooling(value: string): TextEncoderKind {
  const kind = textPoolings.find((k) => k === value);
  if (!kind) throw new InvalidArgumentError('expected "bag" (a bag of distinct words, the default) or "ordered" (attention pooling over the words in order, plus the bag).');
  return kind;
}

/** A probability in [0, 1): modality dropout and the like. */
export function probability(value: string): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || n < 0 || n >= 1) throw new InvalidArgumentError("expected a number in [0, 1), e.g. 0.3.");
  return n;
}

export function jsonObject(value: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new InvalidArgumentError(`expected a JSON object such as '{"hidden":[32]}', got ${value}.`);
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) throw new InvalidArgumentError(`expected a JSON object, got ${value}.`);
  return parsed as Record<string, unknown>;
}

/** Formats a metric set as "accuracy 0.812  macroF1 0.790". */
export function formatMetrics(metrics: Record<string, number>): string {
  return Object.entries(metrics)
    .map(([k, v]) => `${k} ${Number.isFinite(v) ? v.toFixed(4) : String(v)}`)
    .join("  ");
}
