#!/usr/bin/env python3
"""scikit-learn side of `npm run bench:text-baseline`: a word TF-IDF
(TfidfVectorizer, binary term frequency, smooth idf, rows L2-normalised) multinomial logistic
regression on the same rows and the same words as fusionkit's linear:text
(bench/textBaseline.ts writes them pre-tokenised, one space between words),
C chosen on validation accuracy from a grid. Prints one RESULT line per C and
the chosen one. Needs Debian's python3-sklearn."""
import json, sys
import sklearn
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
