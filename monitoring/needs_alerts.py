"""Needs and feedback alerts: weekly requirement hot spots, their forecasts, negative feedback.

Rules (documented in docs/needs.md):
- hot spot (orange, high priority): a product area collected at least
  `requirements.hot_feature_weekly_requests` requests of type `needs.hot_type` in the 7 days
  ending on the as-of day;
- expected hot spot (yellow): not hot yet, but the 7 days ending on some day of the next
  `needs.hot_forecast_days` are expected to reach it: the known days plus the forecast's `yhat`,
  with the days' interval bounds added up as the (conservative) interval of the week;
- negative feedback (yellow, orange, red): a product area's share of negative texts on the as-of
  day is above `alerts.negative_review_rate` (5% in 24 h) with at least `needs.negative_rate_min_texts`
  texts; orange at 1.5x and red at 2.5x the area's own rate over the last `alerts.baseline_weeks`;
- class mix (yellow): a class's share of the last 7 days' texts is more than
  `needs.class_mix_tolerance` away from `tickets.feedback_mix`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.config import Settings
from features.aggregate import cutoff_of
from features.text_features import label_of
from monitoring.alerts import Alert, make_alert


def requirement_pair(series_id: str) -> tuple[str, str] | None:
    """(type, product_area) of a requirement series id; None for totals and one-way series.

    Reads both `requirements/<type>/<area>` (features/volume_series.py) and
    `requirements/type=<type>|product_area=<area>`.
    """
    family, _, rest = series_id.partition("/")
    if family != "requirements" or not rest:
        return None
    if "type=" in rest and "product_area=" in rest:
        keys = dict(part.split("=", 1) for part in rest.split("|") if "=" in part)
        return keys["type"], keys["product_area"]
    parts = rest.split("/")
    return (parts[0], parts[1]) if len(parts) == 2 and "=" not in rest else None


def weekly_requests(requirements: pd.DataFrame, as_of, days: int = 7) -> pd.DataFrame:
    """Requests per product area and type in the `days` days ending on `as_of` (all pairs seen)."""
    cutoff = cutoff_of(as_of)
    known = requirements[requirements["ts"] < cutoff]
    recent = known[known["ts"] >= cutoff - pd.Timedelta(days=days)]
    counts = recent.groupby(["product_area", "type"], observed=True).size()
    pairs = known[["product_area", "type"]].drop_duplicates()
    out = pairs.merge(counts.rename("requests").reset_index(), on=["product_area", "type"], how="left")
    out["requests"] = out["requests"].fillna(0).astype(int)
    return out.sort_values(
        ["requests", "product_area", "type"], ascending=[False, True, True], ignore_index=True
    )


def hot_spots(
    requirements: pd.DataFrame, forecast: pd.DataFrame | None, as_of, settings: Settings
) -> pd.DataFrame:
    """Per product area and type: requests in the last 7 days, whether it is hot, and when the
    forecast expects it to reach the threshold (day, expected count and interval of that week)."""
    day = pd.Timestamp(as_of).normalize()
    threshold = settings.requirements.hot_feature_weekly_requests
    weekly = weekly_requests(requirements, day)
    weekly["threshold"] = threshold
    weekly["hot"] = (weekly["type"] == settings.needs.hot_type) & (weekly["requests"] >= threshold)
    for col in ("expected_day", "expected", "expected_lower", "expected_upper"):
        weekly[col] = None if col == "expected_day" else np.nan
    if forecast is None or forecast.empty:
        return weekly
    horizon = settings.needs.hot_forecast_days
    known = requirements[
        (requirements["ts"] < cutoff_of(day)) & (requirements["ts"] >= day - pd.Timedelta(days=6))
    ]
    daily = known.assign(ds=known["ts"].dt.normalize()).groupby(["product_area", "type", "ds"]).size()
    for sid, fc in forecast.groupby("series_id"):
        pair = requirement_pair(str(sid))
        if pair is None:
            continue
        rows = weekly.index[(weekly["type"] == pair[0]) & (weekly["product_area"] == pair[1])]
        if len(rows) == 0 or weekly.loc[rows[0], "hot"] or pair[0] != settings.needs.hot_type:
            continue
        crossing = _first_crossing(daily, pair, fc, day, horizon, threshold)
        if crossing is not None:
            weekly.loc[rows[0], ["expected_day", "expected", "expected_lower", "expected_upper"]] = crossing
    return weekly


def _first_crossing(
    daily: pd.Series, pair, fc: pd.DataFrame, day: pd.Timestamp, horizon: int, threshold: int
):
    """The first day within `horizon` whose 7-day window is expected to reach `threshold`."""
    type_, area = pair
    try:
        known = {pd.Timestamp(d): float(v) for d, v in daily.xs((area, type_), level=(0, 1)).items()}
    except KeyError:
        known = {}
    fc = fc.set_index("ds")
    for k in range(1, horizon + 1):
        end = day + pd.Timedelta(days=k)
        window = [end - pd.Timedelta(days=j) for j in range(7)]
        past = sum(known.get(d, 0.0) for d in window if d <= day)
        ahead = fc.reindex([d for d in window if d > day])
        if ahead["yhat"].isna().any():
            return None  # the forecast does not reach that far
        expected = past + float(ahead["yhat"].clip(lower=0).sum())
        if expected >= threshold:
            lower = past + float(ahead["yhat_lower"].clip(lower=0).sum())
            upper = past + float(ahead["yhat_upper"].clip(lower=0).sum())
            return [f"{end:%Y-%m-%d}", round(expected, 1), round(lower, 1), round(upper, 1)]
    return None


def hot_spot_alerts(spots: pd.DataFrame, as_of, settings: Settings) -> list[Alert]:
    """Orange alerts for hot areas, yellow ones for areas the forecast expects to become hot."""
    day = pd.Timestamp(as_of).normalize()
    alerts = []
    for r in spots.itertuples():
        subject = f"requirements/{r.type}/{r.product_area}"
        if r.hot:
            alerts.append(
                make_alert(
                    "needs",
                    "orange",
                    subject,
                    day,
                    f"{r.product_area}: {r.requests} {r.type.replace('_', ' ')}s in the 7 days to "
                    f"{day:%Y-%m-%d} (high priority from {r.threshold} a week)",
                    settings,
                    actual=r.requests,
                    expected=r.threshold,
                    rule="hot_spot",
                )
            )
        elif isinstance(r.expected_day, str):
            alerts.append(
                make_alert(
                    "needs",
                    "yellow",
                    subject,
                    day,
                    f"{r.product_area}: expected to reach {r.threshold} {r.type.replace('_', ' ')}s in the "
                    f"week to {r.expected_day} ({r.expected:.0f} expected, "
                    f"{settings.forecast.interval_level:.0%} interval "
                    f"{r.expected_lower:.0f}-{r.expected_upper:.0f})",
                    settings,
                    actual=r.requests,
                    expected=r.expected,
                    rule="expected_hot_spot",
                    evidence={
                        "week_ending": r.expected_day,
                        "lower": r.expected_lower,
                        "upper": r.expected_upper,
                    },
                )
            )
    return alerts


def negative_rates(feedback: pd.DataFrame, as_of, settings: Settings) -> pd.DataFrame:
    """Per product area: texts and negative ones on the as-of day, the rate, and the area's daily
    rate over the `alerts.baseline_weeks` weeks before (the baseline)."""
    sentiment = label_of(feedback, "sentiment")
    cols = ["product_area", "texts", "negative", "rate", "baseline_rate"]
    if sentiment is None or "product_area" not in feedback:
        return pd.DataFrame(columns=cols)
    cutoff = cutoff_of(as_of)
    start = cutoff - pd.Timedelta(weeks=settings.alerts.baseline_weeks) - pd.Timedelta(days=1)
    df = pd.DataFrame(
        {
            "product_area": feedback["product_area"],
            "ts": feedback["ts"],
            "negative": (sentiment == "negative").astype(float),
        }
    )[sentiment.notna() & feedback["product_area"].notna()]
    df = df[(df["ts"] < cutoff) & (df["ts"] >= start)]
    today = df["ts"] >= cutoff - pd.Timedelta(days=1)
    now = df[today].groupby("product_area")["negative"].agg(texts="size", negative="sum")
    before = df[~today].groupby("product_area")["negative"].mean().rename("baseline_rate")
    out = now.join(before, how="left").reset_index()
    out["rate"] = out["negative"] / out["texts"]
    return out[cols].sort_values("rate", ascending=False, ignore_index=True)


def negative_rate_alerts(rates: pd.DataFrame, as_of, settings: Settings) -> list[Alert]:
    """The domain's rule: a product's negative-feedback rate above 5% within 24 h."""
    day = pd.Timestamp(as_of).normalize()
    limit = settings.alerts.negative_review_rate
    alerts = []
    for r in rates.itertuples():
        if r.texts < settings.needs.negative_rate_min_texts or r.rate <= limit:
            continue
        base = r.baseline_rate if np.isfinite(r.baseline_rate) and r.baseline_rate > 0 else np.nan
        ratio = r.rate / base if np.isfinite(base) else np.nan
        level = "red" if ratio >= 2.5 else "orange" if ratio >= 1.5 else "yellow"
        alerts.append(
            make_alert(
                "feedback",
                level,
                f"feedback/area={r.product_area}",
                day,
                f"{r.product_area}: {r.rate:.0%} of {r.texts:.0f} feedback texts on {day:%Y-%m-%d} were "
                f"negative (alert above {limit:.0%}; usual rate {base:.0%})",
                settings,
                actual=r.rate,
                expected=None if not np.isfinite(base) else base,
                rule=level,
                evidence={"texts": int(r.texts), "negative": int(r.negative)},
            )
        )
    return alerts


def class_mix(feedback: pd.DataFrame, as_of, settings: Settings, weeks: int = 12) -> pd.DataFrame:
    """Share of each class per week (weeks ending on the as-of day) beside the configured share."""
    classes = label_of(feedback, "class")
    expected = settings.tickets.feedback_mix
    if classes is None:
        return pd.DataFrame(columns=["week_ending", "text_class", "texts", "share", "expected", "gap"])
    cutoff = cutoff_of(as_of)
    df = pd.DataFrame({"ts": feedback["ts"], "text_class": classes})[classes.notna()]
    df = df[(df["ts"] < cutoff) & (df["ts"] >= cutoff - pd.Timedelta(weeks=weeks))]
    weeks_back = ((cutoff - df["ts"]) / pd.Timedelta(weeks=1)).astype(int)
    df = df.assign(week_ending=(cutoff - pd.Timedelta(days=1) - pd.to_timedelta(7 * weeks_back, unit="D")))
    counts = df.groupby(["week_ending", "text_class"]).size().unstack(fill_value=0)
    for cls in expected:
        if cls not in counts:
            counts[cls] = 0
    long = counts.stack().rename("texts").reset_index()
    long["share"] = long["texts"] / long.groupby("week_ending")["texts"].transform("sum")
    long["expected"] = long["text_class"].map(expected)
    long["gap"] = long["share"] - long["expected"]
    return long.sort_values(["week_ending", "text_class"], ignore_index=True)


def class_mix_alerts(mix: pd.DataFrame, as_of, settings: Settings) -> list[Alert]:
    """Yellow alerts for classes whose share in the last week is far from the configured mix."""
    if mix.empty:
        return []
    day = pd.Timestamp(as_of).normalize()
    last = mix[mix["week_ending"] == mix["week_ending"].max()]
    tol = settings.needs.class_mix_tolerance
    return [
        make_alert(
            "feedback",
            "yellow",
            f"feedback/class={r.text_class}",
            day,
            f"{r.text_class.replace('_', ' ')}: {r.share:.0%} of last week's feedback texts "
            f"(usually {r.expected:.0%})",
            settings,
            actual=r.share,
            expected=r.expected,
            rule="class_mix",
        )
        for r in last.itertuples()
        if np.isfinite(r.expected) and abs(r.gap) > tol
    ]
