/**
 * Text modality: token ids from a vocabulary fitted on train (0 = padding,
 * 1 = unknown), cut or padded to maxTokens, with a real-token mask.
 * A text with no word at all ("" or only punctuation) counts as missing.
 */
import type { RawRow } from "../rows.ts";
import type { TextModalityConfig } from "../schema.ts";
import { buildVocabulary, encodeTokens, tokenise } from "../text.ts";
import type { ModalitySpec } from "../types.ts";
import { describe, isMissing } from "../values.ts";
import { presenceOf, type EncodedModality, type ModalityPipeline, type Outcome } from "./pipeline.ts";

export class TextPipeline implements ModalityPipeline<string[]> {
  readonly name: string;
  readonly fields: string[];
  private vocabulary: string[] = ["<pad>", "<unk>"];

  constructor(private readonly config: TextModalityConfig) {
    this.name = config.name;
    this.fields = [config.field];
  }

  parse(row: RawRow): Outcome<string[]> {
    const raw = row.values![this.config.field];
    if (isMissing(raw, row.textual)) return { missing: true };
    if (typeof raw !== "string") return { problem: { field: this.config.field, reason: `text must be a string, got ${describe(raw)}` } };
    const tokens = tokenise(raw, this.config.lowercase);
    return tokens.length ? { value: tokens } : { missing: true };
  }

  fit(train: string[][]): void {
    // Only the first maxTokens words of a text ever reach the model, so only they count for the vocabulary.
    this.vocabulary = buildVocabulary(
      train.map((tokens) => tokens.slice(0, this.config.maxTokens)),
      this.config.maxVocab,
    );
  }

  restore(spec: ModalitySpec): void {
    this.vocabulary = spec.vocabulary ?? this.vocabulary;
  }

  spec(): ModalitySpec {
    return {
      name: this.name,
      type: "text",
      shape: [this.config.maxTokens],
      vocabSize: this.vocabulary.length,
      vocabulary: this.vocabulary,
      preprocessing: { lowercase: this.config.lowercase, maxTokens: this.config.maxTokens, tokeniser: "NFC, split on non-(letter|mark|digit)", padding: 0, unknown: 1 },
    };
  }

  encode(values: (string[] | undefined)[]): EncodedModality {
    const T = this.config.maxTokens;
    const idOf = new Map(this.vocabulary.map((token, id) => [token, id]));
    const inputs = new Float32Array(values.length * T);
    const tokenMask = new Float32Array(values.length * T);
    values.forEach((tokens, row) => tokens && encodeTokens(tokens, idOf, inputs, tokenMask, row * T, T));
    return { inputs, tokenMask, present: presenceOf(values) };
  }
}
