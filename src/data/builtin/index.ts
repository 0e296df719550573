/** Built-in datasets, resolvable by name in loadDataset. */
import { buildEmojiDataset, type EmojiOptions } from "./emoji.ts";
import { buildMoviesDataset } from "./movies.ts";
import type { BuiltinDataset } from "./types.ts";

export type BuiltinOptions = { emoji?: EmojiOptions };

export const builtinDatasets: Record<string, (options: BuiltinOptions) => BuiltinDataset> = {
  emoji: (options) => buildEmojiDataset(options.emoji),
  movies: () => buildMoviesDataset(),
};

export const defaultDatasetName = "emoji";
