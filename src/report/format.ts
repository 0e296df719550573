/** Number and text formatting shared by the stdout leaderboard and the HTML report. */
import type { Stat } from "../bench/results.ts";

export function fixed(x: number, digits: number): string {
  return Number.isFinite(x) ? x.toFixed(digits) : "n/a";
}

/** "0.812 ± 0.010"; just the mean when only one seed ran (no spread to show). */
export function meanStd(s: Stat | undefined, digits = 3): string {
  if (!s || s.n === 0 || !Number.isFinite(s.mean)) return "n/a";
  return s.n > 1 ? `${fixed(s.mean, digits)} ± ${fixed(s.std, digits)}` : fixed(s.mean, digits);
}

export function count(n: number): string {
  return Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "n/a";
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/gu, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

/** JSON safe inside a <script> element: no "</script", no "<!--". */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</gu, "\\u003c").replace(/\u2028/gu, "\\u2028").replace(/\u2029/gu, "\\u2029");
}

export function seconds(ms: number): string {
  if (!Number.isFinite(ms)) return "n/a";
  const s = ms / 1000;
  return s < 90 ? `${s.toFixed(1)} s` : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}
