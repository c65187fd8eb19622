"""The text model against its baselines, out of sample, on the sample's labelled texts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from training.text_model import (
    KeywordClassifier,
    MajorityClassifier,
    TextClassifier,
    annotate,
    compare,
    scores,
    time_split,
)


def labelled(sample, col: str) -> pd.DataFrame:
    parts = [sample.events.feedback, sample.events.tickets]
    frame = pd.concat([p[["ts", "text", col]] for p in parts], ignore_index=True).dropna()
    return frame.rename(columns={col: "label"})


def assert_beats_baselines(train: pd.DataFrame, test: pd.DataFrame, model) -> dict:
    """The acceptance rule: macro F1 out of sample above both baselines by a clear margin."""
    result = compare(train, test, model)
    f1 = result["macro_f1"]
    assert f1["model"] > f1["majority"] + 0.1, f1
    assert f1["model"] > f1["keywords"] + 0.05, f1
    return result


@pytest.mark.parametrize("col", ["text_class", "text_sentiment"])
def test_the_text_model_beats_both_baselines_out_of_sample(sample, col):
    train, test = time_split(labelled(sample, col))
    assert train["ts"].max() <= test["ts"].min()  # the newest texts are held out
    result = assert_beats_baselines(train, test, TextClassifier())
    assert result["macro_f1"]["model"] > 0.8


class AlwaysMajority(MajorityClassifier):
    """A "model" that always says the majority class."""

    classes_ = np.array([])


def test_a_classifier_that_always_says_the_majority_class_fails(sample):
    train, test = time_split(labelled(sample, "text_class"))
    with pytest.raises(AssertionError):
        assert_beats_baselines(train, test, AlwaysMajority())


def test_baselines_do_what_they_say():
    texts = pd.Series(["请问怎么导出？", "I want to complain, support is slow", "hello", "建议增加导出"])
    y = ["feature_question", "service_complaint", "other", "other"]
    assert list(MajorityClassifier().fit(texts, y).predict(texts)) == ["other"] * 4
    kw = KeywordClassifier().fit(texts, y)
    assert list(kw.predict(texts)) == ["feature_question", "service_complaint", "other", "other"]
    assert scores(["a", "b"], ["a", "a"])["accuracy"] == 0.5


def test_annotate_predicts_only_rows_with_text(sample):
    fb = sample.events.feedback.head(200).copy()
    fb.loc[fb.index[:5], "text"] = None
    model = TextClassifier().fit(fb["text"].fillna(""), fb["text_sentiment"])
    out = annotate(fb, sentiment_model=model)
    assert out["pred_sentiment"].isna().sum() == 5 and "pred_class" not in out
    assert set(out["pred_sentiment"].dropna()) <= {"negative", "neutral", "positive"}
