"""A trained runtime home (tiny models, real MLflow registry, one daily run), built once per test run
by `needradar demo` itself.

Training it is the most expensive set-up in the suite, and the demo's own test and five other test
modules need one. It is built once into a template folder shared by the xdist workers (the first
worker to need it builds it under a file lock, the other waits): the demo runs as a new user runs
it, in a subprocess, and what it printed (with its library log) is kept beside the template for the
demo's test. Each module gets its own copy of the template to change freely. The copy names only
itself: every absolute path to the template (MLflow's artifact locations and model sources in its
SQLite registry, the daily run's log) is rewritten, and a leftover reference fails the set-up.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
SMALL_CONFIG = {
    "sample": {"customers": 600, "days": 400, "seed": 7},  # the data of the `sample` fixture
    "churn": {"lightgbm": {"n_estimators": 60, "learning_rate": 0.1, "num_leaves": 15}, "n_cutoffs": 6},
    "forecast": {
        "backtest_folds": 1,
        "evidence_windows": 2,
        "models": ["lightgbm", "seasonal_naive", "auto_ets"],
    },
}
DEMO_COLUMNS = 100  # the terminal width the demo is run in
_DEMO = "trained-template-demo"  # beside the template: what the demo printed, and its library log
_SCREEN = "screen.json"  # written last, so it also marks a finished build
_SQLITE = b"SQLite format 3\x00"


def home_env(home: Path) -> dict[str, str]:
    """The environment that points needradar and MLflow at `home`."""
    return {
        "NEEDRADAR_HOME": str(home),
        "MLFLOW_TRACKING_URI": f"sqlite:///{home}/mlflow.db",
        "NEEDRADAR_CONFIG": str(home / "needradar.yaml"),
    }


def shared_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The template home of this test run, built by whichever worker asks first."""
    base = tmp_path_factory.getbasetemp()
    root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base  # shared by the workers
    template = root / "trained-template"
    with (root / "trained-template.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not (root / _DEMO / _SCREEN).exists():
            for folder in (template, root / _DEMO):
                shutil.rmtree(folder, ignore_errors=True)
                folder.mkdir()
            _build(template, root / _DEMO)
    screen = demo_screen(template)
    if screen["returncode"] != 0:  # every module that needs the home says why it has none
        pytest.fail(f"`needradar demo` failed building the trained home: {screen['stderr'][-2000:]}")
    return template


def demo_screen(template: Path) -> dict:
    """What `needradar demo` printed building `template` (returncode, stdout, stderr) and its log."""
    evidence = template.parent / _DEMO
    screen = json.loads((evidence / _SCREEN).read_text())
    log = evidence / "demo.log"
    return screen | {"log": log.read_text() if log.exists() else ""}


def _build(home: Path, evidence: Path) -> None:
    """`needradar demo` as a new user runs it, with the small config: it generates the sample data,
    trains and promotes champions for churn and volume and publishes the daily outputs of the data's
    last day. Its screen and its library log go to `evidence`, outside the home that is copied."""
    (home / "needradar.yaml").write_text(yaml.safe_dump(SMALL_CONFIG))
    env = {**os.environ, **home_env(home), "COLUMNS": str(DEMO_COLUMNS)}
    demo = subprocess.run(
        [sys.executable, "-m", "needradar", "demo"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    log = home / "logs" / "demo.log"
    if log.exists():
        shutil.move(log, evidence / "demo.log")
    screen = {"returncode": demo.returncode, "stdout": demo.stdout, "stderr": demo.stderr}
    (evidence / _SCREEN).write_text(json.dumps(screen))


def copy_home(template: Path, home: Path):
    """Copy the template into `home`, pointing every path at the copy; the demo's daily run, read
    back from the copy's run log."""
    from pipelines.daily import DailyResult

    shutil.copytree(template, home, dirs_exist_ok=True)
    old, new = str(template), str(home)
    for path in home.rglob("*"):
        if path.is_file():
            _repoint(path, old, new)
    leftover = [str(p) for p in home.rglob("*") if p.is_file() and old.encode() in p.read_bytes()]
    assert not leftover, f"still naming the template {old}: {leftover}"
    (run_log,) = home.glob("out/*/run_log.json")  # the one day the demo ran
    log = json.loads(run_log.read_text())
    return DailyResult(log["as_of"], run_log.parent, log["steps"], log["outputs"], log["models"])


def _repoint(path: Path, old: str, new: str) -> None:
    raw = path.read_bytes()
    if raw.startswith(_SQLITE):
        _repoint_sqlite(path, old, new)
    elif old.encode() in raw:
        path.write_text(raw.decode().replace(old, new))  # a binary file naming the template fails here


def _repoint_sqlite(path: Path, old: str, new: str) -> None:
    with closing(sqlite3.connect(path)) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            for column in db.execute(f'PRAGMA table_info("{table}")').fetchall():
                name, kind = column[1], column[2].upper()
                if any(t in kind for t in ("CHAR", "TEXT", "CLOB")) or not kind:
                    update = f'UPDATE "{table}" SET "{name}" = replace("{name}", ?, ?)'
                    db.execute(f'{update} WHERE instr("{name}", ?) > 0', (old, new, old))
        db.commit()
        db.execute("VACUUM")  # no freed page keeps the old text
