/**
 * File paths in request rows (images, audio) are untrusted. They resolve
 * relative to the model directory and must stay inside it: absolute paths,
 * `..` escapes, NUL bytes and symlinks pointing outside are refused before any
 * file is opened, so a request can never make the server read /etc/passwd or
 * another model's files. Only files of the modality's kind are readable
 * (image extensions, .wav) and no hidden file, so a request cannot probe the
 * checkpoint files or learn what else the directory holds.
 */
import { realpathSync } from "node:fs";
import { extname, isAbsolute, relative, resolve, sep } from "node:path";

export type PathCheck = { path: string } | { problem: string };

function inside(root: string, candidate: string): boolean {
  const rel = relative(root, candidate);
  return rel === "" || (!rel.startsWith(`..${sep}`) && rel !== ".." && !isAbsolute(rel));
}

/** File kinds a request may name, by extension (the formats docs/data.md lists for each modality). */
export const readableExtensions = {
  image: [".png", ".jpg", ".jpeg", ".webp", ".gif", ".tif", ".tiff", ".avif"],
  audio: [".wav"],
} as const;

/** `requested` resolved inside `root` (itself resolved through symlinks once, by the caller). */
export function resolveInside(root: string, requested: string, kind?: keyof typeof readableExtensions): PathCheck {
  if (requested.includes("\0")) return { problem: "the path contains a NUL byte" };
  if (kind && !(readableExtensions[kind] as readonly string[]).includes(extname(requested).toLowerCase())) {
    return { problem: `expected ${kind === "image" ? "an image" : "a .wav"} file (${readableExtensions[kind].join(", ")}) relative to the model directory` };
  }
  if (requested.split(/[\\/]/).some((part) => part.startsWith(".") && part !== "." && part !== "..")) {
    return { problem: `hidden files are not readable; give a path relative to the model directory` };
  }
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
