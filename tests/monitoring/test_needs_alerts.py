"""Hot spots, their forecasts, negative feedback and the class mix, on constructed data."""

from __future__ import annotations

import numpy as np
import pandas as pd

from monitoring.needs_alerts import (
    class_mix,
    class_mix_alerts,
    hot_spot_alerts,
    hot_spots,
    negative_rate_alerts,
    negative_rates,
    requirement_pair,
)

DAY = pd.Timestamp("2026-03-10")


def requests(counts: dict[tuple[str, str], list[int]]) -> pd.DataFrame:
    """Requests per (area, type): counts[k] made on DAY - k, at noon."""
    rows = []
    for (area, type_), per_day in counts.items():
        for k, n in enumerate(per_day):
            rows += [(area, type_, DAY - pd.Timedelta(days=k) + pd.Timedelta(hours=12))] * n
    df = pd.DataFrame(rows, columns=["product_area", "type", "ts"])
    df["request_id"] = [f"R{i}" for i in range(len(df))]
    return df


def test_an_area_with_30_improvement_requests_in_a_week_is_hot(settings):
    req = requests(
        {
            ("billing", "improvement_suggestion"): [5, 5, 4, 4, 4, 4, 4, 9],  # 30 in the 7 days to DAY
            ("reporting", "improvement_suggestion"): [5, 5, 4, 4, 4, 4, 3],  # 29
            ("mobile_app", "feature_suggestion"): [10] * 7,  # 70, but not the counted type
        }
    )
    spots = hot_spots(req, None, DAY, settings).set_index("product_area")
    assert spots.loc["billing", "requests"] == 30 and spots.loc["billing", "hot"]
    assert spots.loc["reporting", "requests"] == 29 and not spots.loc["reporting", "hot"]
    assert not spots.loc["mobile_app", "hot"]
    alerts = hot_spot_alerts(spots.reset_index(), DAY, settings)
    assert [(a.subject, a.level, a.kind) for a in alerts] == [
        (
            "requirements/improvement_suggestion/billing",
            "orange",
            "needs",
        )
    ]
    # Requests after the day are not known on it.
    later = requests({("reporting", "improvement_suggestion"): [0]})
    later["ts"] = DAY + pd.Timedelta(days=1, hours=1)
    spots = hot_spots(pd.concat([req, later]), None, DAY, settings).set_index("product_area")
    assert spots.loc["reporting", "requests"] == 29


def test_the_forecast_says_when_an_area_will_cross(settings):
    req = requests(
        {("reporting", "improvement_suggestion"): [3] * 7, ("billing", "improvement_suggestion"): [1] * 7}
    )
    days = pd.date_range(DAY + pd.Timedelta(days=1), periods=14)
    fc = pd.concat(
        [
            pd.DataFrame(
                {
                    "series_id": "requirements/improvement_suggestion/reporting",
                    "ds": days,
                    "yhat": 4.5,
                    "yhat_lower": 3.5,
                    "yhat_upper": 5.5,
                }
            ),
            pd.DataFrame(
                {
                    "series_id": "requirements/type=improvement_suggestion|product_area=billing",
                    "ds": days,
                    "yhat": 1.0,
                    "yhat_lower": 0.5,
                    "yhat_upper": 2.0,
                }
            ),
        ]
    )
    spots = hot_spots(req, fc, DAY, settings).set_index("product_area")
    # Window to DAY+k: 3 * (7 - k) known + 4.5 * k expected; reaches 30 first at k = 6 (3 + 27).
    assert spots.loc["reporting", "expected_day"] == f"{DAY + pd.Timedelta(days=6):%Y-%m-%d}"
    assert spots.loc["reporting", "expected"] == 30.0
    assert (spots.loc["reporting", "expected_lower"], spots.loc["reporting", "expected_upper"]) == (
        24.0,
        36.0,
    )
    assert spots.loc["billing", "expected_day"] is None
    alerts = hot_spot_alerts(spots.reset_index(), DAY, settings)
    assert len(alerts) == 1 and alerts[0].level == "yellow"
    assert "expected to reach 30" in alerts[0].message and "80% interval 24-36" in alerts[0].message


def test_series_ids_of_both_spellings_are_read():
    assert requirement_pair("requirements/problem_report/billing") == ("problem_report", "billing")
    assert requirement_pair("requirements/type=problem_report|product_area=billing") == (
        "problem_report",
        "billing",
    )
    assert requirement_pair("requirements/total") is None
    assert requirement_pair("requirements/type=problem_report") is None
    assert requirement_pair("tickets/app/logistics_delay") is None


def feedback(per_area: dict[str, tuple[int, int]], baseline_negative: float = 0.04) -> pd.DataFrame:
    """(texts, negative) per area on DAY, and 30 days before with the given negative share."""
    rng = np.random.default_rng(0)
    rows = []
    for area, (n, neg) in per_area.items():
        rows += [
            (area, DAY + pd.Timedelta(hours=10), "negative" if i < neg else "positive") for i in range(n)
        ]
        for d in range(1, 31):
            for _ in range(20):
                s = "negative" if rng.random() < baseline_negative else "neutral"
                rows.append((area, DAY - pd.Timedelta(days=d, hours=-9), s))
    df = pd.DataFrame(rows, columns=["product_area", "ts", "text_sentiment"])
    return df.assign(text_class="other")


def test_negative_feedback_above_5_percent_in_24h_alerts(settings):
    fb = feedback({"billing": (40, 2), "reporting": (40, 3), "mobile_app": (10, 5), "integrations": (40, 12)})
    rates = negative_rates(fb, DAY, settings).set_index("product_area")
    assert rates.loc["billing", "rate"] == 0.05 and rates.loc["reporting", "rate"] == 0.075
    alerts = {a.subject: a for a in negative_rate_alerts(rates.reset_index(), DAY, settings)}
    assert set(alerts) == {"feedback/area=reporting", "feedback/area=integrations"}  # 5% is not above it
    assert alerts["feedback/area=integrations"].level == "red"  # 30% vs a usual 4%
    assert alerts["feedback/area=reporting"].level == "orange"  # 7.5% vs about 4%
    # A prediction of the text model wins over the human label.
    fb["pred_sentiment"] = "neutral"
    assert negative_rates(fb, DAY, settings)["negative"].sum() == 0


def test_class_mix_against_the_configured_shares(settings):
    classes = (
        ["product_suggestion"] * 38 + ["service_complaint"] * 29 + ["feature_question"] * 23 + ["other"] * 10
    )
    fb = pd.DataFrame({"ts": DAY - pd.Timedelta(days=2), "text_class": classes, "product_area": "billing"})
    assert class_mix_alerts(class_mix(fb, DAY, settings), DAY, settings) == []
    skewed = fb.assign(text_class=["service_complaint"] * 60 + classes[60:])
    mix = class_mix(skewed, DAY, settings)
    alerts = class_mix_alerts(mix, DAY, settings)
    # 67% complaints and no suggestions; questions and other keep their shares.
    assert {a.subject for a in alerts} == {
        "feedback/class=service_complaint",
        "feedback/class=product_suggestion",
    }
    assert mix["share"].sum() == 1.0
