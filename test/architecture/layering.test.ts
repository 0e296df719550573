/**
 * The import rules of docs/architecture.md, checked on the source: every import
 * specifier of src/**\/*.ts (static, re-export, type-only, side-effect and dynamic
 * `import()`, read from the source with its comments removed) resolved to a path, then:
 *   - nothing in src/ imports from test/ (fixtures shared with benchmarks live in bench/fixtures);
 *   - src/bench/ never imports src/report/ (the bench produces results, the CLI writes the report);
 *   - src/engine/ imports only itself and the leaf utilities (errors.ts, io/);
 *   - src/data/ imports only itself, the engine and the leaf utilities.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { test } from "node:test";

const root = resolve(import.meta.dirname, "../..");
const src = join(root, "src");

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

type Edge = { from: string; to: string; specifier: string };

/** The source without its comments; strings and template literals are kept as they are (a "//" in a URL is no comment). */
export function withoutComments(text: string): string {
  let out = "";
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    const next = text[i + 1];
    if (c === "/" && next === "/") {
      while (i < text.length && text[i] !== "\n") i++;
    } else if (c === "/" && next === "*") {
      const end = text.indexOf("*/", i + 2);
      i = end < 0 ? text.length : end + 2;
      out += " ";
    } else if (c === '"' || c === "'" || c === "`") {
      let j = i + 1;
      while (j < text.length && text[j] !== c) j += text[j] === "\\" ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

const specifierPatterns = [/\bfrom\s*["']([^"']+)["']/g, /\bimport\s*\(\s*["']([^"']+)["']\s*\)/g, /\bimport\s+["']([^"']+)["']/g];

/** Every module specifier a TypeScript source imports or re-exports. */
export function importSpecifiers(text: string): string[] {
  const code = withoutComments(text);
  return specifierPatterns.flatMap((pattern) => [...code.matchAll(pattern)].map((m) => m[1]!));
}

/** Every relative import of every src file, as repository-relative paths with "/" separators. */
function importEdges(): Edge[] {
  const posix = (p: string) => relative(root, p).split(sep).join("/");
  return sourceFiles(src).flatMap((file) => {
    return importSpecifiers(readFileSync(file, "utf8"))
      .filter((specifier) => specifier.startsWith("."))
      .map((specifier) => ({ from: posix(file), to: posix(resolve(dirname(file), specifier)), specifier }));
  });
}

const edges = importEdges();
const list = (bad: Edge[]) => bad.map((e) => `${e.from} -> ${e.specifier}`).join("\n");

test("the reader finds static, type-only, re-exported, side-effect and dynamic imports, and none in comments or strings", () => {
  const text = [
    'import { a } from "./a.ts";',
    'import type { B } from "../b.ts";',
    'export { c } from "./c.ts";',
    'import "./d.ts";',
    'const e = await import("./e.ts");',
    '// import { f } from "./f.ts";',
    '/* import("./g.ts") */',
    'const url = "https://example.com/x"; const s = "import h from ./h.ts";',
  ].join("\n");
  assert.deepEqual(importSpecifiers(text).sort(), ["../b.ts", "./a.ts", "./c.ts", "./d.ts", "./e.ts"]);
});

test("the checker sees imports: src has hundreds of relative imports, among them a dynamic import()", () => {
  assert.ok(edges.length > 300, `${edges.length} edges`);
  assert.ok(edges.some((e) => e.from === "src/train/trainer.ts" && e.to === "src/export/trainBackend.ts"), "trainer's lazy import of the train backend");
});

test("nothing in src imports from test/", () => {
  assert.equal(list(edges.filter((e) => e.to.startsWith("test/"))), "");
});

test("src/bench does not import src/report", () => {
  assert.equal(list(edges.filter((e) => e.from.startsWith("src/bench/") && e.to.startsWith("src/report/"))), "");
});

const leafUtilities = (to: string) => to === "src/errors.ts" || to.startsWith("src/io/");

test("src/engine imports nothing above it", () => {
  const bad = edges.filter((e) => e.from.startsWith("src/engine/") && !(e.to.startsWith("src/engine/") || leafUtilities(e.to)));
  assert.equal(list(bad), "");
});

test("src/data imports nothing above it (itself, the engine, errors.ts, io/)", () => {
  const bad = edges.filter((e) => e.from.startsWith("src/data/") && !(e.to.startsWith("src/data/") || e.to.startsWith("src/engine/") || leafUtilities(e.to)));
  assert.equal(list(bad), "");
});
