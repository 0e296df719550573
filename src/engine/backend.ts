/**
 * Engine start-up. Node has no WebGPU, so jax-js runs on its wasm backend.
 *
 * Workaround (pinned by test/engine/backend.test.ts): jax-js 0.1.25 runs each
 * wasm kernel on the main thread through `new WebAssembly.Instance(module,
 * {env: {memory}})` on every dispatch. Kernels are stateless functions over the
 * shared memory, so one instance per (module, memory) can be reused; caching it
 * removes ~10% of a small train step's time.
 */
import { init, defaultDevice } from "@jax-js/jax";

let started: Promise<void> | undefined;
const instanceStats = { created: 0, reused: 0 };

/** How many kernel instances were created vs reused (pinned by a test). */
export function kernelInstanceStats(): { created: number; reused: number } {
  return { ...instanceStats };
}

/** marks the patched constructor, so a second startEngine does not wrap it twice */
const cachedMark = "fusionkitCached";

function cacheKernelInstances(): void {
  const Original = WebAssembly.Instance;
  if (Reflect.get(Original, cachedMark)) return;
  const cache = new WeakMap<WebAssembly.Module, WeakMap<object, WebAssembly.Instance>>();
  const Cached = new Proxy(Original, {
    construct(target, args: [WebAssembly.Module, Record<string, Record<string, unknown>> | undefined]) {
      const [module, imports] = args;
      const memory = imports?.env?.memory;
      // Only the exact shape jax-js uses: a single imported memory and nothing else.
      const reusable =
        memory instanceof WebAssembly.Memory && Object.keys(imports!).length === 1 && Object.keys(imports!.env!).length === 1;
      if (!reusable) return Reflect.construct(target, args);
      let byMemory = cache.get(module);
      if (!byMemory) cache.set(module, (byMemory = new WeakMap()));
      let instance = byMemory.get(memory);
      if (instance) {
        instanceStats.reused++;
        return instance;
      }
      instanceStats.created++;
      byMemory.set(memory, (instance = Reflect.construct(target, args) as WebAssembly.Instance));
      return instance;
    },
  });
  Reflect.set(Cached, cachedMark, true);
  Reflect.set(WebAssembly, "Instance", Cached);
}

/** Starts the engine once (idempotent). Every entry point awaits this first. */
export function startEngine(): Promise<void> {
  started ??= (async () => {
    cacheKernelInstances();
    await init("wasm");
    defaultDevice("wasm");
  })();
  return started;
}
