/**
 * File paths in request rows (images, audio) are untrusted. They resolve
 * relative to the model directory and must stay inside it: absolute paths,
 * `..` escapes, NUL bytes and symlinks pointing outside are refused before any
 * file is opened, so a request can never make the server read /etc/passwd or
 * another model's files.
 */
import { realpathSync } from "node:fs";
import { isAbsolute, relative, resolve, sep } from "node:path";

export type PathCheck = { path: string } | { problem: string };

function inside(root: string, candidate: string): boolean {
  const rel = relative(root, candidate);
  return rel === "" || (!rel.startsWith(`..${sep}`) && rel !== ".." && !isAbsolute(rel));
}

/** `requested` resolved inside `root` (itself resolved through symlinks once, by the caller). */
export function resolveInside(root: string, requested: string): PathCheck {
  if (requested.includes("\0")) return { problem: "the path contains a NUL byte" };
  if (isAbsolute(requested) || /^[a-zA-Z]:[\\/]/.test(requested)) {
    return { problem: `absolute paths are not accepted; give a path relative to the model directory` };
  }
  const candidate = resolve(root, requested);
  if (!inside(root, candidate)) return { problem: `the path leaves the model directory` };
  let real: string;
  try {
    real = realpathSync(candidate);
  } catch {
    return { problem: `no such file in the model directory: ${requested}` };
  }
  // a symlink inside the directory may still point outside it
  if (!inside(root, real)) return { problem: `the path leaves the model directory (through a symbolic link)` };
  return { path: real };
}
