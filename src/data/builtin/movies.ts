/**
 * Built-in dataset `movies`: predict a film's major genre from its title
 * (text) and its figures and facts (tabular), from vega-datasets' movies.json
 * (3201 films, with the data-quality problems vega keeps on purpose for teaching).
 *
 * The one exclusion: films with no "Major Genre" have no label, so they are
 * left out (the count is in the description and docs/datasets/movies.md).
 * Titles that movies.json stores as numbers (1776, 2012, 300, ...) become text;
 * the film whose title is null keeps its row with the text modality missing.
 * Missing figures are imputed with the train mean like any tabular column.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { packageDir, packageVersion } from "./emoji.ts";
import type { BuiltinDataset } from "./types.ts";

export const movieNumericColumns = [
  "Production Budget",
  "US Gross",
  "Worldwide Gross",
  "Running Time min",
  "Rotten Tomatoes Rating",
  "IMDB Rating",
  "IMDB Votes",
];
export const movieCategoricalColumns = ["MPAA Rating", "Source", "Creative Type", "Distributor"];

export function buildMoviesDataset(): BuiltinDataset {
  const root = packageDir("vega-datasets");
  const films = JSON.parse(readFileSync(join(root, "data", "movies.json"), "utf8")) as Record<string, unknown>[];
  // Ids are positions in movies.json: titles repeat (remakes), positions do not.
  const labelled = films.map((film, position) => ({ film, position })).filter(({ film }) => film["Major Genre"] !== null && film["Major Genre"] !== undefined);
  const rows = labelled.map(({ film, position }) => ({
    id: `movies.json#${position}`,
    ...Object.fromEntries([...movieNumericColumns, ...movieCategoricalColumns, "Major Genre", "Release Date", "Director"].map((field) => [field, film[field] ?? null])),
    Title: typeof film.Title === "number" ? String(film.Title) : (film.Title ?? null),
  }));
  const config = {
    name: "movies",
    task: "classification",
    label: "Major Genre",
    split: { seed: 0, fractions: { train: 0.7, val: 0.15, test: 0.15 }, stratify: true },
    keepFields: ["Title", "Release Date", "Director"],
    modalities: [
      { name: "title", type: "text", field: "Title", maxTokens: 12, lowercase: true },
      { name: "facts", type: "tabular", numeric: movieNumericColumns, categorical: movieCategoricalColumns },
    ],
  };
  return {
    name: "movies",
    config,
    rows,
    baseDir: root,
    description:
      `Major genre of a film from its title and figures/facts. vega-datasets@${packageVersion("vega-datasets")} data/movies.json (BSD-3-Clause); ` +
      `${films.length} films, ${films.length - labelled.length} excluded because they have no "Major Genre" (no label). See docs/datasets/movies.md.`,
  };
}
