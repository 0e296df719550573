/**
 * Shared by the test/reliability/cli-*.test.ts cases: run the real CLI in a
 * scratch directory (own dataset cache), build small datasets, and mount real
 * tmpfs file systems (full or read-only) as root does here and in CI.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, statfsSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const bin = resolve(import.meta.dirname, "../../bin/fusionkit.mjs");

export type Run = { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string };

/**
 * Runs `fusionkit args` in `cwd`; `watch` sees stdout+stderr as they arrive
 * and may signal the child (SIGKILL tests).
 */
export function fusionkit(cwd: string, args: string[], watch?: (output: string, child: ChildProcess) => void): Promise<Run> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd, env: { ...process.env, FUSIONKIT_CACHE: join(cwd, "cache") } });
    let stdout = "";
    let stderr = "";
    const timer = setTimeout(() => child.kill("SIGKILL"), 180_000);
    child.stdout!.on("data", (d: Buffer) => {
      stdout += d.toString();
      watch?.(stdout + stderr, child);
    });
    child.stderr!.on("data", (d: Buffer) => {
      stderr += d.toString();
      watch?.(stdout + stderr, child);
    });
    child.on("error", fail);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      done({ code, signal, stdout, stderr });
    });
  });
}

/** The CLI's failure line: stderr must be exactly one "error: ..." line (no stack trace, no "internal error"). */
export function errorLine(run: Run): string {
  const lines = run.stderr.split("\n").filter((line) => line.trim() !== "" && !/^\S+: (preparing \d+ rows|prepared arrays from cache)/u.test(line));
  if (lines.length !== 1 || !lines[0]!.startsWith("error: ")) throw new Error(`expected one "error:" line on stderr, got:\n${run.stderr}`);
  return lines[0]!.slice("error: ".length);
}

export function scratchDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `fusionkit-${prefix}-`));
}

/** A two-class toy row (vector v + caption), as in test/cli/cli.test.ts. */
export function toyRow(i: number, split: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const up = i % 2 === 0;
  return {
    id: `${split}-${i}`,
    label: up ? "up" : "down",
    split,
    v: [up ? 1 : -1, (i % 5) / 5, ((i * 3) % 7) / 7],
    caption: i % 9 === 4 ? null : `${up ? "rising" : "falling"} line ${i % 3}`,
    ...overrides,
  };
}

export const toyConfig = {
  task: "classification",
  label: "label",
  split: { field: "split" },
  modalities: [
    { name: "v", type: "vector", field: "v" },
    { name: "caption", type: "text", field: "caption", maxTokens: 4 },
  ],
};

/** 48 train / 16 val / 16 test toy rows in `dir/name`; `edit` may change any row (by overall index). */
export function writeToy(dir: string, name = "toy", edit: (row: Record<string, unknown>, index: number) => Record<string, unknown> | string = (row) => row, config: unknown = toyConfig): string {
  const rows = [
    ...Array.from({ length: 48 }, (_, i) => toyRow(i, "train")),
    ...Array.from({ length: 16 }, (_, i) => toyRow(i, "val")),
    ...Array.from({ length: 16 }, (_, i) => toyRow(i + 1, "test")),
  ].map((row, i) => {
    const edited = edit(row, i);
    return typeof edited === "string" ? edited : JSON.stringify(edited);
  });
  const data = join(dir, name);
  mkdirSync(data, { recursive: true });
  writeFileSync(join(data, "dataset.json"), JSON.stringify(config));
  writeFileSync(join(data, "data.jsonl"), rows.join("\n") + "\n");
  return data;
}

/** Mounts a tmpfs of `bytes` at a new directory (read-only with `readOnly`); the returned function unmounts and removes it. */
export function mountTmpfs(parent: string, name: string, options: { bytes: number; readOnly?: boolean }): { path: string; unmount: () => void } {
  const path = join(parent, name);
  mkdirSync(path, { recursive: true });
  const mounted = spawnSync("mount", ["-t", "tmpfs", "-o", `${options.readOnly ? "ro," : ""}size=${options.bytes}`, "tmpfs", path], { encoding: "utf8" });
  if (mounted.status !== 0) throw new Error(`mount tmpfs at ${path} failed (these tests need root): ${mounted.stderr}`);
  return {
    path,
    unmount: () => {
      spawnSync("umount", [path]);
      rmSync(path, { recursive: true, force: true });
    },
  };
}

/** Fills the file system holding `dir` until at most `leaveBytes` are free (a filler file, kept). */
export function fillDisk(dir: string, leaveBytes: number): void {
  const { bavail, bsize } = statfsSync(dir);
  const free = Number(bavail) * Number(bsize);
  if (free > leaveBytes) writeFileSync(join(dir, "filler.bin"), Buffer.alloc(free - leaveBytes));
}
