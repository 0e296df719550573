/**
 * Text preprocessing: a Unicode-aware word tokeniser and a vocabulary fitted
 * on the train split only (so val/test words the model never saw map to unknown).
 */

export const paddingId = 0;
export const unknownId = 1;

/**
 * Words are runs of letters, combining marks and digits in any script, so
 * "Grüße" and Devanagari words stay whole; everything else separates words.
 * NFC first so "é" typed as e + accent and as one code point are one token.
 */
const separator = /[^\p{L}\p{M}\p{N}]+/u;

export function tokenise(text: string, lowercase: boolean): string[] {
  const normalised = text.normalize("NFC");
  const cased = lowercase ? normalised.toLowerCase() : normalised;
  return cased.split(separator).filter((token) => token.length > 0);
}

/**
 * id -> token, with "<pad>" at 0 and "<unk>" at 1. Tokens sorted by train
 * frequency (ties alphabetically, so the vocabulary is deterministic), the
 * `maxVocab` most frequent kept.
 */
export function buildVocabulary(trainTokenLists: Iterable<string[]>, maxVocab: number): string[] {
  const counts = new Map<string, number>();
  for (const tokens of trainTokenLists) {
    for (const token of tokens) counts.set(token, (counts.get(token) ?? 0) + 1);
  }
  const ranked = [...counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return ["<pad>", "<unk>", ...ranked.slice(0, maxVocab).map(([token]) => token)];
}

/** Writes token ids and the real-token mask for one row; tokens past maxTokens are cut. */
export function encodeTokens(
  tokens: string[],
  idOf: Map<string, number>,
  ids: Float32Array,
  mask: Float32Array,
  offset: number,
  maxTokens: number,
): void {
  const count = Math.min(tokens.length, maxTokens);
  for (let t = 0; t < count; t++) {
    ids[offset + t] = idOf.get(tokens[t]) ?? unknownId;
    mask[offset + t] = 1;
  }
}
