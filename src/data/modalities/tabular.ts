/**
 * Tabular modality: numeric columns standardised with train mean/std, then
 * categorical columns as integer codes (stored as floats).
 *
 * Missing cells (null, absent, or an empty CSV cell): numeric ones are imputed
 * with the train mean (so they standardise to exactly 0) and categorical ones
 * get code 0, the same code as a value train never saw. No indicator column is
 * added; the per-column counts are in ModalitySpec.missingCells and the inspect
 * report. A row whose columns are all missing counts as the modality missing.
 */
import type { RawRow } from "../rows.ts";
import type { TabularModalityConfig } from "../schema.ts";
import type { ModalitySpec } from "../types.ts";
import { describe, isMissing, readNumber } from "../values.ts";
import { fitStandardiser, presenceOf, type EncodedModality, type ModalityPipeline, type Outcome } from "./pipeline.ts";

export type TabularCells = { numeric: (number | null)[]; categorical: (string | null)[] };

export class TabularPipeline implements ModalityPipeline<TabularCells> {
  readonly name: string;
  readonly fields: string[];
  private stats = { means: [] as number[], stds: [] as number[] };
  /** per categorical column: code -> value, code 0 = unknown/missing */
  private vocabularies: string[][] = [];

  constructor(private readonly config: TabularModalityConfig) {
    this.name = config.name;
    this.fields = [...config.numeric, ...config.categorical];
  }

  parse(row: RawRow): Outcome<TabularCells> {
    const cells: TabularCells = { numeric: [], categorical: [] };
    for (const field of this.config.numeric) {
      const cell = readNumber(row.values![field], row.textual);
      if ("problem" in cell) return { problem: { field, reason: cell.problem } };
      cells.numeric.push("missing" in cell ? null : cell.value);
    }
    for (const field of this.config.categorical) {
      const raw = row.values![field];
      if (isMissing(raw, row.textual)) cells.categorical.push(null);
      else if (typeof raw === "string" || typeof raw === "number" || typeof raw === "boolean") cells.categorical.push(String(raw));
      else return { problem: { field, reason: `categorical value must be a string, number or boolean, got ${describe(raw)}` } };
    }
    if (cells.numeric.every((v) => v === null) && cells.categorical.every((v) => v === null)) return { missing: true };
    return { value: cells };
  }

  fit(train: TabularCells[]): void {
    const columns = this.config.numeric.length;
    this.stats = { means: [], stds: [] };
    for (let c = 0; c < columns; c++) {
      const observed = train.map((cells) => cells.numeric[c]).filter((v): v is number => v !== null);
      const { means, stds } = fitStandardiser([{ values: observed, steps: observed.length }], 1);
      this.stats.means.push(means[0]);
      this.stats.stds.push(stds[0]);
    }
    this.vocabularies = this.config.categorical.map((_, c) => {
      const seen = new Set(train.map((cells) => cells.categorical[c]).filter((v): v is string => v !== null));
      return ["<unknown>", ...[...seen].sort()];
    });
  }

  restore(spec: ModalitySpec): void {
    const preprocessing = spec.preprocessing as { means: number[]; stds: number[]; categoryVocabularies: string[][] };
    this.stats = { means: preprocessing.means, stds: preprocessing.stds };
    this.vocabularies = preprocessing.categoryVocabularies;
  }

  spec(): ModalitySpec {
    return {
      name: this.name,
      type: "tabular",
      shape: [this.config.numeric.length + this.config.categorical.length],
      numericColumns: [...this.config.numeric],
      categoricalColumns: [...this.config.categorical],
      categoricalCardinalities: this.vocabularies.map((vocabulary) => vocabulary.length),
      preprocessing: { means: this.stats.means, stds: this.stats.stds, categoryVocabularies: this.vocabularies, missingNumeric: "train mean", missingCategorical: 0 },
    };
  }

  encode(values: (TabularCells | undefined)[]): EncodedModality {
    const numericCount = this.config.numeric.length;
    const width = numericCount + this.config.categorical.length;
    const codes = this.vocabularies.map((vocabulary) => new Map(vocabulary.map((value, code) => [value, code])));
    const inputs = new Float32Array(values.length * width);
    const missingCells = new Array<number>(width).fill(0);
    const unseenCells = new Array<number>(width).fill(0);
    values.forEach((cells, row) => {
      if (!cells) return;
      cells.numeric.forEach((value, c) => {
        if (value === null) missingCells[c]++;
        else inputs[row * width + c] = (value - this.stats.means[c]) / this.stats.stds[c];
      });
      cells.categorical.forEach((value, c) => {
        if (value === null) missingCells[numericCount + c]++;
        else {
          const code = codes[c].get(value);
          if (code === undefined) unseenCells[numericCount + c]++;
          inputs[row * width + numericCount + c] = code ?? 0;
        }
      });
    });
    return { inputs, present: presenceOf(values), missingCells, unseenCells };
  }
}
