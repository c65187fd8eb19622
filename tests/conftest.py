"""Shared fixtures: an isolated runtime home per test session, settings, and small sample data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from core.config import Settings, load_config


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Files with slow tests first, so that the test workers start the long files early and end
    together on the short ones (`make test` keeps this order with --no-loadscope-reorder).

    Among the slow files, one that needs the trained home comes first: its worker builds the home
    (`needradar demo`, the longest set-up) while the other runs the slow files that do not need it;
    the other files that need it come after those, when it is built, instead of waiting for it.
    """
    slow = {item.path for item in items if item.get_closest_marker("slow")}
    homed = [item.path for item in items if "trained_template" in item.fixturenames]
    builder = homed[0] if homed else None

    def rank(item: pytest.Item) -> int:
        if item.path not in slow:
            return 3
        return 0 if item.path == builder else 2 if item.path in homed else 1

    items.sort(key=rank)  # stable: collection order otherwise


@pytest.fixture(scope="session", autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """No test writes into the repo's var/: runtime state and MLflow go to a temp folder."""
    home = tmp_path_factory.mktemp("home")
    os.environ["NEEDRADAR_HOME"] = str(home)
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{home}/mlflow.db"
    os.environ.pop("NEEDRADAR_CONFIG", None)
    return home


@pytest.fixture(scope="session")
def settings() -> Settings:
    return load_config()


@pytest.fixture(scope="session")
def sample(settings: Settings):
    """A small generated sample (in memory): 600 customers over 400 days, fixed seed."""
    from features.generate import generate_sample

    return generate_sample(settings, customers=600, days=400, seed=7)


@pytest.fixture(scope="session")
def sample_dir(sample, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small sample written as a data folder (CSV), as a user would hand it over."""
    from features.load import write_event_data

    out = tmp_path_factory.mktemp("sample")
    write_event_data(sample.events, out)
    sample.truth.to_csv(out / "truth.csv", index=False)
    return out


@pytest.fixture(scope="session")
def cluster():
    """One real local Dask cluster for the session: two worker processes, one thread each."""
    from core.cluster import dask_client

    with dask_client("local:2") as client:
        yield client


@pytest.fixture(scope="session")
def trained_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Tiny champions for churn and volume and one daily run, built once for the whole run by
    `needradar demo` (tests/trained_home.py)."""
    from tests.trained_home import shared_template

    return shared_template(tmp_path_factory)


@pytest.fixture(scope="module")
def trained_home(trained_template: Path, tmp_path_factory: pytest.TempPathFactory):
    """A module's own copy of the trained home (sample data, registry, the last day's outputs)."""
    import pandas as pd

    from tests.trained_home import copy_home, home_env

    home = tmp_path_factory.mktemp("served")
    daily = copy_home(trained_template, home)
    env = home_env(home)
    mp = pytest.MonkeyPatch()
    for k, v in env.items():
        mp.setenv(k, v)
    customers = pd.read_parquet(daily.outputs["vectors.parquet"])["customer_id"].tolist()
    settings = load_config()
    yield {
        "home": home,
        "env": env,
        "data": settings.path("sample_data"),  # where the demo put the sample data
        "as_of": daily.as_of,
        "daily": daily,
        "settings": settings,
        "customers": customers,
    }
    mp.undo()  # restores the session's isolated home
