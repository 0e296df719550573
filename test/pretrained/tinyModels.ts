/**
 * Tiny pretrained-encoder directories in the Hugging Face layout, generated
 * offline with random weights, so tests and the embedding benchmark load them
 * through exactly the transformers.js path a hub model takes:
 *
 *   text (BERT-style, model_type "bert"):  config.json, tokenizer.json (a real
 *     WordPiece tokenizer: BertNormalizer, BertPreTokenizer, [CLS] $A [SEP]),
 *     tokenizer_config.json, special_tokens_map.json, onnx/model.onnx:
 *     embeddings (word + position + type) -> LayerNorm -> 1 attention layer
 *     (masked, 2 heads) -> GELU feed-forward -> last_hidden_state [B, T, H]
 *   image (ViT-style, model_type "vit"):   config.json, preprocessor_config.json
 *     (ViTImageProcessor: resize, rescale, normalise), onnx/model.onnx:
 *     Conv patch embedding + [CLS] + positions -> the same block ->
 *     last_hidden_state [B, 1 + patches, H], pooler_output [B, H]
 *
 * The graphs are written with the project's own GraphBuilder (opset 17).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { encodeModel, GraphBuilder } from "../../src/export/onnxGraph.ts";

/** Deterministic uniform(-scale, scale) weights from a seed (mulberry32). */
function weights(seed: number, count: number, scale: number): Float32Array {
  let state = seed >>> 0;
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = ((((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1) * scale;
  }
  return out;
}

class Weights {
  private next: number;
  constructor(
    private readonly g: GraphBuilder,
    seed: number,
  ) {
    this.next = seed;
  }
  tensor(name: string, dims: number[], scale = 0.3): string {
    return this.g.initializer(name, "float32", dims, weights(this.next++, dims.reduce((a, b) => a * b, 1), scale));
  }
  ones(name: string, dims: number[]): string {
    return this.g.initializer(name, "float32", dims, new Float32Array(dims.reduce((a, b) => a * b, 1)).fill(1));
  }
}

const layerNorm = (g: GraphBuilder, w: Weights, x: string, hidden: number, name: string) =>
  g.op("LayerNormalization", [x, w.ones(`${name}.weight`, [hidden]), w.tensor(`${name}.bias`, [hidden], 0.05)], { axis: -1, epsilon: { float: 1e-12 } });

const dense = (g: GraphBuilder, w: Weights, x: string, n: number, m: number, name: string) => g.op("Add", [g.op("MatMul", [x, w.tensor(`${name}.weight`, [n, m])]), w.tensor(`${name}.bias`, [m], 0.05)]);

/** gelu(x) = 0.5 x (1 + erf(x / sqrt 2)), BERT's exact form. */
function gelu(g: GraphBuilder, x: string): string {
  const erf = g.op("Erf", [g.op("Div", [x, g.constant("float32", [], [Math.SQRT2])])]);
  return g.op("Mul", [g.op("Mul", [x, g.constant("float32", [], [0.5])]), g.op("Add", [erf, g.constant("float32", [], [1])])]);
}

/**
 * One post-LN transformer block over x [B, T, H] with `heads` heads; `bias`
 * [B, 1, 1, T] is added to the attention scores (0 or -1e4 for padding).
 */
function block(g: GraphBuilder, w: Weights, x: string, hidden: number, heads: number, intermediate: number, bias: string | undefined): string {
  const headDim = hidden / heads;
  const split = (t: string) => g.op("Transpose", [g.op("Reshape", [t, g.int64s([0, 0, heads, headDim])])], { perm: [0, 2, 1, 3] });
  const q = split(dense(g, w, x, hidden, hidden, "attention.query"));
  const k = split(dense(g, w, x, hidden, hidden, "attention.key"));
  const v = split(dense(g, w, x, hidden, hidden, "attention.value"));
  let scores = g.op("Div", [g.op("MatMul", [q, g.op("Transpose", [k], { perm: [0, 1, 3, 2] })]), g.constant("float32", [], [Math.sqrt(headDim)])]);
  if (bias) scores = g.op("Add", [scores, bias]);
  const context = g.op("MatMul", [g.op("Softmax", [scores], { axis: -1 }), v]);
  const merged = g.op("Reshape", [g.op("Transpose", [context], { perm: [0, 2, 1, 3] }), g.int64s([0, 0, hidden])]);
  const attended = layerNorm(g, w, g.op("Add", [x, dense(g, w, merged, hidden, hidden, "attention.output")]), hidden, "attention.norm");
  const ffn = dense(g, w, gelu(g, dense(g, w, attended, hidden, intermediate, "intermediate")), intermediate, hidden, "output");
  return layerNorm(g, w, g.op("Add", [attended, ffn]), hidden, "output.norm");
}

export type TinyTextModel = { dir: string; vocab: string[]; hidden: number; maxPositions: number };

const specialTokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];

/** Writes a tiny BERT-style text encoder directory; `vocabulary` are the whole words (plus a few "##" pieces) it knows. */
export function writeTinyTextModel(dir: string, options: { words: string[]; hidden?: number; heads?: number; seed?: number; maxPositions?: number }): TinyTextModel {
  const hidden = options.hidden ?? 16;
  const heads = options.heads ?? 2;
  const maxPositions = options.maxPositions ?? 64;
  const intermediate = hidden * 2;
  const pieces = ["##s", "##ed", "##ing"];
  const vocab = [...specialTokens, ...new Set(options.words.map((word) => word.toLowerCase())), ...pieces];
  const g = new GraphBuilder();
  const w = new Weights(g, options.seed ?? 1);
  g.graphInput("input_ids", "int64", [{ a: 1, c: 0 }, { a: 0, c: 0 }]);
  g.graphInput("attention_mask", "int64", [{ a: 1, c: 0 }, { a: 0, c: 0 }]);
  g.graphInput("token_type_ids", "int64", [{ a: 1, c: 0 }, { a: 0, c: 0 }]);
  fixSequenceDims(g);
  const word = g.op("Gather", [w.tensor("embeddings.word", [vocab.length, hidden], 1), "input_ids"], { axis: 0 });
  const type = g.op("Gather", [w.tensor("embeddings.type", [2, hidden], 0.2), "token_type_ids"], { axis: 0 });
  const length = g.op("Gather", [g.op("Shape", ["input_ids"]), g.constant("int64", [], [1])], { axis: 0 });
  const positions = g.op("Range", [g.constant("int64", [], [0]), length, g.constant("int64", [], [1])]);
  const position = g.op("Gather", [w.tensor("embeddings.position", [maxPositions, hidden], 0.2), positions], { axis: 0 });
  const embedded = layerNorm(g, w, g.op("Add", [g.op("Add", [word, type]), position]), hidden, "embeddings.norm");
  // padding: (1 - mask) * -1e4 on the scores, shaped [B, 1, 1, T]
  const maskFloat = g.op("Cast", ["attention_mask"], { to: 1 });
  const bias = g.op("Mul", [g.op("Sub", [g.constant("float32", [], [1]), g.op("Unsqueeze", [maskFloat, g.int64s([1, 2])])]), g.constant("float32", [], [-1e4])]);
  g.node("Identity", [block(g, w, embedded, hidden, heads, intermediate, bias)], {}, ["last_hidden_state"]);
  g.graphOutput("last_hidden_state", "float32", [{ a: 1, c: 0 }, { a: 0, c: 0 }, hidden]);
  fixSequenceDims(g);

  mkdirSync(join(dir, "onnx"), { recursive: true });
  writeFileSync(join(dir, "onnx", "model.onnx"), encodeModel(g, { graphName: "tiny_bert" }));
  const json = (file: string, value: unknown) => writeFileSync(join(dir, file), JSON.stringify(value, null, 2));
  json("config.json", {
    architectures: ["BertModel"],
    model_type: "bert",
    hidden_size: hidden,
    num_attention_heads: heads,
    num_hidden_layers: 1,
    intermediate_size: intermediate,
    hidden_act: "gelu",
    vocab_size: vocab.length,
    max_position_embeddings: maxPositions,
    type_vocab_size: 2,
    pad_token_id: 0,
  });
  json("tokenizer.json", wordPieceTokenizer(vocab));
  json("tokenizer_config.json", {
    tokenizer_class: "BertTokenizer",
    do_lower_case: true,
    model_max_length: maxPositions,
    cls_token: "[CLS]",
    sep_token: "[SEP]",
    pad_token: "[PAD]",
    unk_token: "[UNK]",
    mask_token: "[MASK]",
    clean_up_tokenization_spaces: true,
  });
  json("special_tokens_map.json", { cls_token: "[CLS]", sep_token: "[SEP]", pad_token: "[PAD]", unk_token: "[UNK]", mask_token: "[MASK]" });
  return { dir, vocab, hidden, maxPositions };
}

/** GraphBuilder's Dim has no free sequence axis; rewrite the placeholder dims above as a named "sequence" dim. */
function fixSequenceDims(g: GraphBuilder): void {
  for (const value of [...g.inputs, ...g.outputs]) {
    const dims = (value as { type: { tensorType: { shape: { dim: Record<string, unknown>[] } } } }).type.tensorType.shape.dim;
    for (const dim of dims) if (dim.dimParam === "batch*0+0") dim.dimParam = "sequence";
  }
}

/** A tokenizers-library tokenizer.json for a BERT WordPiece vocabulary. */
export function wordPieceTokenizer(vocab: string[]): Record<string, unknown> {
  const id = (token: string) => vocab.indexOf(token);
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: specialTokens.map((content) => ({ id: id(content), content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer: { type: "BertNormalizer", clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: "BertPreTokenizer" },
    post_processor: {
      type: "TemplateProcessing",
      single: [{ SpecialToken: { id: "[CLS]", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }, { SpecialToken: { id: "[SEP]", type_id: 0 } }],
      pair: [
        { SpecialToken: { id: "[CLS]", type_id: 0 } },
        { Sequence: { id: "A", type_id: 0 } },
        { SpecialToken: { id: "[SEP]", type_id: 0 } },
        { Sequence: { id: "B", type_id: 1 } },
        { SpecialToken: { id: "[SEP]", type_id: 1 } },
      ],
      special_tokens: {
        "[CLS]": { id: "[CLS]", ids: [id("[CLS]")], tokens: ["[CLS]"] },
        "[SEP]": { id: "[SEP]", ids: [id("[SEP]")], tokens: ["[SEP]"] },
      },
    },
    decoder: { type: "WordPiece", prefix: "##", cleanup: true },
    model: { type: "WordPiece", unk_token: "[UNK]", continuing_subword_prefix: "##", max_input_chars_per_word: 100, vocab: Object.fromEntries(vocab.map((token, i) => [token, i])) },
  };
}

export type TinyImageModel = { dir: string; hidden: number; imageSize: number; patches: number };

/** Writes a tiny ViT-style image encoder directory (RGB, `imageSize` square, `patch` square patches). */
export function writeTinyImageModel(dir: string, options: { hidden?: number; heads?: number; imageSize?: number; patch?: number; seed?: number } = {}): TinyImageModel {
  const hidden = options.hidden ?? 16;
  const heads = options.heads ?? 2;
  const imageSize = options.imageSize ?? 16;
  const patch = options.patch ?? 8;
  const side = imageSize / patch;
  const patches = side * side;
  const g = new GraphBuilder();
  const w = new Weights(g, options.seed ?? 101);
  g.graphInput("pixel_values", "float32", [{ a: 1, c: 0 }, 3, imageSize, imageSize]);
  const conv = g.op("Conv", ["pixel_values", w.tensor("patch.weight", [hidden, 3, patch, patch], 0.1), w.tensor("patch.bias", [hidden], 0.05)], {
    kernel_shape: [patch, patch],
    strides: [patch, patch],
  });
  const tokens = g.op("Transpose", [g.op("Reshape", [conv, g.int64s([0, hidden, patches])])], { perm: [0, 2, 1] });
  // [CLS] broadcast over the batch: Expand([1, 1, H]) to [B, 1, H]
  const batch = g.op("Slice", [g.op("Shape", ["pixel_values"]), g.int64s([0]), g.int64s([1])]);
  const clsShape = g.op("Concat", [batch, g.int64s([1, hidden])], { axis: 0 });
  const cls = g.op("Expand", [w.tensor("cls", [1, 1, hidden], 0.2), clsShape]);
  const withCls = g.op("Add", [g.op("Concat", [cls, tokens], { axis: 1 }), w.tensor("position", [1, patches + 1, hidden], 0.2)]);
  const hiddenStates = layerNorm(g, w, block(g, w, withCls, hidden, heads, hidden * 2, undefined), hidden, "final.norm");
  g.node("Identity", [hiddenStates], {}, ["last_hidden_state"]);
  const first = g.op("Squeeze", [g.op("Slice", [hiddenStates, g.int64s([0]), g.int64s([1]), g.int64s([1])]), g.int64s([1])]);
  g.node("Tanh", [dense(g, w, first, hidden, hidden, "pooler")], {}, ["pooler_output"]);
  g.graphOutput("last_hidden_state", "float32", [{ a: 1, c: 0 }, patches + 1, hidden]);
  g.graphOutput("pooler_output", "float32", [{ a: 1, c: 0 }, hidden]);

  mkdirSync(join(dir, "onnx"), { recursive: true });
  writeFileSync(join(dir, "onnx", "model.onnx"), encodeModel(g, { graphName: "tiny_vit" }));
  const json = (file: string, value: unknown) => writeFileSync(join(dir, file), JSON.stringify(value, null, 2));
  json("config.json", {
    architectures: ["ViTModel"],
    model_type: "vit",
    hidden_size: hidden,
    num_attention_heads: heads,
    num_hidden_layers: 1,
    intermediate_size: hidden * 2,
    image_size: imageSize,
    patch_size: patch,
    num_channels: 3,
  });
  json("preprocessor_config.json", {
    image_processor_type: "ViTImageProcessor",
    do_resize: true,
    size: { height: imageSize, width: imageSize },
    resample: 2,
    do_rescale: true,
    rescale_factor: 1 / 255,
    do_normalize: true,
    image_mean: [0.5, 0.5, 0.5],
    image_std: [0.5, 0.5, 0.5],
  });
  return { dir, hidden, imageSize, patches };
}
