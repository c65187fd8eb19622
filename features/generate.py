"""A realistic, causal sample data set following the domain facts.

How it is made, in four steps, all vectorised over customers:
1. Latent traits per customer: engagement, value, price sensitivity, service luck, and for some a
   day from which the product stops fitting their needs (engagement then decays).
2. Experiences that do not depend on churn: tickets (seasonal, promotion surges, channel and
   category mixes, response and resolution delays) and requirements (some never resolved).
3. A daily churn hazard built from what the customer lived through up to that day: requirements
   open for weeks (unmet needs), recent slow/unresolved/reopened tickets (slow service), a fee above
   the plan's average times price sensitivity, and the decay of engagement (falling usage). The
   churn day is drawn from the cumulative hazard; the largest hazard part that day is the cause.
4. Usage, transactions and feedback up to the churn day; every event after it is removed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import holidays
import numpy as np
import pandas as pd

from core.config import Settings
from features.campaigns import simulate_campaigns
from features.contract import EventData
from features.feedback_text import feedback_texts, ticket_texts

CAUSES = ("unmet_needs", "slow_service", "price_sensitivity", "falling_usage")
SEGMENTS = (("consumer", 0.70), ("smb", 0.22), ("enterprise", 0.08))
REGIONS = (("tier1", 0.30), ("tier2", 0.30), ("tier3", 0.25), ("tier4", 0.15))
PLANS = (("basic", 0.50, 9.9), ("standard", 0.35, 29.9), ("premium", 0.15, 99.0))
# Share of each request type in the sample; a type added in config gets 0.3.
REQ_TYPE_WEIGHTS = {"feature_suggestion": 0.4, "problem_report": 0.3, "improvement_suggestion": 0.3}
PRODUCT_AREAS = ("billing", "mobile_app", "reporting", "integrations", "delivery_tracking")
TICKET_PRIORITIES = (("urgent", 0.05), ("high", 0.20), ("normal", 0.60), ("suggestion", 0.15))
REQ_PRIORITIES = (("high", 0.2), ("medium", 0.5), ("low", 0.3))
# Requests are handled by priority: median days to a decision, and the share left waiting for good
# (a backlog of mostly low-priority wishes; the unmet needs behind many churners).
REQ_MEDIAN_DAYS = {"high": 0.8, "medium": 1.5, "low": 3.0}
REQ_NEVER_SHARE = {"high": 0.04, "medium": 0.10, "low": 0.45}
# Median first-response hours by channel: phone is answered fast, social slowly.
RESPONSE_MEDIAN_H = {"app": 3.0, "website": 3.5, "phone": 0.4, "social": 8.0}
# Calls and chats by hour of day (0-23).
HOUR_PROFILE = np.array(
    [1, 0.5, 0.3, 0.2, 0.2, 0.4, 1, 2.5, 4.5, 6, 7, 7, 5.5, 6, 6.5, 6.5, 6, 5.5, 5, 5.5, 6, 5, 3.5, 2]
)


@dataclass
class SampleData:
    events: EventData
    truth: pd.DataFrame  # customer_id, churned, churn_cause, latent drivers
    effects: dict = field(default_factory=dict)  # true campaign effects, written as _truth.json
    contact_truth: pd.DataFrame | None = None  # per contact: churn probability untreated and treated


def _pick(rng: np.random.Generator, options: tuple, n: int) -> np.ndarray:
    names = np.array([o[0] for o in options])
    p = np.array([o[1] for o in options], dtype=float)
    return names[rng.choice(len(names), size=n, p=p / p.sum())]


def _mix_pick(rng: np.random.Generator, mix: dict[str, float], n: int) -> np.ndarray:
    return _pick(rng, tuple(mix.items()), n)


def _promo_mask(days: pd.DatetimeIndex, settings: Settings) -> np.ndarray:
    md = days.strftime("%m-%d")
    mask = np.zeros(len(days), dtype=bool)
    for w in settings.forecast.promotions:
        mask |= (md >= w.start) & (md <= w.end)
    return mask


def _day_intensity(days: pd.DatetimeIndex, promo: np.ndarray, settings: Settings) -> np.ndarray:
    """Relative ticket intensity per day: weekly and yearly seasonality, holidays, promotions."""
    dow = np.array([1.1, 1.05, 1.0, 1.0, 1.05, 0.8, 0.7])[days.dayofweek]
    doy = days.dayofyear.to_numpy()
    yearly = 1 + 0.15 * np.cos(2 * np.pi * (doy - 355) / 365.25)  # year-end peak
    cn = holidays.country_holidays(settings.forecast.country_holidays or "CN", years=sorted(set(days.year)))
    hol = np.array([0.6 if d in cn else 1.0 for d in days.date])
    return dow * yearly * hol * np.where(promo, 1.6, 1.0)


def _trailing(n: int, t: int, rows: np.ndarray, start: np.ndarray, length: int | np.ndarray) -> np.ndarray:
    """Count, per customer and day, the events whose window [start, start+length) covers the day."""
    diff = np.zeros((n, t + 1), dtype=np.int16)
    end = np.clip(start + np.maximum(length, 0), 0, t).astype(np.int64)
    start = np.clip(start, 0, t).astype(np.int64)
    np.add.at(diff, (rows, start), 1)
    np.add.at(diff, (rows, end), -1)
    return np.cumsum(diff[:, :t], axis=1, dtype=np.int16)


def generate_sample(
    settings: Settings,
    customers: int | None = None,
    days: int | None = None,
    seed: int | None = None,
    end_date: str | date | None = None,
) -> SampleData:
    """Generate the sample data set; the same arguments always give the same data."""
    n = customers or settings.sample.customers
    t = days or settings.sample.days
    seed = settings.sample.seed if seed is None else seed
    rng = np.random.default_rng(seed)
    end = pd.Timestamp(end_date or settings.sample.end_date).normalize()
    day_index = pd.date_range(end=end, periods=t, freq="D")
    start = day_index[0]
    promo = _promo_mask(day_index, settings)
    intensity = _day_intensity(day_index, promo, settings)

    # 1. Customers and latent traits.
    ids = np.char.add("C", np.char.zfill(np.arange(1, n + 1).astype(str), 6))
    signup_day = np.where(rng.random(n) < 0.65, -rng.integers(1, 3 * 365, n), rng.integers(0, t - 30, n))
    segment = _pick(rng, SEGMENTS, n)
    region = _pick(rng, REGIONS, n)
    plan_idx = rng.choice(3, size=n, p=[p[1] for p in PLANS])
    plan = np.array([p[0] for p in PLANS])[plan_idx]
    plan_fee = np.array([p[2] for p in PLANS])[plan_idx]
    fee_ratio = np.exp(rng.normal(0, 0.18, n))  # negotiated price vs the plan's list price
    monthly_fee = np.round(plan_fee * fee_ratio, 2)
    engagement = rng.lognormal(-1.4, 0.6, n)  # expected sessions per day
    value = rng.lognormal(0, 1.0, n) * np.where(
        segment == "enterprise", 3, np.where(segment == "smb", 1.6, 1)
    )
    price_sens = rng.beta(2, 5, n)
    service_luck = rng.lognormal(0, 0.5, n)  # >1: this customer's tickets are answered slowly
    ticket_rate = 0.012 * rng.lognormal(0, 0.5, n) * (0.6 + 0.4 * np.sqrt(value))
    req_rate = 0.006 * rng.lognormal(0, 0.6, n) * np.where(segment == "consumer", 0.7, 1.8)
    misfit = rng.random(n) < 0.20
    misfit_day = np.where(misfit, rng.integers(-60, t, n), t + 1)
    misfit_tau = rng.uniform(20, 60, n)

    # 2a. Tickets: counts per customer over the window, days drawn by the daily intensity.
    cum = np.cumsum(intensity) / intensity.sum()
    n_tickets = rng.poisson(ticket_rate * intensity.sum())
    trow = np.repeat(np.arange(n), n_tickets)
    m = len(trow)
    tday = np.searchsorted(cum, rng.random(m))
    channel = _mix_pick(rng, settings.tickets.channel_mix, m)
    cat_names = list(settings.tickets.category_mix)
    cat_p = np.tile(np.array(list(settings.tickets.category_mix.values())), (m, 1))
    if "logistics_delay" in cat_names:  # logistics complaints x3 in promotion seasons
        j = cat_names.index("logistics_delay")
        lift = np.where(promo[tday], settings.tickets.promo_logistics_multiplier, 1.0)
        lift *= np.where(region[trow] == "tier1", 1.6, 1.0)  # tier-1 cities: delivery time
        cat_p[:, j] *= lift / lift.mean()  # keep the configured mix overall
    cat_p /= cat_p.sum(axis=1, keepdims=True)
    category = np.array(cat_names)[(cat_p.cumsum(axis=1) > rng.random((m, 1))).argmax(axis=1)]
    priority = _pick(rng, TICKET_PRIORITIES, m)
    hour = rng.choice(24, size=m, p=HOUR_PROFILE / HOUR_PROFILE.sum())
    t_created = tday * 24.0 + hour + rng.random(m)  # hours since start
    load = np.where(promo[tday], 1.8, 1.0)  # promotions overload the service
    med = np.array([RESPONSE_MEDIAN_H.get(c, 3.0) for c in channel]) if m else np.zeros(0)
    urgency = (
        pd.Series(priority).map({"urgent": 0.04, "high": 0.2, "normal": 1.0, "suggestion": 2.0}).to_numpy()
    )
    resp_h = med * urgency * service_luck[trow] * load * rng.lognormal(0, 0.7, m)
    never_resolved = rng.random(m) < 0.05 + 0.08 * (service_luck[trow] > 1.5)
    resolve_h = resp_h + rng.lognormal(np.log(20), 0.9, m) * service_luck[trow]
    bad = (resp_h > 24) | never_resolved | (resolve_h > 24 * 7)
    reopened = ~never_resolved & (rng.random(m) < np.where(bad, 0.25, 0.05))
    reopen_h = resolve_h + rng.uniform(12, 24 * 10, m)
    csat = np.clip(np.round(4.6 - 1.2 * bad - 0.8 * reopened + rng.normal(0, 0.7, m)), 1, 5)

    # 2b. Requirements: some are resolved or rejected, many wait, some forever.
    n_req = rng.poisson(req_rate * t)
    rrow = np.repeat(np.arange(n), n_req)
    k = len(rrow)
    rday = rng.integers(0, t, k)
    rpriority = _pick(rng, REQ_PRIORITIES, k)
    never = rng.random(k) < pd.Series(rpriority).map(REQ_NEVER_SHARE).to_numpy()
    median = pd.Series(rpriority).map(REQ_MEDIAN_DAYS).to_numpy()
    rdelay = np.where(never, 10_000, np.ceil(median * rng.lognormal(0, 0.5, k))).astype(np.int64)
    rejected = (rdelay < 10_000) & (rng.random(k) < 0.12)

    # 3. Daily churn hazard from lived experience.
    unmet = _trailing(n, t, rrow, rday + 21, np.minimum(rdelay, 90) - 21)  # waiting 3 weeks to 3 months
    slow = _trailing(n, t, trow[bad], tday[bad], 30)  # bad tickets in the last 30 days
    grid_t = np.arange(t)
    decay = 1 - np.exp(-np.clip(grid_t[None, :] - misfit_day[:, None], 0, None) / misfit_tau[:, None])
    scale = 0.85
    h_unmet = scale * 0.0028 * np.minimum(unmet, 3)
    h_slow = scale * 0.0080 * np.minimum(slow, 3)
    price_push = (price_sens > 0.4) * np.clip((fee_ratio - 1.05) * 5, 0, 1.5)
    h_price = np.broadcast_to((scale * 0.0080 * price_push)[:, None], (n, t))
    h_usage = scale * 0.0035 * decay
    draw = rng.exponential(1.0, n)
    # Past retention campaigns change the hazard of the customers they treat (features/campaigns.py).
    hazard, history = simulate_campaigns(
        [h_unmet, h_slow, h_price, h_usage],
        0.00015,
        signup_day,
        draw,
        value,
        start,
        ids,
        settings,
        settings.sample.seed if seed is None else seed,
    )
    cumhaz = np.cumsum(hazard, axis=1)
    churned = cumhaz[:, -1] >= draw
    churn_day = np.where(churned, (cumhaz >= draw[:, None]).argmax(axis=1), t + 10)
    parts = np.stack([h_unmet, h_slow, h_price, h_usage], axis=-1)[np.arange(n), np.minimum(churn_day, t - 1)]
    cause = np.where(churned, np.array(CAUSES)[parts.argmax(axis=1)], None)
    del cumhaz, hazard, decay

    def alive(rows: np.ndarray, day: np.ndarray) -> np.ndarray:
        return (day < churn_day[rows]) & (day >= signup_day[rows])

    # 4. Usage (daily sessions and minutes), decaying after the misfit day.
    keep_days = 300_000_000 // max(n, 1)  # cap the dense grid for very large n
    u_t = min(t, keep_days)
    u_days = grid_t[t - u_t :]
    weekly = np.array([1.05, 1.05, 1.0, 1.0, 0.95, 0.9, 0.85])[day_index.dayofweek.to_numpy()[t - u_t :]]
    eng = engagement[:, None] * weekly[None, :]
    eng = eng * np.exp(-np.clip(u_days[None, :] - misfit_day[:, None], 0, None) / misfit_tau[:, None])
    sessions = rng.poisson(eng).astype(np.int16)
    sessions[(u_days[None, :] >= churn_day[:, None]) | (u_days[None, :] < signup_day[:, None])] = 0
    urow, ucol = np.nonzero(sessions)
    s = sessions[urow, ucol].astype(float)
    usage = pd.DataFrame(
        {
            "customer_id": ids[urow],
            "ts": start + pd.to_timedelta(u_days[ucol], unit="D") + pd.to_timedelta(18, unit="h"),
            "sessions": s,
            "minutes": np.round(s * rng.lognormal(np.log(9), 0.4, len(s)), 1),
        }
    )

    # Transactions: monthly fees on the signup day-of-month, plus purchases (more in promotions).
    bill_dom = np.where(signup_day >= 0, signup_day, 0) % 28  # billed on a fixed day each month
    is_bill = (day_index.day.to_numpy()[None, :] - 1) == bill_dom[:, None]
    is_bill &= (grid_t[None, :] >= signup_day[:, None]) & (grid_t[None, :] < churn_day[:, None])
    fee_rows, fee_days = np.nonzero(is_bill)
    buy_p = np.clip(0.02 * value[:, None] * (1 + 2 * price_sens[:, None] * promo[None, :]), 0, 0.9)
    buy = rng.random((n, t)) < buy_p
    buy &= (grid_t[None, :] < churn_day[:, None]) & (grid_t[None, :] >= signup_day[:, None])
    brow, bday = np.nonzero(buy)
    transactions = pd.DataFrame(
        {
            "customer_id": np.concatenate([ids[fee_rows], ids[brow]]),
            "ts": start
            + pd.to_timedelta(np.concatenate([fee_days, bday]), unit="D")
            + pd.to_timedelta(
                np.concatenate([np.full(len(fee_days), 9.0), rng.uniform(8, 22, len(bday))]), unit="h"
            ).floor("s"),
            "amount": np.round(
                np.concatenate(
                    [monthly_fee[fee_rows], rng.lognormal(np.log(25), 0.6, len(brow)) * value[brow] ** 0.5]
                ),
                2,
            ),
            "quantity": np.concatenate([np.ones(len(fee_days)), rng.integers(1, 5, len(brow)).astype(float)]),
            "promo": np.concatenate([np.zeros(len(fee_days), bool), promo[bday]]),
        }
    )

    # Tickets up to the churn day; facts after the data end stay unknown (NaT / NaN).
    keep = alive(trow, tday)
    hours_to_ts = lambda h: (start + pd.to_timedelta(h, unit="h")).floor("s")  # noqa: E731
    horizon_h = t * 24.0
    fr = np.where(t_created + resp_h < horizon_h, t_created + resp_h, np.nan)
    rs = np.where(~never_resolved & (t_created + resolve_h < horizon_h), t_created + resolve_h, np.nan)
    ro = np.where(reopened & ~np.isnan(rs) & (t_created + reopen_h < horizon_h), t_created + reopen_h, np.nan)
    tickets = pd.DataFrame(
        {
            "ticket_id": np.char.add("T", np.char.zfill(np.arange(1, m + 1).astype(str), 7)),
            "customer_id": ids[trow],
            "ts": hours_to_ts(t_created),
            "channel": channel,
            "category": category,
            "priority": priority,
            "first_response_ts": hours_to_ts(fr),
            "resolved_ts": hours_to_ts(rs),
            "reopened_ts": hours_to_ts(ro),
            "csat": np.where(np.isnan(rs), np.nan, csat),
        }
    )[keep]

    req_ts_h = rday * 24.0 + rng.uniform(8, 20, k)
    res_h = req_ts_h + rdelay * 24.0
    res_known = (rdelay < 10_000) & (res_h < horizon_h)
    age_days = t - rday
    status = np.where(
        res_known, np.where(rejected, "rejected", "resolved"), np.where(age_days > 5, "in_progress", "open")
    )
    requirements = pd.DataFrame(
        {
            "request_id": np.char.add("R", np.char.zfill(np.arange(1, k + 1).astype(str), 6)),
            "customer_id": ids[rrow],
            "ts": hours_to_ts(req_ts_h),
            "type": _pick(
                rng, tuple((x, REQ_TYPE_WEIGHTS.get(x, 0.3)) for x in settings.requirements.types), k
            ),
            "product_area": _pick(rng, tuple((a, 1.0) for a in PRODUCT_AREAS), k),
            "priority": rpriority,
            "status": status,
            "resolved_ts": hours_to_ts(np.where(res_known, res_h, np.nan)),
        }
    )[alive(rrow, rday)]

    # Feedback: a survey about every 90 days; scores follow recent experience.
    n_fb = rng.poisson(t / 90, n)
    frow = np.repeat(np.arange(n), n_fb)
    fday = rng.integers(0, t, len(frow))
    recent_bad = slow[frow, fday]
    recent_unmet = unmet[frow, fday]
    fb_decay = 1 - np.exp(-np.clip(fday - misfit_day[frow], 0, None) / misfit_tau[frow])
    nps = np.clip(
        np.round(
            8.3 - 1.3 * recent_bad - 1.0 * recent_unmet - 2.5 * fb_decay + rng.normal(0, 1.5, len(frow))
        ),
        0,
        10,
    )
    fb_csat = np.clip(
        np.round(4.3 - 0.5 * recent_bad - 0.3 * recent_unmet + rng.normal(0, 0.6, len(frow))), 1, 5
    )
    feedback = pd.DataFrame(
        {
            "customer_id": ids[frow],
            "ts": (start + pd.to_timedelta(fday + rng.uniform(9, 21, len(frow)) / 24, unit="D")).floor("s"),
            "nps": nps,
            "csat": fb_csat,
        }
    )[alive(frow, fday)]

    customers = pd.DataFrame(
        {
            "customer_id": ids,
            "signup_ts": (start + pd.to_timedelta(signup_day + rng.uniform(8, 20, n) / 24, unit="D")).floor(
                "s"
            ),
            "segment": segment,
            "region_tier": region,
            "plan": plan,
            "monthly_fee": monthly_fee,
            "churn_ts": (
                start + pd.to_timedelta(np.where(churned, churn_day, 0), unit="D") + pd.Timedelta(hours=23)
            ).where(churned),
        }
    )
    truth = pd.DataFrame(
        {
            "customer_id": ids,
            "churned": churned,
            "churn_cause": cause,
            "misfit_day": np.where(
                misfit, start + pd.to_timedelta(np.clip(misfit_day, -10_000, t), unit="D"), pd.NaT
            ),
            "price_sensitivity": np.round(price_sens, 4),
            "fee_ratio": np.round(fee_ratio, 4),
            "service_luck": np.round(service_luck, 4),
        }
    )
    # Texts draw from their own stream so that the other tables stay as they were without them.
    text_rng = np.random.default_rng([seed, 14])
    feedback = pd.concat(
        [
            feedback.reset_index(drop=True),
            feedback_texts(text_rng, feedback["nps"].to_numpy(), PRODUCT_AREAS, settings),
        ],
        axis=1,
    )
    tickets = pd.concat(
        [tickets.reset_index(drop=True), ticket_texts(text_rng, tickets["category"].to_numpy(), settings)],
        axis=1,
    )
    events = EventData(
        customers=customers,
        transactions=_sorted(transactions),
        usage=_sorted(usage),
        tickets=_sorted(tickets),
        feedback=_sorted(feedback),
        requirements=_sorted(requirements),
        contacts=_sorted(history.contacts),
    )
    return SampleData(events=events, truth=truth, effects=history.truth, contact_truth=history.contact_truth)


def _sorted(df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values(["ts", "customer_id"], kind="stable").reset_index(drop=True)
