"""The retention loop's daily steps: who is contacted and who is kept as control, and what past
campaigns achieved (treated against control)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import pandas as pd

from core.io import write_json
from features.contract import EventData
from pipelines.runner import StepSkipped
from pipelines.steps import DayContext, Scored


@dataclass(frozen=True)
class Targeting:
    targeted: pd.DataFrame  # the day's list with group, listed, skip_reason, expected saved value
    planned: pd.DataFrame  # the contact rows the listed customers make (the contacts table's shape)


def targeting(ctx: DayContext, load: EventData, vectors: pd.DataFrame, score: Scored) -> Targeting:
    """A random control group per risk tier, contact limits and the daily budget, by expected saved
    value (the uplift champion's estimate when there is one, the configured priors otherwise)
    (targeting.parquet, contacts_planned.csv)."""
    from experiments.uplift_experiment import load_uplift
    from serving.targeting import assign_groups, contacts_for_day, with_uplift

    act_on = ctx.day + pd.Timedelta(days=1)  # the list is acted on the next morning
    model = load_uplift(ctx.settings)
    uplift = None if model is None else partial(with_uplift, vectors=vectors, model=model)
    targeted = assign_groups(score.at_risk, load.contacts, act_on, ctx.settings, uplift)
    planned = contacts_for_day(targeted, act_on)
    ctx.write("targeting.parquet", targeted)
    ctx.write("contacts_planned.csv", planned)
    return Targeting(targeted, planned)


def campaign(ctx: DayContext, load: EventData) -> dict:
    """Treated against control churn of every action so far (campaign_report.json, MLflow)."""
    from monitoring.campaign import campaign_report, log_campaign_report

    if load.contacts is None:
        raise StepSkipped("no contacts table (no campaign to measure yet)")
    report = campaign_report(load, None, ctx.day, ctx.settings)
    write_json(ctx.folder / "campaign_report.json", report)
    log_campaign_report(report, ctx.settings)
    return report
