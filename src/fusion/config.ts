/**
 * Method settings as zod schemas: each fusion method declares its config as ONE
 * schema (defaults, validation and the TypeScript type inferred from it), built
 * from the field helpers below so every method words its errors the same way.
 * `parseMethodConfig` turns the first issue into a one-line FusionkitError that
 * names the method and the field: `field "rounds", layer progressive: rounds must
 * be an integer >= 1, got 0`. Checks that need the data (how many modalities,
 * heads dividing a width) stay in the method's `check`.
 */
import { z } from "zod";
import type { EncodedDims } from "../encoders/types.ts";
import { FusionkitError } from "../errors.ts";

/** An integer in [min, max] (max optional). */
export function integer(min: number, max = Infinity) {
  const error = max === Infinity ? `must be an integer >= ${min}` : `must be an integer in ${min}..${max}`;
  const base = z.number({ error }).int({ error }).min(min, { error });
  return max === Infinity ? base : base.max(max, { error });
}

/** A number >= min. */
export function atLeast(min: number) {
  const error = `must be a number >= ${min}`;
  return z.number({ error }).min(min, { error });
}

/** A probability-like rate in [0, 1) (dropout). */
export function rate() {
  const error = "must be a number in [0, 1)";
  return z.number({ error }).min(0, { error }).lt(1, { error });
}

/** A non-empty list of positive integers (layer widths). */
export function widths() {
  const error = "must be a non-empty list of positive integers";
  return z.array(z.number({ error }).int({ error }).min(1, { error }), { error }).min(1, { error });
}

/** One of the listed strings. */
export function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  return z.enum(values, { error: `must be one of ${values.join(", ")}` });
}

/** The schema's defaults: what `{}` parses to. */
export function defaultsOf<S extends z.ZodType>(schema: S): z.infer<S> {
  return schema.parse({});
}

function valueAt(raw: unknown, path: PropertyKey[]): unknown {
  let v = raw;
  for (const key of path) v = v !== null && typeof v === "object" ? (v as Record<PropertyKey, unknown>)[key] : undefined;
  return v;
}

/**
 * The method's defaults merged with `raw` and validated; a bad or unknown field
 * throws a FusionkitError naming the method and the field. `flag` names where the
 * settings came from on the command line (`--config`): the message then starts with it.
 */
export function parseMethodConfig<C>(method: { name: string; config: z.ZodType<C> }, raw: unknown, flag?: string): C {
  const result = method.config.safeParse(raw ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const fail = (message: string, where?: { field: string; layer: string }): never => {
    throw flag ? new FusionkitError(`${flag}: ${FusionkitError.format(message, where)}`) : new FusionkitError(message, where);
  };
  if (issue.code === "unrecognized_keys") {
    const known = method.config instanceof z.ZodObject ? Object.keys(method.config.shape).join(", ") : "";
    // the message names the method and every unknown key, so it carries no field/layer prefix
    return fail(`method "${method.name}" has no setting ${issue.keys.map((k) => `"${k}"`).join(", ")}; its settings: ${known || "(none)"}`);
  }
  const field = issue.path.map(String).join(".");
  // Refinements word their whole message; the field helpers above say what the field must be.
  const message = issue.code === "custom" ? issue.message : `${field} ${issue.message}, got ${JSON.stringify(valueAt(raw, issue.path))}`;
  return fail(message, { field, layer: method.name });
}

/**
 * The settings a model runs a method with: defaults + `raw`, parsed by the
 * method's schema, then the method's data-dependent `check`.
 */
export function resolveMethodConfig<C extends object>(
  method: { name: string; config: z.ZodType<C>; check?(config: C, inputs: EncodedDims[]): void },
  raw: unknown,
  inputs: EncodedDims[],
): C {
  const config = parseMethodConfig(method, raw);
  method.check?.(config, inputs);
  return config;
}

/** Multi-head attention splits `dimField` into equal heads: a refinement for an object schema with `heads`. */
export function headsDivide(dimField = "dim") {
  return (config: { heads: number } & Record<string, unknown>, ctx: z.RefinementCtx): void => {
    const dim = config[dimField] as number;
    const heads = config.heads;
    if (heads > dim) {
      ctx.addIssue({ code: "custom", path: ["heads"], message: `heads must be an integer in 1..${dim}, got ${heads}` });
    } else if (dim % heads !== 0) {
      const valid = Array.from({ length: dim }, (_, i) => i + 1).filter((h) => dim % h === 0);
      ctx.addIssue({ code: "custom", path: ["heads"], message: `heads (${heads}) must divide ${dimField} (${dim}); valid heads for ${dimField} ${dim}: ${valid.join(", ")}` });
    }
  };
}

/** A method that fuses at least `min` modalities refuses a dataset with fewer, naming the alternatives. */
export function requireModalities(method: string, inputs: EncodedDims[], min: number): void {
  if (inputs.length < min) {
    throw new FusionkitError(
      `method "${method}" fuses at least ${min} modalities, the dataset has ${inputs.length} (${inputs.map((i) => i.name).join(", ") || "none"}); pick a unimodal or vector-level method instead`,
      { field: "methods", layer: method },
    );
  }
}
