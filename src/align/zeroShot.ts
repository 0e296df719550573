/**
 * Zero-shot classification (CLIP, Radford et al., ICML 2021, section 3.1):
 * no classifier is trained; each class c becomes text prompts from templates
 * ("{}", "an emoji of {}", "a {} emoji"), and
 *   w_c = normalise( mean_k normalise( f_text(template_k(c)) ) ),   logits = 100 * z_item W^T
 * (`zeroShotLogits` of src/fusion/contrastiveAlignment.ts). An item is
 * classified by its most similar class.
 *
 * Class names are tokenised with the dataset's text vocabulary (textQueries.ts):
 * a class-name word the training texts never contained maps to the unknown
 * token and contributes nothing (emoji: "Smileys & Emotion" needs "smileys"
 * and "emotion" to be words of the training names/keywords). The unknown
 * words are returned with the result so the report can state them.
 */
import type { ModalitySpec, SplitData } from "../data/types.ts";
import { FusionkitError } from "../errors.ts";
import { constant, scoped } from "../engine/tensor.ts";
import { zeroShotLogits } from "../fusion/contrastiveAlignment.ts";
import type { Embedder } from "./embedder.ts";
import { retrievalItems } from "./items.ts";
import { groupIds } from "./pairs.ts";
import { encodeTexts } from "./textQueries.ts";

/** Prompt templates when none are given: the class name alone plus two neutral phrasings. */
export const defaultTemplates = ["{}", "a {}", "the {}"];
/** Built-in datasets' own templates (CLIP-style prompts that name the domain). */
export const builtinTemplates: Record<string, string[]> = { emoji: ["{}", "an emoji of {}", "a {} emoji"] };

export function templatesFor(datasetName: string): string[] {
  return builtinTemplates[datasetName] ?? defaultTemplates;
}

export type ZeroShotResult = {
  modality: string;
  accuracy: number;
  /** items classified (distinct inputs of the modality) */
  items: number;
  classes: number;
  /** 1 / classes */
  uniformChance: number;
  /** share of the most frequent class among the items (what always guessing it scores) */
  majorityChance: number;
  templates: string[];
  /** class name -> its words outside the text vocabulary (they map to unknown) */
  unknownWords: Record<string, string[]>;
  /** template words outside the vocabulary */
  unknownTemplateWords: string[];
  perClass: { name: string; items: number; accuracy: number }[];
};

export function fillTemplate(template: string, className: string): string {
  if (!template.includes("{}")) throw new FusionkitError(`a prompt template must contain "{}" where the class name goes, got ${JSON.stringify(template)}`, { field: "templates" });
  return template.split("{}").join(className);
}

/**
 * Class-name prompts' embeddings [C, K, D] as one flat array, the class-name
 * words outside the vocabulary per class, and the template words outside it.
 */
export function classPromptEmbeddings(
  embedder: Embedder,
  textSpec: ModalitySpec,
  classNames: string[],
  templates: string[],
): { embeddings: Float32Array; unknownWords: Record<string, string[]>; unknownTemplateWords: string[] } {
  const prompts = classNames.flatMap((c) => templates.map((t) => fillTemplate(t, c)));
  const encoded = encodeTexts(textSpec, prompts);
  const names = encodeTexts(textSpec, classNames);
  const unknownWords = Object.fromEntries(classNames.map((c, i) => [c, names.unknown[i]!]));
  const unknownTemplateWords = [...new Set(encodeTexts(textSpec, templates.map((t) => t.split("{}").join(" "))).unknown.flat())];
  return { embeddings: embedder.embedInputs(textSpec.name, encoded.ids, encoded.mask, prompts.length), unknownWords, unknownTemplateWords };
}

/** Zero-shot accuracy of the distinct `modality` items of a classification split against prompts of `classNames`. */
export function zeroShotClassify(
  embedder: Embedder,
  split: SplitData,
  modality: ModalitySpec,
  textSpec: ModalitySpec,
  classNames: string[],
  templates: string[],
): ZeroShotResult {
  if (templates.length === 0) throw new FusionkitError("at least one prompt template is needed", { field: "templates" });
  const items = retrievalItems(split, modality, groupIds(split));
  const C = classNames.length;
  const D = embedder.dim;
  const itemEmbeddings = embedder.embed(split, modality.name, items.rows);
  const { embeddings: promptEmbeddings, unknownWords, unknownTemplateWords } = classPromptEmbeddings(embedder, textSpec, classNames, templates);
  const N = items.rows.length;
  const { logits } = scoped(() => ({
    logits: zeroShotLogits(constant(itemEmbeddings, [N, D]), constant(promptEmbeddings, [C, templates.length, D])),
  }));
  const counts = new Array<number>(C).fill(0);
  const correct = new Array<number>(C).fill(0);
  items.labels.forEach((label, i) => {
    let best = 0;
    for (let c = 1; c < C; c++) if (logits.data[i * C + c]! > logits.data[i * C + best]!) best = c;
    counts[label]!++;
    if (best === label) correct[label]!++;
  });
  return {
    modality: modality.name,
    accuracy: N ? correct.reduce((a, b) => a + b, 0) / N : NaN,
    items: N,
    classes: C,
    uniformChance: 1 / C,
    majorityChance: N ? Math.max(...counts) / N : NaN,
    templates,
    unknownWords,
    unknownTemplateWords,
    perClass: classNames.map((name, c) => ({ name, items: counts[c]!, accuracy: counts[c] ? correct[c]! / counts[c]! : NaN })),
  };
}
