/**
 * The page's modules without a bundler: types stripped, .ts specifiers
 * rewritten, Node built-ins and packages refused (a browser cannot load them),
 * CommonJS packages wrapped so `this` is their exports as in Node; and the
 * static server only ever hands out files inside the page folder.
 */
import assert from "node:assert/strict";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { browserModules, wrapCommonJs } from "../../src/export/web/modules.ts";
import { fileFor, serveStatic } from "../../src/export/web/staticServer.ts";
import { tempDir } from "../../bench/fixtures/datasetFiles.ts";

function sources(files: Record<string, string>): string {
  const root = tempDir("fusionkit-web-modules-");
  for (const [path, code] of Object.entries(files)) {
    mkdirSync(join(root, path, ".."), { recursive: true });
    writeFileSync(join(root, path), code);
  }
  return root;
}

test("modules reached from the entry are stripped of types and import each other as .js", async () => {
  const root = sources({
    "a/main.ts": 'import type { Shape } from "../b/types.ts";\nimport { area, type Unit } from "../b/geometry.ts";\nexport const run = (s: Shape): number => area(s) as number;\n',
    "b/geometry.ts": 'import type { Shape } from "./types.ts";\nexport class Box { constructor(private readonly side: number) {} get area(): number { return this.side ** 2; } }\nexport function area(s: Shape): number { return new Box(s.side).area; }\nexport type Unit = "m";\n',
    "b/types.ts": "export type Shape = { side: number };\n",
    "b/unused.ts": 'import "node:fs";\n',
  });
  const modules = browserModules([join(root, "a/main.ts")], root);
  // types.ts is only imported for types: it is never loaded, so it is not copied
  assert.deepEqual(modules.map((m) => m.path), ["a/main.js", "b/geometry.js"]);
  const main = modules.find((m) => m.path === "a/main.js")!.code;
  assert.match(main, /from "\.\.\/b\/geometry\.js"/);
  assert.doesNotMatch(main, /types|: Shape|Unit/);
  const dir = tempDir("fusionkit-web-modules-out-");
  for (const m of modules) {
    mkdirSync(join(dir, m.path, ".."), { recursive: true });
    writeFileSync(join(dir, m.path.replace(/\.js$/, ".mjs")), m.code.replace(/\.js"/g, '.mjs"'));
  }
  const loaded = (await import(join(dir, "a/main.mjs"))) as { run(s: { side: number }): number };
  assert.equal(loaded.run({ side: 3 }), 9);
});

test("a page module importing a Node built-in or an unvendored package is refused, naming it", () => {
  const root = sources({ "main.ts": 'import { readFileSync } from "node:fs";\nexport const f = readFileSync;\n', "pkg.ts": 'import x from "left-pad";\nexport default x;\n' });
  assert.throws(() => browserModules([join(root, "main.ts")], root), /main\.ts imports "node:fs", which a browser cannot load/);
  assert.throws(() => browserModules([join(root, "pkg.ts")], root), /pkg\.ts imports "left-pad"/);
  const vendored = browserModules([join(root, "pkg.ts")], root, [{ specifier: "left-pad", file: join(root, "main.ts") }]);
  assert.deepEqual(vendored.map((m) => m.path), ["pkg.js", "vendor/left-pad.js"]);
  assert.match(vendored[0]!.code, /from "\.\/vendor\/left-pad\.js"/);
});

test("a wrapped CommonJS file runs with this = exports and exports what module.exports holds", async () => {
  const dir = tempDir("fusionkit-web-cjs-");
  writeFileSync(join(dir, "umd.mjs"), wrapCommonJs('(function (root, factory) { factory(root); })(this, function (exports) { exports.answer = 42; });'));
  writeFileSync(join(dir, "plain.mjs"), wrapCommonJs("function F() {}\nF.prototype.x = 1;\nmodule.exports = F;"));
  assert.equal(((await import(join(dir, "umd.mjs"))) as { default: { answer: number } }).default.answer, 42);
  assert.equal(new ((await import(join(dir, "plain.mjs"))) as { default: new () => { x: number } }).default().x, 1);
});

test("the static server serves files inside the folder only, with the types browsers require", async () => {
  const root = sources({ "index.html": "<p>hi</p>", "app/m.js": "export {};", "ort/x.wasm": "\0asm" });
  const outside = sources({ "secret.txt": "no" });
  symlinkSync(join(outside, "secret.txt"), join(root, "link.txt"));
  assert.equal(fileFor(root, "/../secret.txt"), undefined);
  assert.equal(fileFor(root, "/%2e%2e/secret.txt"), undefined);
  assert.equal(fileFor(root, "/link.txt"), undefined);
  assert.equal(fileFor(root, "/app"), undefined);
  const server = await serveStatic(root);
  try {
    const types = await Promise.all(["", "app/m.js", "ort/x.wasm"].map(async (p) => (await fetch(server.url + p)).headers.get("content-type")));
    assert.deepEqual(types, ["text/html; charset=utf-8", "text/javascript; charset=utf-8", "application/wasm"]);
    assert.equal((await fetch(`${server.url}link.txt`)).status, 404);
    assert.equal((await fetch(server.url, { method: "POST" })).status, 405);
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  } finally {
    await server.close();
  }
});
