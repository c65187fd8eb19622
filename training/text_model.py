"""Feedback text classifiers: character n-gram TF-IDF with a linear model, and two baselines.

Character n-grams need no word segmentation, so one model reads Chinese and English alike. The
baselines it must beat out of sample: the majority class, and keyword rules (a hand-written list
of words per class and sentiment in both languages, the way a support team tags texts by hand).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import SGDClassifier
from sklearn.metrics import accuracy_score, f1_score
from sklearn.pipeline import Pipeline

from core.errors import DataError

# Written from the domain's classes, not from the sample's templates; lower-case.
KEYWORDS: dict[str, tuple[str, ...]] = {
    "product_suggestion": ("suggest", "please add", "would be great", "wish", "建议", "希望", "增加", "优化"),
    "service_complaint": (
        "complain",
        "complaint",
        "slow",
        "no reply",
        "refund",
        "投诉",
        "太慢",
        "没人",
        "退款",
    ),
    "feature_question": ("how do", "how can", "where", "?", "请问", "怎么", "如何", "吗"),
    "other": ("invoice", "account", "promotion", "发票", "账户", "活动"),
    "negative": ("disappointed", "terrible", "bad", "awful", "frustrat", "失望", "差", "生气", "糟糕"),
    "positive": ("love", "great", "satisfied", "thanks", "nice", "喜欢", "满意", "好评", "谢谢", "不错"),
}


def _texts(X) -> pd.Series:
    """Texts from a Series, a list or a frame with a `text` column; missing texts become ''."""
    if isinstance(X, pd.DataFrame):
        if "text" not in X:
            raise DataError("expected a `text` column")
        X = X["text"]
    return pd.Series(X, dtype="string").fillna("").reset_index(drop=True)


class TextClassifier:
    """TF-IDF of character 1-4-grams within word boundaries, then a logistic-loss linear model fitted
    by stochastic gradient descent (one pass over the data costs what lbfgs needs per iteration)."""

    def __init__(
        self, ngram_range: tuple[int, int] = (1, 4), alpha: float = 1e-5, min_df: int = 2, seed: int = 0
    ) -> None:
        self.ngram_range = ngram_range
        self.alpha = alpha
        self.min_df = min_df
        self.seed = seed

    def __repr__(self) -> str:
        return (
            f"TextClassifier(ngram_range={self.ngram_range}, alpha={self.alpha}, min_df={self.min_df}, "
            f"seed={self.seed})"
        )

    def fit(self, X, y) -> TextClassifier:
        texts = _texts(X)
        self.pipeline_ = Pipeline(
            [
                (
                    "tfidf",
                    TfidfVectorizer(
                        analyzer="char_wb",
                        ngram_range=self.ngram_range,
                        min_df=self.min_df,
                        sublinear_tf=True,
                        lowercase=True,
                    ),
                ),
                (
                    "linear",
                    SGDClassifier(
                        loss="log_loss", alpha=self.alpha, class_weight="balanced", random_state=self.seed
                    ),
                ),
            ]
        ).fit(texts, np.asarray(y, dtype=object))
        # The n-grams dropped for rarity are pieces of single texts: they are not kept in the model.
        self.pipeline_.named_steps["tfidf"].stop_words_ = None
        self.classes_ = self.pipeline_.classes_
        return self

    def predict(self, X) -> np.ndarray:
        return self.pipeline_.predict(_texts(X))

    def predict_proba(self, X) -> np.ndarray:
        return self.pipeline_.predict_proba(_texts(X))

    def evaluate(self, frame: pd.DataFrame) -> dict[str, float]:
        """Macro F1 and accuracy on a frame with `text` and `label` columns."""
        return scores(frame["label"], self.predict(frame))


class MajorityClassifier:
    """Always the most frequent training label."""

    def fit(self, X, y) -> MajorityClassifier:
        values, counts = np.unique(np.asarray(y, dtype=object), return_counts=True)
        self.label_ = values[np.argmax(counts)]
        return self

    def predict(self, X) -> np.ndarray:
        return np.full(len(_texts(X)), self.label_, dtype=object)


class KeywordClassifier:
    """The label whose keywords occur most often in the text; the majority label without a hit.

    Only labels with a keyword list take part; others are reached through the majority fallback.
    """

    def __init__(self, keywords: dict[str, tuple[str, ...]] | None = None) -> None:
        self.keywords = KEYWORDS if keywords is None else keywords

    def fit(self, X, y) -> KeywordClassifier:
        self.fallback_ = MajorityClassifier().fit(X, y).label_
        labels = set(np.asarray(y, dtype=object))
        self.labels_ = [k for k in self.keywords if k in labels]
        return self

    def predict(self, X) -> np.ndarray:
        texts = _texts(X).str.lower()
        if not self.labels_:
            return np.full(len(texts), self.fallback_, dtype=object)
        hits = np.column_stack(
            [sum(texts.str.count(_escape(w)).to_numpy() for w in self.keywords[k]) for k in self.labels_]
        )
        best = np.array(self.labels_, dtype=object)[hits.argmax(axis=1)]
        return np.where(hits.max(axis=1) > 0, best, self.fallback_)


def _escape(word: str) -> str:
    import re

    return re.escape(word)


def scores(y_true, y_pred) -> dict[str, float]:
    y_true = np.asarray(y_true, dtype=object)
    y_pred = np.asarray(y_pred, dtype=object)
    return {
        "macro_f1": float(f1_score(y_true, y_pred, average="macro", zero_division=0)),
        "accuracy": float(accuracy_score(y_true, y_pred)),
    }


def time_split(frame: pd.DataFrame, test_share: float = 0.2) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train on the older texts and test on the newest `test_share` (out of sample and of time)."""
    ordered = frame.sort_values("ts", kind="stable").reset_index(drop=True)
    cut = int(round(len(ordered) * (1 - test_share)))
    return ordered.iloc[:cut].reset_index(drop=True), ordered.iloc[cut:].reset_index(drop=True)


def compare(train: pd.DataFrame, test: pd.DataFrame, model: TextClassifier | None = None) -> dict:
    """Fit the model and both baselines on `train` (text, label), score them on `test`."""
    model = model or TextClassifier()
    fitted = {
        "model": model.fit(train["text"], train["label"]),
        "majority": MajorityClassifier().fit(train["text"], train["label"]),
        "keywords": KeywordClassifier().fit(train["text"], train["label"]),
    }
    results = {name: scores(test["label"], m.predict(test["text"])) for name, m in fitted.items()}
    return {
        "macro_f1": {name: round(r["macro_f1"], 4) for name, r in results.items()},
        "accuracy": {name: round(r["accuracy"], 4) for name, r in results.items()},
        "fitted": fitted,
    }


def annotate(frame: pd.DataFrame, class_model=None, sentiment_model=None) -> pd.DataFrame:
    """`pred_class` and `pred_sentiment` for the rows with a text (NA elsewhere)."""
    out = frame.copy()
    has = out["text"].notna() & (out["text"].astype("string").str.strip() != "") if "text" in out else None
    for col, model in (("pred_class", class_model), ("pred_sentiment", sentiment_model)):
        if model is None or has is None:
            continue
        values = pd.Series(pd.NA, index=out.index, dtype="string")
        if has.any():
            values[has] = model.predict(out.loc[has, "text"])
        out[col] = values
    return out
