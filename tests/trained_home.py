"""A trained runtime home (tiny models, real MLflow registry, one daily run), built once per test run.

Training it is the most expensive set-up in the suite, and four test modules need one. It is built
once into a template folder shared by the xdist workers (the first worker to need it builds it under
a file lock, the other waits), and each module gets its own copy to change freely. The copy names
only itself: every absolute path to the template (MLflow's artifact locations and model sources in
its SQLite registry, the daily run's log) is rewritten, and a leftover reference fails the set-up.
"""

from __future__ import annotations

import fcntl
import os
import pickle
import shutil
import sqlite3
from contextlib import closing
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

SMALL_CONFIG = {
    "churn": {"lightgbm": {"n_estimators": 60, "learning_rate": 0.1, "num_leaves": 15}, "n_cutoffs": 6},
    "forecast": {
        "backtest_folds": 1,
        "evidence_windows": 2,
        "models": ["lightgbm", "seasonal_naive", "auto_ets"],
    },
}
_BUILT = "_built.pickle"  # the daily run's result; written last, so it also marks a finished build
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
        if not (template / _BUILT).exists():
            shutil.rmtree(template, ignore_errors=True)
            template.mkdir()
            _build(template)
    return template


def _build(home: Path) -> None:
    """Sample data, champions for churn and volume, and the daily outputs of the data's last day."""
    from core.config import load_config
    from experiments.churn_experiment import train_and_register as train_churn
    from experiments.registry import promote
    from experiments.volume_experiment import train_and_register as train_volume
    from features.generate import generate_sample
    from features.load import write_event_data
    from pipelines.daily import run_daily

    (home / "needradar.yaml").write_text(yaml.safe_dump(SMALL_CONFIG))
    mp = pytest.MonkeyPatch()
    for k, v in home_env(home).items():
        mp.setenv(k, v)
    try:
        cfg = load_config()
        sample = generate_sample(cfg, customers=600, days=400, seed=7)
        data = home / "data"
        write_event_data(sample.events, data)
        train_churn(sample.events, cfg)
        train_volume(sample.events, cfg)
        promote("churn", cfg)
        promote("volume", cfg)
        as_of = f"{sample.events.last_event_ts():%Y-%m-%d}"
        result = run_daily(data, as_of, cfg.path("output"), cfg)
        (home / _BUILT).write_bytes(pickle.dumps(result))
    finally:
        mp.undo()


def copy_home(template: Path, home: Path):
    """Copy the template into `home`, pointing every path at the copy; the daily run's result, moved."""
    shutil.copytree(template, home, dirs_exist_ok=True)
    (home / _BUILT).unlink()
    old, new = str(template), str(home)
    for path in home.rglob("*"):
        if path.is_file():
            _repoint(path, old, new)
    leftover = [str(p) for p in home.rglob("*") if p.is_file() and old.encode() in p.read_bytes()]
    assert not leftover, f"still naming the template {old}: {leftover}"
    result = pickle.loads((template / _BUILT).read_bytes())
    return replace(
        result,
        day_dir=Path(str(result.day_dir).replace(old, new)),
        outputs={name: where.replace(old, new) for name, where in result.outputs.items()},
    )


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
