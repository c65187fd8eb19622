"""Reasons in plain words: one sentence per feature value, and the fact each feature tells.

Every feature that can be a reason has a template with units and rounding; a missing value has
its own sentence. Features that tell the same underlying fact (the days since the last purchase,
the last activity and the purchase rhythm are one fact: how long the customer has been away)
share a `fact`, so that a customer's reasons are ranked per fact and each fact is said once.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from serving import wording
from serving.wording import ago, change, count, hours, money, score_of, span, times, words


def _category_tickets(v: float, m: re.Match) -> str:
    return f"{count(v, words(m[1]) + ' ticket')} in the last {m[2]} days"


def _tier_number(m: re.Match) -> str:
    return f"tier-{m[1]}"


@dataclass(frozen=True)
class Template:
    pattern: str
    fact: str
    say: Callable[[float, re.Match], str]
    missing: str
    # False for features that mark risk without causing it: our own contacts go to customers
    # already at risk, so "contacted 3 days ago" ranks high in SHAP yet is nothing to act on.
    reason: bool = True


# The first template whose pattern matches the whole feature name is used.
TEMPLATES: list[Template] = [
    # How long the customer has been away.
    Template(r"rfm_recency_days", "away", lambda v, m: f"last purchase {ago(v)}", "never bought anything"),
    Template(
        r"txn_recency_vs_gap",
        "away",
        lambda v, m: (
            "bought only on a single day so far"
            if math.isinf(v)
            else f"{times(v)} the usual time between purchases has passed since the last one"
        ),
        "bought only once so far",
    ),
    Template(
        r"rfm_r_score", "away", lambda v, m: score_of(v, "bought less recently"), "never bought anything"
    ),
    Template(
        r"usage_days_since_last",
        "away",
        lambda v, m: f"last used the product {ago(v)}",
        "never used the product",
    ),
    Template(
        r"days_since_last_activity",
        "away",
        lambda v, m: "active today" if v < 1 else f"no activity for {count(math.floor(v), 'day')}",
        "no activity recorded",
    ),
    # How often they buy.
    Template(
        r"(?:txn_count|rfm_frequency)_(\d+)d",
        "frequency",
        lambda v, m: f"{count(v, 'purchase')} in the last {m[1]} days",
        "no purchases recorded",
    ),
    Template(
        r"txn_count_total",
        "frequency",
        lambda v, m: f"{count(v, 'purchase')} in total",
        "no purchases recorded",
    ),
    Template(
        r"txn_mean_gap_days",
        "frequency",
        lambda v, m: (
            "bought several times on one day" if v < 1 else f"buys every {count(v, 'day')} on average"
        ),
        "bought only once so far",
    ),
    Template(
        r"rfm_f_score", "frequency", lambda v, m: score_of(v, "buys less often"), "no purchases recorded"
    ),
    # How much they spend.
    Template(
        r"(?:spend|rfm_monetary)_(\d+)d",
        "spend",
        lambda v, m: (
            f"spent {money(v)} in the last {m[1]} days" if v > 0 else f"spent nothing in the last {m[1]} days"
        ),
        "no spending recorded",
    ),
    Template(
        r"spend_total",
        "spend",
        lambda v, m: f"spent {money(v)} in total" if v > 0 else "spent nothing so far",
        "no spending recorded",
    ),
    Template(r"rfm_m_score", "spend", lambda v, m: score_of(v, "spends less"), "no spending recorded"),
    Template(r"annual_value", "spend", lambda v, m: f"worth {money(v)} a year", "no yearly value known"),
    Template(
        r"rfm_score",
        "spend",
        lambda v, m: f"recency, frequency and spend score {v:.0f} of 15",
        "no purchases recorded",
    ),
    Template(r"value_tier", "spend", lambda v, m: wording.value_tier(v), "no value tier"),
    Template(
        r"spend_trend_(\d+)d", "spend_trend", lambda v, m: change(v, "spend", m[1]), "no recent spending"
    ),
    Template(
        r"promo_share_(\d+)d",
        "promo",
        lambda v, m: f"{v:.0%} of purchases in the last {m[1]} days on promotion",
        "no recent purchases on promotion",
    ),
    # How long they have been a customer.
    Template(r"tenure_days", "tenure", lambda v, m: f"customer for {span(v)}", "no sign-up date"),
    Template(
        r"txn_first_days", "tenure", lambda v, m: f"first purchase {span(v)} ago", "never bought anything"
    ),
    # Product use.
    Template(
        r"usage_(sessions|minutes)_trend_(\d+)d",
        "usage_trend",
        lambda v, m: change(v, "sessions" if m[1] == "sessions" else "usage time", m[2]),
        "no recent use",
    ),
    Template(
        r"usage_drop_flag",
        "usage_trend",
        lambda v, m: "usage time fell more than 20% three days in a row" if v else "usage time not falling",
        "no recent use",
    ),
    Template(
        r"usage_sessions_(\d+)d",
        "usage",
        lambda v, m: f"{count(v, 'session')} in the last {m[1]} days",
        "no use",
    ),
    Template(
        r"usage_minutes_(\d+)d",
        "usage",
        lambda v, m: f"{count(v, 'minute')} of use in the last {m[1]} days",
        "no use",
    ),
    Template(
        r"usage_low_flag",
        "usage",
        lambda v, m: (
            "uses the product far less than average, no contact for 3 months" if v else "usage not low"
        ),
        "no use",
    ),
    # Support tickets.
    Template(
        r"tickets_unresolved_(\d+)d",
        "open_tickets",
        lambda v, m: f"{count(v, 'ticket')} from the last {m[1]} days still unresolved",
        "no tickets",
    ),
    Template(r"tickets_open", "open_tickets", lambda v, m: f"{count(v, 'ticket')} still open", "no tickets"),
    Template(
        r"ticket_sla_breaches_(\d+)d",
        "response",
        lambda v, m: f"{count(v, 'ticket')} answered late in the last {m[1]} days",
        "no tickets",
    ),
    Template(
        r"first_response_hours_mean_(\d+)d",
        "response",
        lambda v, m: f"waited {hours(v)} on average for a first answer",
        "no answered tickets recently",
    ),
    Template(
        r"resolution_hours_mean_(\d+)d",
        "resolution",
        lambda v, m: f"tickets took {hours(v) if v < 48 else span(v / 24)} to resolve on average",
        "no resolved tickets recently",
    ),
    Template(
        r"ticket_reopen_rate_(\d+)d",
        "resolution",
        lambda v, m: f"{v:.0%} of resolved tickets reopened in the last {m[1]} days",
        "no resolved tickets recently",
    ),
    Template(
        r"tickets_(\d+)d",
        "tickets",
        lambda v, m: f"{count(v, 'ticket')} in the last {m[1]} days",
        "no tickets",
    ),
    Template(r"tickets_(.+)_(\d+)d", "tickets", _category_tickets, "no tickets"),
    Template(
        r"csat_last", "satisfaction", lambda v, m: f"rated the last ticket {v:.0f} of 5", "no rated tickets"
    ),
    Template(
        r"csat_survey_last",
        "satisfaction",
        lambda v, m: f"rated satisfaction {v:.0f} of 5 in the last survey",
        "never rated satisfaction",
    ),
    Template(
        r"nps_last", "nps", lambda v, m: f"last NPS answer {v:.0f} of 10", "never answered an NPS survey"
    ),
    Template(
        r"nps_trend",
        "nps",
        lambda v, m: (
            "NPS answer unchanged"
            if round(v) == 0
            else f"NPS answer {'fell' if v < 0 else 'rose'} by {count(abs(v), 'point')}"
        ),
        "only one NPS answer so far",
    ),
    # When they last talked to us.
    Template(
        r"tickets_days_since_last", "contact", lambda v, m: f"last ticket {ago(v)}", "never opened a ticket"
    ),
    Template(
        r"feedback_days_since_last",
        "contact",
        lambda v, m: f"last survey answer {ago(v)}",
        "never answered a survey",
    ),
    Template(
        r"days_since_last_interaction",
        "contact",
        lambda v, m: (
            "in contact with us today" if v < 1 else f"no contact with us for {count(math.floor(v), 'day')}"
        ),
        "never contacted us",
    ),
    # Requests.
    Template(
        r"req_oldest_open_days",
        "open_requests",
        lambda v, m: f"oldest open request waiting {span(v)}",
        "no open requests",
    ),
    Template(
        r"req_open_over_30d",
        "open_requests",
        lambda v, m: f"{count(v, 'request')} open for more than 30 days",
        "no open requests",
    ),
    Template(r"req_open", "open_requests", lambda v, m: f"{count(v, 'open request')}", "no open requests"),
    Template(
        r"req_count_(\d+)d",
        "requests",
        lambda v, m: f"{count(v, 'request')} in the last {m[1]} days",
        "no requests",
    ),
    Template(
        r"req_resolved_share_(\d+)d",
        "request_outcome",
        lambda v, m: (
            f"only {v:.0%} of requests from the last {m[1]} days resolved"
            if v >= 0.005
            else f"none of the requests from the last {m[1]} days resolved"
        ),
        "no requests to resolve recently",
    ),
    Template(
        r"req_rejected_(\d+)d",
        "request_outcome",
        lambda v, m: f"{count(v, 'request')} rejected in the last {m[1]} days",
        "no requests to resolve recently",
    ),
    # Price and profile.
    Template(
        r"monthly_fee_vs_plan",
        "price",
        lambda v, m: f"pays {abs(v - 1):.0%} {'more' if v >= 1 else 'less'} than is usual on the plan",
        "no fee recorded",
    ),
    Template(r"monthly_fee", "price", lambda v, m: f"pays {money(v)} a month", "no fee recorded"),
    Template(r"plan", "price", lambda v, m: f"on the {words(v)} plan", "no plan recorded"),
    Template(r"segment", "profile", lambda v, m: f"in the {words(v)} segment", "no segment recorded"),
    Template(
        r"region_tier",
        "region",
        lambda v, m: f"in a {re.sub(r'tier ?([0-9])', _tier_number, words(v))} city",
        "no region recorded",
    ),
    # Feedback texts and complaints (features.text_features).
    Template(
        r"feedback_negative_(\d+)d",
        "complaints",
        lambda v, m: f"{count(v, 'negative feedback text')} in the last {m[1]} days",
        "no feedback texts",
    ),
    Template(
        r"complaints_unanswered",
        "complaints",
        lambda v, m: f"{count(v, 'complaint')} still without an answer",
        "no complaints",
    ),
    Template(
        r"complaints_(\d+)d",
        "complaints",
        lambda v, m: f"{count(v, 'complaint')} in the last {m[1]} days",
        "no complaints",
    ),
    Template(
        r"complaints_(.+)_(\d+)d",
        "complaints",
        lambda v, m: f"{count(v, 'complaint')} about {words(m[1])} in the last {m[2]} days",
        "no complaints",
    ),
    # Our own contacts (features.contacts): model features, said on request, never offered as reasons.
    Template(
        r"contacts_(\d+)d",
        "contacts",
        lambda v, m: f"contacted {count(v, 'time')} by us in the last {m[1]} days",
        "never contacted by us",
        reason=False,
    ),
    Template(
        r"contact_days_since_last",
        "contacts",
        lambda v, m: f"last contacted by us {ago(v)}",
        "never contacted by us",
        reason=False,
    ),
    Template(
        r"contact_unanswered_streak",
        "contacts",
        lambda v, m: f"did not answer our last {count(v, 'contact')}",
        "never contacted by us",
        reason=False,
    ),
    Template(
        r"contact_unsubscribed_channels",
        "contacts",
        lambda v, m: f"unsubscribed from {count(v, 'channel')}",
        "never unsubscribed",
        reason=False,
    ),
]
COMPILED = [(re.compile(t.pattern), t) for t in TEMPLATES]


@functools.lru_cache(maxsize=4096)
def template(feature: str) -> tuple[Template, re.Match] | None:
    """The first template whose pattern matches the whole feature name, with its match."""
    for pattern, t in COMPILED:
        m = pattern.fullmatch(feature)
        if m:
            return t, m
    return None


def fact(feature: str) -> str:
    """The underlying fact a feature tells; features of one fact are given as one reason."""
    found = template(feature)
    return found[0].fact if found else feature


def reason_fact(feature: str) -> str | None:
    """The fact a feature tells when it may be offered as a reason, else None (our contacts)."""
    found = template(feature)
    if found is None:  # a feature without a sentence of its own (a user's column) is its own fact
        return feature
    return found[0].fact if found[0].reason else None


def describe(feature: str, value) -> str:
    """A plain sentence for a feature's value, e.g. "3 tickets still open"."""
    found = template(feature)
    if wording.is_missing(value):
        return found[0].missing if found else f"no {words(feature)} recorded"
    if isinstance(value, bool | np.bool_):
        value = float(value)
    numeric = isinstance(value, int | float | np.number)
    if found is not None:
        t, m = found
        if numeric and not math.isfinite(value) and t.pattern != r"txn_recency_vs_gap":
            return t.missing
        return t.say(float(value) if numeric else value, m)
    if numeric:
        return (
            f"{words(feature)} is {wording.number(float(value))}"
            if math.isfinite(value)
            else f"no {words(feature)} recorded"
        )
    return f"{words(feature)}: {words(value)}"
