/** The software and machine a bench ran on, for results.json. */
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { cpus, availableParallelism } from "node:os";
import { join } from "node:path";
import type { BenchResults } from "./results.ts";

const require = createRequire(import.meta.url);

/** Packages whose versions can change a bench's numbers or its report. */
const recordedPackages = ["@jax-js/jax", "vega", "vega-lite", "vega-embed", "cli-progress", "emoji-datasource", "emojibase-data"];

function installedVersion(name: string): string | undefined {
  for (const modulesDir of require.resolve.paths(name) ?? []) {
    const file = join(modulesDir, name, "package.json");
    if (existsSync(file)) return (JSON.parse(readFileSync(file, "utf8")) as { version: string }).version;
  }
  return undefined;
}

function fusionkitVersion(): string {
  const file = new URL("../../package.json", import.meta.url);
  return (JSON.parse(readFileSync(file, "utf8")) as { version: string }).version;
}

export function describeEnvironment(): BenchResults["environment"] {
  const packages: Record<string, string> = { fusionkit: fusionkitVersion() };
  for (const name of recordedPackages) {
    const version = installedVersion(name);
    if (version) packages[name] = version;
  }
  return {
    node: process.version,
    platform: process.platform,
    arch: process.arch,
    cpus: availableParallelism(),
    cpuModel: cpus()[0]?.model ?? "unknown",
    packages,
  };
}
