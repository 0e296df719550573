#!/usr/bin/env python3
"""scikit-learn side of `npm run bench:text-baseline`: a word TF-IDF
(TfidfVectorizer, binary term frequency, smooth idf, rows L2-normalised) multinomial logistic
regression on the same rows and the same words as fusionkit's linear:text
(bench/textBaseline.ts writes them pre-tokenised, one space between words),
C chosen on validation accuracy from a grid. Prints one RESULT line per C and
the chosen one. Rows with a "raw" text (--subwords) also get character n-gram
variants, each with its C chosen on validation: one SUBWORDS line each.
Needs Debian's python3-sklearn."""
import json, sys
import sklearn
from scipy.sparse import hstack
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

rows = json.load(open(sys.argv[1]))
split = {s: [r for r in rows if r["split"] == s] for s in ("train", "val", "test")}
text = lambda s: [r["words"] for r in split[s]]
label = lambda s: [r["label"] for r in split[s]]
# the words are fusionkit's tokens already: split on spaces only, keep one-letter words
vectorizer = TfidfVectorizer(token_pattern=r"\S+", lowercase=False, binary=True).fit(text("train"))
x = {s: vectorizer.transform(text(s)) for s in split}
print(f"scikit-learn {sklearn.__version__}: {x['train'].shape[1]} vocabulary words from train")
best = None
for C in (0.3, 1, 3, 10, 30, 100, 300):
    model = LogisticRegression(C=C, max_iter=5000).fit(x["train"], label("train"))
    val, test = model.score(x["val"], label("val")), model.score(x["test"], label("test"))
    print(f"RESULT C={C} val={val:.4f} test={test:.4f}")
    if best is None or val > best[1]:
        best = (C, val, test)
print(f"CHOSEN C={best[0]} val={best[1]:.4f} test={best[2]:.4f}")

def chosen(vectorizers, field):
    for v in vectorizers:
        v.fit([r[field] for r in split["train"]])
    feats = {s: hstack([v.transform([r[field] for r in split[s]]) for v in vectorizers]).tocsr() for s in split}
    top = None
    for C in (0.3, 1, 3, 10, 30, 100, 300):
        model = LogisticRegression(C=C, max_iter=5000).fit(feats["train"], label("train"))
        val = model.score(feats["val"], label("val"))
        if top is None or val > top[1]:
            top = (C, val, model.score(feats["test"], label("test")), feats["train"].shape[1])
    return top

if all("raw" in r for r in rows):
    # sklearn's own word tokens of the raw text (unknown words included, lowercased), then character n-grams inside word boundaries
    words = lambda: TfidfVectorizer(token_pattern=r"(?u)\b\w+\b", binary=True)
    chars = lambda lo, hi: TfidfVectorizer(analyzer="char_wb", ngram_range=(lo, hi), binary=True)
    for name, vectorizers in (
        ("raw words", [words()]),
        ("char_wb 2-5", [chars(2, 5)]),
        ("char_wb 3-5", [chars(3, 5)]),
        ("raw words + char_wb 3-5", [words(), chars(3, 5)]),
        ("raw words + char_wb 2-4", [words(), chars(2, 4)]),
    ):
        C, val, test, dim = chosen(vectorizers, "raw")
        print(f"SUBWORDS {name}: {dim} features, C={C} val={val:.4f} test={test:.4f}")
