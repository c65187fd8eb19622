"""`needradar demo`: set up the embedded sample data, train, run the day, and show one screen of it.

Libraries' own output (MLflow, Prophet/Stan, LightGBM, warnings) goes to a log file: the terminal
shows needradar's progress and summary only.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import typer
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from needradar.commands._common import settings
from serving.wording import distinct_digits

WIDTH = 100
LEVEL_ORDER = {"red": 0, "orange": 1, "yellow": 2}


@contextmanager
def output_to(log: Path) -> Iterator[Console]:
    """Send everything written to stdout and stderr (also by C code and subprocesses) to `log`;
    yield a console on the real terminal for needradar's own lines."""
    log.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    terminal = os.fdopen(os.dup(saved[0]), "w", buffering=1)
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    try:
        with open(log, "a") as f:
            os.dup2(f.fileno(), 1)
            os.dup2(f.fileno(), 2)
            yield Console(file=terminal, width=min(WIDTH, shutil.get_terminal_size().columns))
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in saved:
            os.close(fd)
        terminal.close()


def _bar(screen: Console) -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(bar_width=24),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=screen,
        transient=True,
        # Rich would route sys.stdout/err (MLflow's log lines) through the live display.
        redirect_stdout=False,
        redirect_stderr=False,
    )


def _promote(task: str, cfg) -> str:
    from experiments.registry import promote

    r = promote(task, cfg)
    return "promoted to champion" if r.promoted else f"kept the champion ({r.reason})"


def _run(cfg, fresh: bool, screen: Console) -> dict:
    """Generate, load, train, promote and run the day, with a progress line per step."""
    from core.io import write_frame
    from experiments.churn_experiment import train_and_register as train_churn
    from experiments.volume_experiment import train_and_register as train_volume
    from features.generate import generate_sample
    from features.load import load_event_data, write_event_data
    from pipelines.daily import run_daily

    data = cfg.path("sample_data")
    out: dict = {"data": data}
    with _bar(screen) as bar:
        if fresh or not (data / "customers.csv").exists():
            step = bar.add_task(
                f"generating {cfg.sample.customers:,} customers x {cfg.sample.days} days", total=1
            )
            sample = generate_sample(cfg)
            write_event_data(sample.events, data)
            write_frame(sample.truth, data / "truth" / "churn_causes.csv")
            bar.update(step, completed=1)
        step = bar.add_task("validating and loading the sample data", total=1)
        events = load_event_data(data, cfg, quarantine_dir=cfg.path("quarantine") / "sample")
        out["as_of"] = f"{events.last_event_ts():%Y-%m-%d}"
        out["customers"] = len(events.customers)
        bar.update(step, completed=1)
        step = bar.add_task("training the churn model (about 2 minutes)", total=1)
        t0 = time.perf_counter()
        out["churn"] = train_churn(events, cfg)
        out["churn_seconds"] = time.perf_counter() - t0
        bar.update(step, completed=1)
        folds = cfg.forecast.backtest_folds + 1
        step = bar.add_task("training the volume models (backtest folds, final fit)", total=folds)
        out["volume"] = train_volume(events, cfg, on_step=lambda _: bar.advance(step))
        bar.update(step, completed=folds)
        out["verdicts"] = {t: _promote(t, cfg) for t in ("churn", "volume")}
        step = bar.add_task("daily job", total=None)
        out["daily"] = run_daily(
            data,
            out["as_of"],
            cfg.path("output"),
            cfg,
            on_step=lambda s: bar.update(step, description=f"daily job: {s}"),
        )
    return out


def _table(*columns: str, wrap: str | None = None) -> Table:
    t = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    for c in columns:
        t.add_column(c, overflow="fold", ratio=3 if c == wrap else None)
    return t


def _models(run: dict) -> Table:
    churn, volume = run["churn"], run["volume"]
    comparison = churn.result.comparison
    auc = comparison["auc"] if "auc" in comparison else pd.Series(dtype=float)
    baselines = auc.drop(labels=["lightgbm"], errors="ignore")
    t = _table("model", "quality", "registry")
    t.add_row(
        f"churn v{churn.version}",
        f"holdout AUC {auc.get('lightgbm', float('nan')):.3f}"
        + (f" (best baseline {baselines.max():.3f}, {baselines.idxmax()})" if len(baselines) else ""),
        run["verdicts"]["churn"],
    )
    summary = volume.result.backtest.summary()
    mase = summary["mase"].get("selected") or min(summary["mase"].values())
    t.add_row(
        f"volume v{volume.version}",
        f"backtest MASE {mase:.3f} (below 1 beats naive)",
        run["verdicts"]["volume"],
    )
    return t


def _at_risk(day: Path) -> tuple[str, Table]:
    at_risk = pd.read_parquet(day / "at_risk.parquet")
    tiers = at_risk["risk_tier"].value_counts()
    head = " · ".join(f"{t} {tiers[t]:,}" for t in ("red", "orange", "yellow", "green") if t in tiers)
    line = (
        f"{len(at_risk):,} customers on today's list ({head}); "
        f"value at risk {at_risk['value_at_risk'].sum():,.0f}"
    )
    t = _table("customer", "risk", "tier", "value at risk", "main reason", "action", wrap="main reason")
    top = at_risk.head(5)
    digits = distinct_digits(top["churn_probability"])
    for r in top.itertuples():
        reason = r.reason_1_text if isinstance(r.reason_1_text, str) else ""
        risk, value = f"{r.churn_probability:.{digits}f}", f"{r.value_at_risk:,.0f}"
        cells = (r.customer_id, risk, r.risk_tier, value, reason, r.action)
        t.add_row(*(escape(str(c)) for c in cells))
    return line, t


