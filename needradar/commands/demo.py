"""`needradar demo`: set up the embedded sample data and run the main job on it."""

from __future__ import annotations

import pandas as pd
import typer

from needradar.commands._common import console, settings, table


def _promote(task: str, cfg) -> str:
    from experiments.registry import promote

    r = promote(task, cfg)
    verdict = "promoted" if r.promoted else "kept the champion"
    return f"{task}: {verdict} ({r.reason})"


def demo(
    fresh: bool = typer.Option(False, "--fresh", help="Regenerate the sample data even if it exists."),
) -> None:
    """Generate the sample data, train and promote both models, run the daily job, show the results."""
    from core.io import write_frame
    from experiments.churn_experiment import train_and_register as train_churn
    from experiments.volume_experiment import train_and_register as train_volume
    from features.generate import generate_sample
    from features.load import load_event_data, write_event_data
    from pipelines.daily import run_daily

    cfg = settings()
    data = cfg.path("sample_data")
    with console.status("demo") as status:
        if fresh or not (data / "customers.csv").exists():
            status.update(f"generating {cfg.sample.customers:,} customers x {cfg.sample.days} days")
            sample = generate_sample(cfg)
            write_event_data(sample.events, data)
            write_frame(sample.truth, data / "truth" / "churn_causes.csv")
        status.update("validating and loading the sample data")
        events = load_event_data(data, cfg, quarantine_dir=cfg.path("quarantine") / "sample")
        as_of = f"{events.last_event_ts():%Y-%m-%d}"
        status.update("training the churn model")
        churn = train_churn(events, cfg)
        status.update("training the volume models")
        volume = train_volume(events, cfg)
        verdicts = [_promote("churn", cfg), _promote("volume", cfg)]
        result = run_daily(
            data, as_of, cfg.path("output"), cfg, on_step=lambda s: status.update(f"daily job: {s}")
        )

    console.rule(f"needradar demo: {data}, as of {as_of}")
    comparison = churn.result.comparison.round(3).reset_index().to_dict("records")
    console.print(table(f"Churn model v{churn.version}, out-of-time holdout", comparison))
    console.print(
        f"volume models v{volume.version}: backtest MASE {volume.result.backtest.summary()['mase']}"
    )
    for v in verdicts:
        console.print(v)
    day = result.day_dir
    at_risk = pd.read_parquet(day / "at_risk.parquet")
    cols = ["customer_id", "churn_probability", "risk_tier", "value_at_risk", "reason_1_text", "action"]
    console.print(table("Top 10 customers at risk", at_risk[cols].head(10).to_dict("records")))
    fc = pd.read_csv(day / "forecast.csv", parse_dates=["ds"])
    totals = fc[fc["series_id"].isin(["tickets/total", "requirements/total"])]
    wide = totals.assign(
        day=totals["ds"].dt.strftime("%Y-%m-%d %a"),
        value=totals.apply(lambda r: f"{r.yhat:.0f} [{r.yhat_lower:.0f}-{r.yhat_upper:.0f}]", axis=1),
    )
    console.print(
        table(
            "Next 14 days: ticket and request volume (80% interval)",
            wide.pivot(index="day", columns="series_id", values="value").reset_index().to_dict("records"),
        )
    )
    staff = pd.read_csv(day / "staffing.csv", parse_dates=["ds"])
    peak = (
        staff.groupby([staff["ds"].dt.strftime("%Y-%m-%d"), "channel"])["agents"]
        .max()
        .unstack()
        .reset_index()
    )
    console.print(table("Next 72 hours: peak agents needed per hour (80% in 20 s)", peak.to_dict("records")))
    kpis = pd.read_csv(day / "kpis.csv")
    console.print(
        table("Service KPIs (last 30 days)", kpis[kpis["scope"] == "overall"].fillna("").to_dict("records"))
    )
    alerts = [a for a in (day / "alerts.jsonl").read_text().splitlines() if a]
    console.print(f"{len(alerts)} alerts today (see {day / 'alerts.jsonl'}):")
    import json

    for line in alerts[:10]:
        a = json.loads(line)
        console.print(f"  [{a['level']}] {a['message']}")
    console.print(
        table(
            "Daily job steps",
            [{"step": s["step"], "status": s["status"], "seconds": s["seconds"]} for s in result.steps],
        )
    )
    console.print(f"outputs in {day}: {', '.join(sorted(p.name for p in day.iterdir()))}")
    console.print(
        "serve them with: NEEDRADAR_API_KEY=... needradar serve   |   MLflow UI: "
        "mlflow ui --backend-store-uri "
        f"{cfg.tracking_uri}"
    )
