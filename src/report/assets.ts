/**
 * The browser builds of vega, vega-lite and vega-embed, read from node_modules
 * so report.html can inline them and open from disk with no network.
 *
 * Their trailing `//# sourceMappingURL=` comments are dropped (the .map files
 * are not next to the report; a browser with devtools open would ask for them),
 * and any `</script` is split so an inlined build can never end its own tag early.
 */
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { FusionkitError } from "../errors.ts";

const require = createRequire(import.meta.url);

/** package -> build file, in load order (vega-lite and vega-embed attach to the `vega` global). */
const browserBuilds: [string, string][] = [
  ["vega", "build/vega.min.js"],
  ["vega-lite", "build/vega-lite.min.js"],
  ["vega-embed", "build/vega-embed.min.js"],
];

function packageRoot(name: string): string {
  // Not require.resolve(`${name}/package.json`): packages with an "exports" map may refuse that subpath.
  for (const modulesDir of require.resolve.paths(name) ?? []) {
    const candidate = join(modulesDir, name);
    if (existsSync(join(candidate, "package.json"))) return candidate;
  }
  throw new FusionkitError(`the npm package "${name}" is not installed; report.html inlines its browser build. Run npm install in the fusionkit directory`);
}

export function inlineSafeScript(source: string): string {
  return source.replace(/\n?\/\/# sourceMappingURL=\S*\s*$/u, "\n").replace(/<\/script/giu, "<\\/script");
}

let cached: { name: string; version: string; source: string }[] | undefined;

export function vegaBrowserBuilds(): { name: string; version: string; source: string }[] {
  if (cached) return cached;
  cached = browserBuilds.map(([name, file]) => {
    const root = packageRoot(name);
    const path = join(root, file);
    if (!existsSync(path)) {
      throw new FusionkitError(`${path} is missing: the "${name}" package has no browser build there. Reinstall it (npm install ${name})`, { file: dirname(path) });
    }
    const version = (JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string }).version;
    return { name, version, source: inlineSafeScript(readFileSync(path, "utf8")) };
  });
  return cached;
}
