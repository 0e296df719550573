/**
 * Free text (search queries, zero-shot prompts) -> token ids in a text
 * modality's fitted vocabulary, tokenised exactly as the training rows were
 * (src/data/text.ts: NFC, split on non-letters/digits, lowercased when the
 * modality was).
 *
 * Limitation: the vocabulary is the train split's words, no subwords. A word
 * the training texts never contained maps to the unknown id (1), so it carries
 * no meaning (every unknown word embeds the same). Callers get the unknown
 * words back so they can say so; a text with no known word at all is refused
 * by `requireKnownWord`.
 */
import type { ModalitySpec } from "../data/types.ts";
import { encodeTokens, tokenise, unknownId } from "../data/text.ts";
import { FusionkitError } from "../errors.ts";

export type EncodedTexts = {
  n: number;
  /** [n, T] token ids */
  ids: Float32Array;
  /** [n, T] 1 = real token */
  mask: Float32Array;
  /** per text, the words outside the vocabulary (within the first T) */
  unknown: string[][];
  /** per text, the number of words kept (at most T) */
  words: number[];
};

export function encodeTexts(spec: ModalitySpec, texts: string[]): EncodedTexts {
  if (spec.type !== "text" || !spec.vocabulary) {
    throw new FusionkitError(`modality "${spec.name}" is ${spec.type}, not text with a vocabulary; text queries need a text modality`, { field: spec.name });
  }
  const T = spec.shape[0]!;
  const lowercase = (spec.preprocessing?.lowercase as boolean | undefined) ?? true;
  const idOf = new Map(spec.vocabulary.map((token, id) => [token, id]));
  const ids = new Float32Array(texts.length * T);
  const mask = new Float32Array(texts.length * T);
  const unknown: string[][] = [];
  const words: number[] = [];
  texts.forEach((text, i) => {
    const tokens = tokenise(text, lowercase).slice(0, T);
    encodeTokens(tokens, idOf, ids, mask, i * T, T);
    unknown.push(tokens.filter((t) => (idOf.get(t) ?? unknownId) === unknownId));
    words.push(tokens.length);
  });
  return { n: texts.length, ids, mask, unknown, words };
}

/** Refuses an empty query or one whose every word is outside the vocabulary. */
export function requireKnownWord(query: string, encoded: EncodedTexts, index = 0): void {
  if (encoded.words[index] === 0) {
    throw new FusionkitError(`the query ${JSON.stringify(query)} has no words; give a text such as --query "a red fruit"`, { field: "query" });
  }
  if (encoded.unknown[index]!.length === encoded.words[index]) {
    throw new FusionkitError(
      `none of the words of ${JSON.stringify(query)} is in the model's vocabulary (the words of its training texts), so the query carries no meaning; rephrase it with other words`,
      { field: "query" },
    );
  }
}
