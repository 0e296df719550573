#!/usr/bin/env node
// Entry point of the `fusionkit` command. The engine (jax-js) needs Node >= 22;
// the project depends on the npm package `node@22`, so npm scripts and `npx`
// put a Node 22 binary first on PATH. TypeScript sources run through tsx.
const [major] = process.versions.node.split(".").map(Number);
if (major < 22) {
  console.error(
    `fusionkit needs Node.js 22 or newer (this is ${process.version}). ` +
      "Run it through npx (npx fusionkit ...) or npm scripts, which use the Node 22 installed with the package.",
  );
  process.exit(1);
}
const { register } = await import("tsx/esm/api");
register();
await import("../src/cli/main.ts");
