/// <reference lib="dom" />
/**
 * The page's input form, one labelled control per modality of model.json:
 * image and audio files (pick or drop), text, one field per tabular column
 * (a number box, or a list of the categories seen in training), vectors and
 * sequences as JSON. Every control has a visible label and is reachable with
 * the keyboard; a drop zone is a focusable button that opens the file picker.
 * Leaving a control empty marks the modality missing.
 */
import type { ModalitySpec } from "../../../data/types.ts";
import type { AudioFrames, DecodedImage, RawCell } from "./prepare.ts";

export type FileDecoders = {
  image(file: File): Promise<DecodedImage>;
  audio(file: File, spec: ModalitySpec): Promise<AudioFrames>;
};

export type ModalityForm = {
  /** the row as entered (after any file still being decoded); undefined per modality = missing */
  cells(): Promise<Record<string, RawCell | undefined>>;
  /** shows (or clears, with undefined) a problem under a modality's control */
  problem(modality: string, message: string | undefined): void;
};

function element<K extends keyof HTMLElementTagNameMap>(tag: K, attributes: Record<string, string> = {}, text?: string): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) el.setAttribute(key, value);
  if (text !== undefined) el.textContent = text;
  return el;
}

/** A file control with a drop zone; `onFile` decodes, the returned getter gives the decoded value. */
function fileControl<T>(
  box: HTMLElement,
  id: string,
  spec: ModalitySpec,
  accept: string,
  what: string,
  decode: (file: File) => Promise<T>,
  show: (value: T, file: File, preview: HTMLElement) => void,
  report: (message: string | undefined) => void,
): () => Promise<T | undefined> {
  let value: T | undefined;
  // the decode of the latest file chosen; reading the form waits for it
  let pending: Promise<void> = Promise.resolve();
  const label = element("label", { for: id }, `${spec.name} (${spec.type})`);
  const input = element("input", { type: "file", id, accept, "data-modality": spec.name });
  const zone = element("div", { class: "drop", role: "button", tabindex: "0", "aria-describedby": `${id}-hint` }, `Drop ${what} here, or press Enter to choose one`);
  const hint = element("p", { id: `${id}-hint`, class: "hint" }, "Leave it empty to mark the modality missing.");
  const preview = element("div", { class: "preview", "aria-live": "polite" });
  const clear = element("button", { type: "button", class: "clear" }, `Clear ${spec.name}`);
  const take = async (file: File | undefined) => {
    report(undefined);
    value = undefined;
    preview.textContent = "";
    if (!file) return;
    try {
      value = await decode(file);
      show(value, file, preview);
    } catch (error) {
      report(`cannot read ${file.name}: ${(error as Error).message}`);
    }
  };
  input.addEventListener("change", () => (pending = take(input.files?.[0])));
  zone.addEventListener("click", () => input.click());
  zone.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      input.click();
    }
  });
  zone.addEventListener("dragover", (event) => {
    event.preventDefault();
    zone.classList.add("over");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("over");
    pending = take(event.dataTransfer?.files[0]);
  });
  clear.addEventListener("click", () => {
    input.value = "";
    pending = take(undefined);
  });
  box.append(label, input, zone, hint, preview, clear);
  return async () => {
    await pending;
    return value;
  };
}

