"""Plain-language reasons and the retention playbook: action, channel and cost per customer."""

from __future__ import annotations

import functools
import math
import re

import numpy as np

from core.config import Settings
from features.text_features import REASON_TEMPLATES as TEXT_REASON_TEMPLATES


def _words(slug: str) -> str:
    return slug.replace("_", " ")


def _trend(value: float, days: str) -> str:
    change = (value - 1) * 100
    return f"usage {'down' if change < 0 else 'up'} {abs(change):.0f}% vs the previous {days} days"


# (pattern, sentence) pairs; the first pattern that matches the feature name is used.
TEMPLATES: list[tuple[str, object]] = [
    (r"tickets_unresolved_(\d+)d", lambda v, m: f"{v:g} unresolved tickets opened in the last {m[1]} days"),
    (r"tickets_open$", lambda v, m: f"{v:g} tickets still open"),
    (
        r"ticket_sla_breaches_(\d+)d",
        lambda v, m: f"{v:g} tickets answered after the SLA deadline in {m[1]} days",
    ),
    (r"tickets_(\d+)d", lambda v, m: f"{v:g} tickets in the last {m[1]} days"),
    (r"tickets_days_since_last", lambda v, m: f"last ticket {v:.0f} days ago"),
    (r"tickets_(.+)_(\d+)d", lambda v, m: f"{v:g} {_words(m[1])} tickets in {m[2]} days"),
    (r"first_response_hours_mean_(\d+)d", lambda v, m: f"first response took {v:.1f} h on average"),
    (r"resolution_hours_mean_(\d+)d", lambda v, m: f"tickets took {v / 24:.1f} days to resolve on average"),
    (r"ticket_reopen_rate_(\d+)d", lambda v, m: f"{v:.0%} of resolved tickets were reopened"),
    (r"csat_last", lambda v, m: f"last ticket satisfaction {v:.0f}/5"),
    (r"csat_survey_last", lambda v, m: f"last survey satisfaction {v:.0f}/5"),
    (r"req_oldest_open_days", lambda v, m: f"oldest open request waiting {v:.0f} days"),
    (r"req_open_over_30d", lambda v, m: f"{v:g} requests open for more than 30 days"),
    (r"req_open$", lambda v, m: f"{v:g} open requests"),
    (r"req_resolved_share_(\d+)d", lambda v, m: f"only {v:.0%} of requests resolved in {m[1]} days"),
    (r"req_rejected_(\d+)d", lambda v, m: f"{v:g} requests rejected in {m[1]} days"),
    (r"usage_\w+_trend_(\d+)d", lambda v, m: _trend(v, m[1])),
    (r"usage_(sessions|minutes)_(\d+)d", lambda v, m: f"{v:g} {m[1]} of use in the last {m[2]} days"),
    (
        r"usage_drop_flag",
        lambda v, m: "usage time fell more than 20% three days in a row" if v else "no usage drop",
    ),
    (
        r"usage_low_flag",
        lambda v, m: "usage far below average and no contact for 3 months" if v else "usage normal",
    ),
    (r"(usage_days_since_last|days_since_last_activity)", lambda v, m: f"no activity for {v:.0f} days"),
    (r"days_since_last_interaction", lambda v, m: f"no contact with us for {v:.0f} days"),
    (r"feedback_days_since_last", lambda v, m: f"last survey answer {v:.0f} days ago"),
    (
        r"monthly_fee_vs_plan",
        lambda v, m: f"fee {abs(v - 1):.0%} {'above' if v >= 1 else 'below'} the plan average",
    ),
    (r"monthly_fee", lambda v, m: f"monthly fee {v:.2f}"),
    (r"promo_share_(\d+)d", lambda v, m: f"{v:.0%} of purchases on promotion"),
    (r"nps_last", lambda v, m: f"last NPS answer {v:.0f}/10"),
    (r"nps_trend", lambda v, m: f"NPS answer changed by {v:+.0f}"),
    (
        r"spend_trend_(\d+)d",
        lambda v, m: f"spend {'down' if v < 1 else 'up'} {abs(v - 1):.0%} vs the previous {m[1]} days",
    ),
    (r"spend_(\d+)d", lambda v, m: f"spent {v:,.0f} in the last {m[1]} days"),
    (r"(rfm_recency_days)", lambda v, m: f"last purchase {v:.0f} days ago"),
    (r"txn_count_(\d+)d", lambda v, m: f"{v:g} purchases in the last {m[1]} days"),
    (r"tenure_days", lambda v, m: f"customer for {v:.0f} days"),
    (r"txn_first_days", lambda v, m: f"first purchase {v:.0f} days ago"),
    (r"txn_mean_gap_days", lambda v, m: f"buys every {v:.0f} days on average"),
    (r"txn_recency_vs_gap", lambda v, m: f"last purchase {v:.1f}x the usual gap ago"),
    (r"txn_count_total", lambda v, m: f"{v:g} purchases in total"),
    (r"spend_total", lambda v, m: f"spent {v:,.0f} in total"),
    (
        r"rfm_(r|f|m)_score",
        lambda v, m: f"RFM {dict(r='recency', f='frequency', m='monetary')[m[1]]} score {v:.0f}/5",
    ),
    (r"rfm_score", lambda v, m: f"RFM score {v:.0f}/15"),
    (r"annual_value", lambda v, m: f"worth {v:,.0f} a year"),
]
MISSING = {
    "usage_days_since_last": "never used the product",
    "tickets_days_since_last": "never opened a ticket",
    "feedback_days_since_last": "never answered a survey",
    "nps_last": "never answered an NPS survey",
    "rfm_recency_days": "never bought anything",
}
TEMPLATES += TEXT_REASON_TEMPLATES  # negative feedback and complaints
COMPILED = [(re.compile(p), f) for p, f in TEMPLATES]


def describe(feature: str, value) -> str:
    """A plain sentence for a feature's value, e.g. "3 unresolved tickets opened in the last 30 days"."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING.get(feature, f"no {_words(feature)} recorded")
    found = _template(feature)
    if found is not None and isinstance(value, int | float | np.number | np.bool_):
        sentence, m = found
        return sentence(float(value), m)
    return f"{_words(feature)}: {value}"


@functools.lru_cache(maxsize=4096)
def _template(feature: str):
    """The first template whose pattern matches the whole feature name, with its match."""
    for pattern, sentence in COMPILED:
        m = pattern.fullmatch(feature)
        if m:
            return sentence, m
    return None


def action_for(reasons: list[str], settings: Settings) -> str:
    """The contact mode for the first reason the playbook knows; the default otherwise."""
    for feature in reasons:
        for rule in settings.retention.playbook:
            if feature.startswith(rule.reason_prefix):
                return rule.action
    return settings.retention.default_action


def channels_for(value_tier: str, settings: Settings) -> list[str]:
    """Channels by value tier, at most `max_contacts_per_day` of them (the contact limit)."""
    options = settings.retention.channel_by_value_tier.get(value_tier, ["sms"])
    return options[: settings.retention.max_contacts_per_day]
