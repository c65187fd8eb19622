"""One alert model for everything (volume surges, drift, decay, KPI breaches) and its sinks."""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from pydantic import BaseModel

from core.config import Settings
from core.io import write_text

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
    if not path.exists():
        return []
    return [Alert.model_validate_json(line) for line in path.read_text().splitlines() if line.strip()]


def emit(alerts: list[Alert], day_dir: Path, settings: Settings) -> list[Alert]:
    """Log, append to `day_dir/alerts.jsonl` (atomically, no id twice) and post to the webhook.

    Returns the alerts that were new for that day.
    """
    path = Path(day_dir) / "alerts.jsonl"
    known = read_alerts(path)
    seen = {a.id for a in known}
    new = []
    for a in alerts:
        if a.id not in seen:
            seen.add(a.id)
            new.append(a)
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
    if new:
        write_text(path, "".join(a.model_dump_json() + "\n" for a in known + new))
        if settings.alerts.webhook_url:
            post_webhook(settings.alerts.webhook_url, new)
    elif not path.exists():
        write_text(path, "")
    return new


def post_webhook(url: str, alerts: list[Alert], timeout: float = 5.0) -> bool:
    """POST the alerts as JSON; a failure is logged, never fatal."""
    import httpx

    try:
        r = httpx.post(
            url, json={"alerts": [json.loads(a.model_dump_json()) for a in alerts]}, timeout=timeout
        )
        r.raise_for_status()
        return True
    except httpx.HTTPError as e:
        logger.error("webhook %s failed: %s", url, e)
        return False
