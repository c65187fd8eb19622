"""/score answered from the day's list equals scoring the customer, and is refused when it would not."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from serving.answers import clean
from serving.scoring import score_customers
from serving.small_batch import same_answers
from serving.stored_answers import StoredAnswers
from tests.serving.test_small_batch import _blend, _stored, fitted  # noqa: F401 (a fixture)

TERMS = {"base_rate": 0.3, "lapsed_after_days": 20.0}


def _day(model, settings, vectors, version=3, list_of=None):
    """A loaded day as the service holds it: its list made by the daily job's function."""
    at_risk = score_customers(model, list_of if list_of is not None else vectors, settings, **TERMS)
    return SimpleNamespace(
        at_risk=at_risk, vectors=vectors, models={"churn": {"name": "needradar-churn", "version": version}}
    )


def _churn(model, version=3):
    return SimpleNamespace(model=model, name="needradar-churn", version=version)


@pytest.mark.parametrize("weight", [0.0, 0.25])
def test_list_answers_equal_scoring_each_customer(fitted, settings, weight):  # noqa: F811
    model = _blend(fitted, weight)
    vectors = _stored(4)
    answers = StoredAnswers.build(_churn(model), _day(model, settings, vectors), settings, **TERMS)
    assert answers is not None
    ids = list(vectors.index)
    got = answers.answer(ids[::-1])
    assert list(got) == ids[::-1]
    for i in [ids[0], ids[50], ids[-1]]:  # one customer at a time, as /score scores it
        expected = score_customers(model, vectors.loc[[i]].reset_index(drop=True), settings, **TERMS)
        assert same_answers([clean(r) for r in expected.to_dict("records")], [clean(got[i])], tol=1e-12)
    assert "nobody" not in answers and ids[3] in answers


def test_list_of_another_model_or_customers_is_not_used(fitted, settings):  # noqa: F811
    model = _blend(fitted, 0.0)
    vectors = _stored(5)
    day = _day(model, settings, vectors, version=2)
    assert StoredAnswers.build(_churn(model, version=3), day, settings, **TERMS) is None
    partial = _day(model, settings, vectors, list_of=vectors.iloc[:-1])
    assert StoredAnswers.build(_churn(model), partial, settings, **TERMS) is None


def test_list_that_differs_from_scoring_now_is_not_used(fitted, settings):  # noqa: F811
    """A day listed under another playbook (here: another action) is scored again instead."""
    model = _blend(fitted, 0.0)
    vectors = _stored(6)
    day = _day(model, settings, vectors)
    day.at_risk["action"] = "an action of an older config"
    assert StoredAnswers.build(_churn(model), day, settings, **TERMS) is None
