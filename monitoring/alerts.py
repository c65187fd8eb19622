"""One alert model for everything (volume surges, drift, decay, KPI breaches) and its sinks."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from pydantic import BaseModel

from core.config import Settings
from core.locks import file_lock

logger = logging.getLogger(__name__)

Level = Literal["yellow", "orange", "red"]
Kind = Literal["volume", "drift", "decay", "kpi", "needs", "feedback"]
LOG_LEVEL = {"yellow": logging.WARNING, "orange": logging.ERROR, "red": logging.CRITICAL}


class Alert(BaseModel):
    id: str
    kind: Kind
    level: Level
    subject: str
    ts: str
    actual: float | None = None
    expected: float | None = None
    message: str
    evidence: dict[str, Any] = {}
    owner: str
    channel: str
    raised_at: str = ""  # absent in files written before it existed
    respond_by: str


def make_alert(
    kind: Kind,
    level: Level,
    subject: str,
    ts: pd.Timestamp | str,
    message: str,
    settings: Settings,
    actual: float | None = None,
    expected: float | None = None,
    evidence: dict[str, Any] | None = None,
    rule: str = "",
) -> Alert:
    """An alert about day `ts`, with its channel and response deadline (from now) by level, its
    owner by kind, and a stable id so that the same alert is not raised twice for the same day."""
    ts = pd.Timestamp(ts)
    now = pd.Timestamp.now().floor("s")
    lv = settings.alerts.levels[level]
    key = f"{kind}|{subject}|{ts:%Y-%m-%d}|{rule}"
    return Alert(
        id=hashlib.sha1(key.encode()).hexdigest()[:16],
        kind=kind,
        level=level,
        subject=subject,
        ts=ts.isoformat(),
        actual=None if actual is None else round(float(actual), 4),
        expected=None if expected is None else round(float(expected), 4),
        message=message,
        evidence=evidence or {},
        owner=settings.alerts.owners.get(kind, "operations"),
        channel=lv.channel,
        raised_at=now.isoformat(),
        respond_by=(now + pd.Timedelta(hours=lv.respond_within_hours)).isoformat(),
    )


def read_alerts(path: Path) -> list[Alert]:
    """The alerts of a file; a line cut short by a crash is skipped with a warning."""
    if not path.exists():
        return []
    out = []
    for n, line in enumerate(path.read_text().splitlines(), start=1):
        if line.strip():
            try:
                out.append(Alert.model_validate_json(line))
            except ValueError:
                logger.warning("%s line %d: not a complete alert, skipped", path, n)
    return out


def emit(alerts: list[Alert], day_dir: Path, settings: Settings) -> list[Alert]:
    """Log, append to `day_dir/alerts.jsonl` and post to the webhook.

    The file is appended to (never rewritten) under a lock, so concurrent runs lose nothing and
    no id is written twice. Returns the alerts that were new for that day.
    """
    path = Path(day_dir) / "alerts.jsonl"
    with file_lock(path.with_name(".alerts.lock")):
        seen = {a.id for a in read_alerts(path)}
        new = []
        for a in alerts:
            if a.id not in seen:
                seen.add(a.id)
                new.append(a)
        with open(path, "a", encoding="utf-8") as f:  # one write: whole lines or, on a crash, a cut one
            f.write("".join(a.model_dump_json() + "\n" for a in new))
            f.flush()
            os.fsync(f.fileno())
    for a in new:
        logger.log(
            LOG_LEVEL[a.level],
            "[%s %s] %s (owner %s, respond by %s)",
            a.level.upper(),
            a.kind,
            a.message,
            a.owner,
            a.respond_by,
        )
    if new and settings.alerts.webhook_url:
        post_webhook(settings.alerts.webhook_url, new, path.with_name("alerts.dead-letter.jsonl"), settings)
    return new


def post_webhook(url: str, alerts: list[Alert], dead_letter: Path, settings: Settings) -> bool:
    """POST the alerts as JSON, retrying with exponential back-off; never fatal.

    Alerts that could not be delivered are appended to `dead_letter`. The URL (often a secret
    token) is never logged, only the status code or the kind of error.
    """
    import httpx

    cfg = settings.alerts
    payload = {"alerts": [json.loads(a.model_dump_json()) for a in alerts]}
    problem = ""
    for attempt in range(1, cfg.webhook_attempts + 1):
        try:
            r = httpx.post(url, json=payload, timeout=cfg.webhook_timeout_seconds)
            if r.status_code < 400:
                return True
            problem = f"HTTP {r.status_code}"
            if r.status_code < 500 and r.status_code != 429:
                break  # the receiver refuses this payload: retrying will not help
        except httpx.HTTPError as e:
            problem = type(e).__name__
        logger.warning("alert webhook attempt %d of %d failed: %s", attempt, cfg.webhook_attempts, problem)
        if attempt < cfg.webhook_attempts:
            time.sleep(cfg.webhook_backoff_seconds * 2 ** (attempt - 1))
    with file_lock(dead_letter.with_name(".dead-letter.lock")), open(dead_letter, "a", encoding="utf-8") as f:
        f.write("".join(a.model_dump_json() + "\n" for a in alerts))
    logger.error("alert webhook failed (%s); %d alert(s) kept in %s", problem, len(alerts), dead_letter)
    return False
