/**
 * Checks every command runs on its outputs before it trains or prepares any
 * data, so a read-only or wrong --out fails in a second instead of after the
 * run: the directory (or the file's directory) can be written, and a model
 * directory does not already hold another model unless --force says so.
 * Nothing is created by a check (a command that fails later leaves no empty
 * directory behind): a missing directory needs its nearest existing ancestor
 * to be a writable directory.
 */
import { accessSync, constants, existsSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { FusionkitError } from "../errors.ts";

/** Why `dir` cannot take new files, or undefined when it can. */
function unwritableBecause(dir: string): string | undefined {
  const absolute = resolve(dir);
  if (existsSync(absolute)) {
    if (!statSync(absolute).isDirectory()) return "it exists and is a file, not a directory";
    // a real write, not access(): root passes access() on permission bits, and only a write shows a full or read-only disk
    const probe = join(absolute, `.fusionkit-write-test-${process.pid}`);
    try {
      writeFileSync(probe, "");
      rmSync(probe);
    } catch (error) {
      return describe(error);
    }
    return undefined;
  }
  let ancestor = dirname(absolute);
  while (!existsSync(ancestor)) ancestor = dirname(ancestor);
  if (!statSync(ancestor).isDirectory()) return `${ancestor} is a file, so no directory can be made under it`;
  try {
    accessSync(ancestor, constants.W_OK);
  } catch (error) {
    return `${ancestor} is not writable: ${describe(error)}`;
  }
  return undefined;
}

function describe(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "EROFS") return "the file system is read-only (EROFS)";
  if (code === "EACCES" || code === "EPERM") return `permission denied (${code})`;
  if (code === "ENOSPC") return "the disk is full (ENOSPC)";
  return code ?? (error as Error).message;
}

/** Refuses a `dir` that cannot take new files: "cannot write the <what> to DIR: why. Choose a writable --out directory". */
export function checkWritableDir(dir: string, what = "output", flag = "--out"): void {
  const why = unwritableBecause(dir);
  if (why !== undefined) throw new FusionkitError(`cannot write the ${what} to ${dir}: ${why}. Choose a writable ${flag} directory`);
}

/** Refuses a file `path` that cannot be written: a directory, or in a directory that cannot take files. */
export function checkWritableFile(path: string, flag = "--out"): void {
  const absolute = resolve(path);
  const why = existsSync(absolute) && statSync(absolute).isDirectory() ? "it is a directory" : unwritableBecause(dirname(absolute));
  if (why !== undefined) throw new FusionkitError(`cannot write ${path}: ${why}. Choose a writable ${flag} file`);
}

/** The files that make a directory "hold a model" (train and align checkpoints). */
const modelFiles = ["config.json", "model.safetensors"];

/**
 * For `train --out` and `align --out`: writable, and not already holding a
 * model (its config.json and weights would be replaced) unless `force`.
 */
export function checkModelOutDir(dir: string, options: { force?: boolean; command: string }): void {
  checkWritableDir(dir, `${options.command} output`);
  if (options.force || !existsSync(dir)) return;
  const present = modelFiles.filter((name) => existsSync(join(dir, name)));
  if (present.length) {
    throw new FusionkitError(`${dir} already holds a model (${present.join(", ")}). Pass --force to replace it, or choose another --out`);
  }
}