def _volumes(day: Path) -> list[str]:
    fc = pd.read_csv(day / "forecast.csv")
    lines = []
    for sid, label in (("tickets/total", "tickets"), ("requirements/total", "requests")):
        g = fc[fc["series_id"] == sid]
        if len(g):
            lines.append(
                f"{label}: {g['yhat'].sum():,.0f} over the next {len(g)} days "
                f"(daily 80% intervals summed {g['yhat_lower'].sum():,.0f}-{g['yhat_upper'].sum():,.0f}); "
                f"tomorrow {g['yhat'].iloc[0]:.0f}"
            )
    staff = pd.read_csv(day / "staffing.csv")
    peak = staff.groupby("channel")["agents"].max()
    lines.append("peak agents per hour, next 72 h: " + ", ".join(f"{c} {int(n)}" for c, n in peak.items()))
    return lines


def _kpis(day: Path) -> list[str]:
    kpis = pd.read_csv(day / "kpis.csv")
    overall = kpis[(kpis["scope"] == "overall") & kpis["target"].notna()]
    missed = overall[overall["met"].astype(str) == "False"]
    lines = [f"{len(overall) - len(missed)} of {len(overall)} targets met"]
    for r in missed.itertuples():
        sign = ">=" if r.direction == "min" else "<="
        lines.append(f"  missed: {r.kpi} {r.value:.3g} (target {sign} {r.target:g})")
    return lines


def _alerts(day: Path, top: int = 3) -> list[str]:
    alerts = [json.loads(x) for x in (day / "alerts.jsonl").read_text().splitlines() if x.strip()]
    if not alerts:
        return ["no alerts today"]
    levels = Counter(a["level"] for a in alerts)
    kinds = Counter(a["kind"] for a in alerts)
    lines = [
        f"{len(alerts)} today: "
        + " · ".join(f"{lv} {levels[lv]}" for lv in sorted(levels, key=lambda x: LEVEL_ORDER.get(x, 9)))
        + "  by kind: "
        + ", ".join(f"{k} {n}" for k, n in kinds.most_common())
    ]
    ranked = sorted(alerts, key=lambda a: LEVEL_ORDER.get(a["level"], 9))
    lines += [escape(f"  [{a['level']}] {a['message']}") for a in ranked[:top]]
    return lines


def _retention(day: Path) -> list[str]:
    """Today's contacts against the control group, and what past campaigns achieved."""
    lines = []
    if (day / "targeting.parquet").exists():
        listed = pd.read_parquet(day / "targeting.parquet", columns=["group", "listed"])
        groups = listed.loc[listed["listed"], "group"].value_counts()
        lines.append(
            f"tomorrow: {groups.get('treatment', 0):,} customers to contact, "
            f"{groups.get('control', 0):,} kept as a random control group"
        )
    if (day / "campaign_report.json").exists():
        report = json.loads((day / "campaign_report.json").read_text())
        lines.append(f"past campaigns: {report['listings']:,} listed, effect = churn treated - control")
        for row in report["actions"][:4]:
            if row["ci_low"] is None:
                lines.append(f"  {row['action']}: too few customers to tell")
                continue
            interval = f"95% CI {row['ci_low']:+.3f} to {row['ci_high']:+.3f}"
            lines.append(f"  {row['action']}: {row['effect']:+.3f} ({interval}), {row['saved']:.0f} saved")
    return lines or ["no contacts table: no control group or campaign report"]


def steps_line(steps: list[dict]) -> str:
    """'12 of 13 steps ok; skipped: decay (no earlier list)'; failed and not-run steps by name."""
    ok = sum(s["status"] == "ok" for s in steps)
    parts = [f"{ok} of {len(steps)} steps ok"]
    for status in ("skipped", "failed", "not run"):
        named = [
            f"{s['step']} ({s['reason']})" if s.get("reason") else s["step"]
            for s in steps
            if s["status"] == status
        ]
        if named:
            parts.append(f"{status}: {', '.join(named)}")
    return "; ".join(parts)


def demo(
    fresh: bool = typer.Option(False, "--fresh", help="Regenerate the sample data even if it exists."),
) -> None:
    """Generate the sample data, train and promote both models, run the daily job, show the results."""
    cfg = settings()
    log = cfg.home / "logs" / "demo.log"
    started = time.perf_counter()
    with output_to(log) as screen:
        run = _run(cfg, fresh, screen)
    screen = Console(width=min(WIDTH, shutil.get_terminal_size().columns))
    day = run["daily"].day_dir
    screen.rule(f"needradar demo: {run['customers']:,} sample customers, as of {run['as_of']}")
    screen.print(_models(run))
    line, top = _at_risk(day)
    screen.print(f"[bold]At risk[/bold]  {line}")
    screen.print(top)
    screen.print("[bold]Volumes[/bold]  " + "\n         ".join(_volumes(day)))
    screen.print("[bold]Service KPIs[/bold]  " + "\n".join(_kpis(day)))
    screen.print("[bold]Retention[/bold]  " + "\n".join(_retention(day)))
    screen.print("[bold]Alerts[/bold]  " + "\n".join(_alerts(day)))
    took = f"demo took {time.perf_counter() - started:.0f} s"
    screen.print("[bold]Daily job[/bold]  " + escape(steps_line(run["daily"].steps)) + f"; {took}")
    screen.print(f"outputs: {day}\nlibrary logs (MLflow, Prophet, Stan): {log}")
    screen.print(f"MLflow UI: mlflow ui --backend-store-uri {cfg.tracking_uri}")
    screen.rule()
    screen.print(f"Dashboard: http://127.0.0.1:{cfg.serving.port}/ui  (API docs: /docs); start it with:")
    screen.print("  NEEDRADAR_API_KEY=<choose a key> needradar serve")
