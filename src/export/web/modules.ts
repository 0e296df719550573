/**
 * TypeScript sources -> browser ES modules, without a bundler.
 *
 * The page runs the same row-preparation code as training (the text, tabular
 * and sequence pipelines of src/data/modalities, the tokeniser, Shapley's
 * formula), not a re-implementation, so the copy cannot drift. Each module is
 * reached from the entry through its relative imports, its types are stripped
 * by Node's own `stripTypeScriptTypes` (type-only imports vanish with them),
 * and its `./x.ts` specifiers become `./x.js`. The files keep their place
 * under src/, so the import paths stay what they are in the repository.
 *
 * A module the page reaches must not import Node built-ins or npm packages
 * (the browser has neither): such an import is refused here, naming the file,
 * unless it is a `vendored` package (a single-file CommonJS build, wrapped as
 * an ES module).
 */
import { readFileSync } from "node:fs";
import module from "node:module";
import { dirname, join, relative, resolve, sep } from "node:path";

export type BrowserModule = { path: string; code: string };

/** A CommonJS package file the page may import by its bare name (no require() inside). */
export type VendoredModule = { specifier: string; file: string };

const importPattern = /(\bfrom\s*|\bimport\s*\(?\s*)(["'])([^"']+)\2/g;

/** Node's type stripper; it warns once that it is experimental, which would only confuse a CLI user. */
function stripTypes(code: string): string {
  const emitWarning = process.emitWarning;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    const text = typeof warning === "string" ? warning : warning.message;
    if (/stripTypeScriptTypes/.test(text)) return;
    (emitWarning as (...args: unknown[]) => void).call(process, warning, ...rest);
  }) as typeof process.emitWarning;
  try {
    return module.stripTypeScriptTypes(code, { mode: "transform" });
  } finally {
    process.emitWarning = emitWarning;
  }
}

/** `code` of a CommonJS file as an ES module whose default export is its module.exports (run as Node runs it: `this` = exports). */
export function wrapCommonJs(code: string): string {
  return `const module = { exports: {} };\n(function (module, exports) {\n${code}\n}).call(module.exports, module, module.exports);\nexport default module.exports;\n`;
}

/**
 * The entries and every module they import, as browser modules whose paths are
 * relative to `root` with .ts replaced by .js; vendored packages go to vendor/<name>.js.
 */
export function browserModules(entries: string[], root: string, vendored: VendoredModule[] = []): BrowserModule[] {
  const out: BrowserModule[] = [];
  const seen = new Set<string>();
  const usedVendors = new Set<VendoredModule>();
  const vendorPath = (specifier: string) => `vendor/${specifier.replace(/[^A-Za-z0-9_.-]/g, "_")}.js`;
  const pending = entries.map((entry) => resolve(entry));
  while (pending.length > 0) {
    const file = pending.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const path = relative(root, file).split(sep).join("/");
    if (path.startsWith("..")) throw new Error(`browser modules: ${file} is outside ${root}`);
    const stripped = stripTypes(readFileSync(file, "utf8"));
    const code = stripped.replace(importPattern, (whole, lead: string, quote: string, specifier: string) => {
      const vendor = vendored.find((v) => v.specifier === specifier);
      if (vendor) {
        usedVendors.add(vendor);
        const depth = path.split("/").length - 1;
        return `${lead}${quote}${depth === 0 ? "./" : "../".repeat(depth)}${vendorPath(specifier)}${quote}`;
      }
      if (!specifier.startsWith("./") && !specifier.startsWith("../")) {
        throw new Error(`browser modules: ${path} imports "${specifier}", which a browser cannot load; keep Node built-ins and packages out of the modules the page uses`);
      }
      if (!specifier.endsWith(".ts")) throw new Error(`browser modules: ${path} imports "${specifier}"; page modules import .ts files by their full name`);
      pending.push(join(dirname(file), specifier));
      return `${lead}${quote}${specifier.slice(0, -3)}.js${quote}`;
    });
    out.push({ path: path.replace(/\.ts$/, ".js"), code });
  }
  for (const vendor of usedVendors) out.push({ path: vendorPath(vendor.specifier), code: wrapCommonJs(readFileSync(vendor.file, "utf8")) });
  return out.sort((a, b) => (a.path < b.path ? -1 : 1));
}
