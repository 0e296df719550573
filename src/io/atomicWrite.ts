/**
 * The one way fusionkit writes a file it owns (checkpoints, results.json,
 * report.html, ONNX exports, predictions, the dataset cache): into a temporary
 * file beside the target, flushed, then renamed over it. A reader therefore
 * sees the old file or the new one, never half of one; a failed write (a full
 * disk, a directory turned read-only) removes its temporary file and leaves the
 * old file as it was; and the failure becomes one line naming the path and what
 * to do (ENOSPC, EACCES, EROFS...), never a stack trace.
 *
 * Several files that belong together (a checkpoint's weights and config.json)
 * go through `writeFilesAtomic`: every temporary file is written first (the
 * step that can run out of space), then the last file of the group, its commit
 * marker, is unlinked, the others renamed into place, and the marker renamed
 * last. A process killed at any point leaves either the old group complete,
 * or the new group complete, or a group without its marker, which loaders
 * refuse as incomplete: never a mix that loads.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { FusionkitError } from "../errors.ts";

/** A file's content: text (UTF-8), bytes, or bytes in chunks (written one after the other, never concatenated in memory). */
export type FileData = Uint8Array | string | Uint8Array[];
export type FileToWrite = { path: string; data: FileData };

/**
 * cache: the file is a cache entry (dataset arrays, one embedding): no fsync
 * and no sweep of a killed process's temporaries, which would cost a directory
 * listing per entry; a lost entry is recomputed.
 */
export type WriteOptions = { cache?: boolean };

let counter = 0;

/** `.<name>.<pid>.<n>.tmp` beside the target: hidden, and tied to the process that writes it. */
function temporaryPath(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${++counter}.tmp`);
}

const temporaryPattern = /^\.(.+)\.(\d+)\.\d+\.tmp$/u;

function isRunning(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Removes temporary files that a killed process (SIGKILL, power loss) left
 * beside `path`: nothing else can clean them up, and they can be as large as
 * a checkpoint. Files of running processes are left alone.
 */
export function removeStaleTemporaries(path: string): void {
  let names: string[];
  try {
    names = readdirSync(dirname(path));
  } catch {
    return;
  }
  for (const name of names) {
    const match = temporaryPattern.exec(name);
    if (!match || match[1] !== basename(path) || isRunning(Number(match[2]))) continue;
    removeQuietly(join(dirname(path), name));
  }
}

export function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone, or never created
  }
}

/** What the user can do about a failed write, by errno code. */
const remedies: Record<string, (path: string) => string> = {
  ENOSPC: () => "the disk is full. Free space on it, or write to another disk (--out)",
  EDQUOT: () => "the disk quota is exceeded. Free space, or write to another disk (--out)",
  EACCES: (path) => `permission denied. Make ${dirname(path)} writable, or choose another --out`,
  EPERM: (path) => `permission denied. Make ${dirname(path)} writable, or choose another --out`,
  EROFS: () => "the file system is read-only. Choose another --out on a writable disk",
  ENOTDIR: (path) => `a part of ${dirname(path)} is a file, not a directory. Choose another --out`,
  EISDIR: () => "it is a directory. Give a file path, or choose another --out",
  EMFILE: () => "too many open files. Raise the open-file limit (ulimit -n) and rerun",
};

/**
 * A FusionkitError for a failed write of `path` (one line: the path, the errno
 * code, what to do, and that the previous file is untouched), or the error
 * itself when it is not a file-system failure.
 */
export function writeError(error: unknown, path: string): unknown {
  const code = (error as NodeJS.ErrnoException)?.code;
  if (error instanceof FusionkitError || typeof code !== "string") return error;
  const remedy = remedies[code]?.(path) ?? `${(error as Error).message}. Check the disk and the directory's permissions`;
  return new FusionkitError(`cannot write ${path} (${code}): ${remedy}; nothing was changed there`);
}

/**
 * The CLI's last resort for an errno error that reached it without a message
 * of ours (e.g. from a library): one line with the path, the code and, for
 * the codes we know, what to do. Anything else is returned as it is.
 */
export function fileSystemError(error: unknown): unknown {
  const { code, path, syscall } = (error ?? {}) as NodeJS.ErrnoException;
  if (error instanceof FusionkitError || typeof code !== "string" || typeof path !== "string") return error;
  const remedy = remedies[code]?.(path);
  return new FusionkitError(`${syscall ?? "access"} ${path} failed (${code})${remedy ? `: ${remedy}` : `: ${(error as Error).message}`}`);
}

function writeTemporary(path: string, data: FileData, options: WriteOptions): string {
  const temporary = temporaryPath(path);
  let fd: number | undefined;
  try {
    fd = openSync(temporary, "wx");
    for (const bytes of typeof data === "string" ? [Buffer.from(data, "utf8")] : data instanceof Uint8Array ? [data] : data) {
      let at = 0;
      while (at < bytes.length) at += writeSync(fd, bytes, at, bytes.length - at);
    }
    // flushed before the rename, so a crash of the machine cannot leave the new name on empty blocks
    if (!options.cache) fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    return temporary;
  } catch (error) {
    if (fd !== undefined) {
      try {
        closeSync(fd);
      } catch {
        // the write error below is the one to report
      }
    }
    removeQuietly(temporary);
    throw writeError(error, path);
  }
}

/** Writes `data` to `path` atomically (creating its directory); on failure nothing changes and the error is one line. */
export function writeFileAtomic(path: string, data: FileData, options: WriteOptions = {}): void {
  writeFilesAtomic([{ path, data }], options);
}

/**
 * Writes a group of files so that a reader sees all old or all new ones; the
 * last file is the group's commit marker (see the header). All files must be
 * on one file system (same directory, in practice).
 */
export function writeFilesAtomic(files: FileToWrite[], options: WriteOptions = {}): void {
  const written: { path: string; temporary: string }[] = [];
  try {
    for (const file of files) {
      try {
        mkdirSync(dirname(file.path), { recursive: true });
      } catch (error) {
        throw writeError(error, file.path);
      }
      if (!options.cache) removeStaleTemporaries(file.path);
      written.push({ path: file.path, temporary: writeTemporary(file.path, file.data, options) });
    }
    const marker = written[written.length - 1];
    if (marker && written.length > 1) removeQuietly(marker.path);
    for (const { path, temporary } of written) {
      try {
        renameSync(temporary, path);
      } catch (error) {
        throw writeError(error, path);
      }
    }
  } catch (error) {
    for (const { temporary } of written) removeQuietly(temporary);
    throw error;
  }
}