/** Builds the controls into `container` and returns the form's reader. */
export function buildForm(container: HTMLElement, specs: ModalitySpec[], decoders: FileDecoders): ModalityForm {
  const readers: Record<string, () => Promise<RawCell | undefined>> = {};
  const problems: Record<string, HTMLElement> = {};
  specs.forEach((spec, m) => {
    const id = `modality-${m}`;
    const box = element("div", { class: `modality modality-${spec.type}`, "data-modality": spec.name });
    const problem = element("p", { class: "problem", role: "alert", id: `${id}-problem` });
    problems[spec.name] = problem;
    const report = (message: string | undefined) => (problem.textContent = message ?? "");
    switch (spec.type) {
      case "image": {
        const get = fileControl(box, id, spec, "image/*", "an image", (file) => decoders.image(file), (image, file, preview) => {
          const img = element("img", { alt: `${spec.name}: ${file.name}, ${image.width} x ${image.height} pixels` });
          img.src = URL.createObjectURL(file);
          preview.append(img);
        }, report);
        readers[spec.name] = async () => {
          const image = await get();
          return image ? { type: "image", image } : undefined;
        };
        break;
      }
      case "audio": {
        const get = fileControl(box, id, spec, ".wav,audio/wav,audio/x-wav", "a WAV file", (file) => decoders.audio(file, spec), (frames, file, preview) => {
          preview.textContent = `${file.name}: ${frames.realFrames} frame(s) of audio`;
        }, report);
        readers[spec.name] = async () => {
          const frames = await get();
          return frames ? { type: "audio", frames } : undefined;
        };
        break;
      }
      case "text": {
        box.append(element("label", { for: id }, `${spec.name} (text)`));
        const area = element("textarea", { id, rows: "3", "data-modality": spec.name, "aria-describedby": `${id}-hint` });
        box.append(area, element("p", { id: `${id}-hint`, class: "hint" }, `Up to ${spec.shape[0]} words are read; leave it empty to mark the modality missing.`));
        readers[spec.name] = async () => (area.value.trim() === "" ? undefined : { type: "text", text: area.value });
        break;
      }
      case "tabular": {
        const fieldset = element("fieldset", { "data-modality": spec.name });
        fieldset.append(element("legend", {}, `${spec.name} (tabular; empty fields are imputed as in training)`));
        const pre = (spec.preprocessing ?? {}) as { categoryVocabularies?: string[][] };
        const controls: [string, HTMLInputElement | HTMLSelectElement, boolean][] = [];
        (spec.numericColumns ?? []).forEach((column, c) => {
          const inputId = `${id}-n${c}`;
          const input = element("input", { type: "number", step: "any", id: inputId, "data-column": column });
          fieldset.append(element("label", { for: inputId }, column), input);
          controls.push([column, input, true]);
        });
        (spec.categoricalColumns ?? []).forEach((column, c) => {
          const inputId = `${id}-c${c}`;
          const select = element("select", { id: inputId, "data-column": column });
          select.append(element("option", { value: "" }, "(missing)"));
          for (const value of (pre.categoryVocabularies?.[c] ?? []).slice(1)) select.append(element("option", { value }, value));
          fieldset.append(element("label", { for: inputId }, column), select);
          controls.push([column, select, false]);
        });
        box.append(fieldset);
        readers[spec.name] = async () => {
          const values: Record<string, string | number | null> = {};
          for (const [column, control, numeric] of controls) values[column] = control.value === "" ? null : numeric ? Number(control.value) : control.value;
          return Object.values(values).every((v) => v === null) ? undefined : { type: "tabular", values };
        };
        break;
      }
      case "vector":
      case "sequence": {
        const example = spec.type === "vector" ? `[${Array.from({ length: Math.min(3, spec.shape[0]!) }, () => "0.0").join(", ")}${spec.shape[0]! > 3 ? ", ..." : ""}]` : `[[${Array.from({ length: Math.min(3, spec.shape[1]!) }, () => "0.0").join(", ")}], ...]`;
        box.append(element("label", { for: id }, `${spec.name} (${spec.type}, JSON)`));
        const area = element("textarea", { id, rows: "2", "data-modality": spec.name, placeholder: example, "aria-describedby": `${id}-hint` });
        const shape = spec.type === "vector" ? `${spec.shape[0]} numbers` : `steps of ${spec.shape[1]} numbers, up to ${spec.shape[0]} steps`;
        box.append(area, element("p", { id: `${id}-hint`, class: "hint" }, `${shape}; leave it empty to mark the modality missing.`));
        const type = spec.type;
        readers[spec.name] = async () => (area.value.trim() === "" ? undefined : { type, json: area.value });
        break;
      }
    }
    box.append(problem);
    container.append(box);
  });
  return {
    cells: async () => Object.fromEntries(await Promise.all(specs.map(async (spec) => [spec.name, await readers[spec.name]!()] as const))),
    problem(modality, message) {
      const el = problems[modality];
      if (el) el.textContent = message ?? "";
    },
  };
}
