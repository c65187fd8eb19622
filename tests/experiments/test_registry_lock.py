"""The registry under faults: a crash between the alias and the history tag, concurrent writers,
and no raw customer id in what MLflow stores."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import mlflow
import pandas as pd
import pytest
from mlflow import MlflowClient

from core.config import load_config
from experiments import registry
from experiments.tracking import use_tracking
from tests.experiments.test_registry import _register

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    home = tmp_path_factory.mktemp("registry_lock")
    mp = pytest.MonkeyPatch()
    mp.setenv("NEEDRADAR_HOME", str(home))
    mp.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{home}/mlflow.db")
    use_tracking(load_config())
    yield home
    mp.undo()


@pytest.fixture(scope="module")
def settings(store):
    """Settings resolved with this module's store (they no longer follow later changes of the environment)."""
    return load_config()


CRASH_IN_ROLLBACK = textwrap.dedent(
    """
    import os
    from mlflow import MlflowClient
    from core.config import load_config
    from experiments import registry

    def crash(*args, **kwargs):
        os._exit(3)  # the process dies after moving the alias, before writing the history

    MlflowClient.set_registered_model_tag = crash
    registry.rollback("churn", load_config())
    """
)


def _state(settings) -> tuple[int, list[int]]:
    client = MlflowClient()
    name = registry.model_name("churn", settings)
    return int(client.get_model_version_by_alias(name, "champion").version), registry._history(client, name)


def test_crash_between_alias_and_history_is_repaired_by_the_next_command(store, settings):
    v1 = _register(settings, 2.0)
    registry.promote("churn", settings)
    v2 = _register(settings, 2.0)
    registry.promote("churn", settings, force=True)
    assert _state(settings) == (v2, [v1, v2])

    crashed = subprocess.run([sys.executable, "-c", CRASH_IN_ROLLBACK], env=dict(os.environ), timeout=300)
    assert crashed.returncode == 3
    assert _state(settings) == (v1, [v1, v2])  # torn: alias moved back, history not
    registry.list_versions(settings, "churn")  # any next registry command repairs it
    assert _state(settings) == (v1, [v1])
    assert not list((store / "registry").glob("*.pending.json"))


def test_writers_wait_for_the_lock(store, settings):
    _register(settings, 2.0)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import time; from core.config import load_config; from experiments import registry\n"
            "with registry.registry_lock(load_config()):\n"
            "    print('held', flush=True); time.sleep(4); print(time.time(), flush=True)",
        ],
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "held"
    registry.promote("churn", settings, force=True)
    finished = time.time()
    released = float(holder.stdout.readline())
    assert finished > released  # it waited for the holder instead of racing it
    holder.wait(30)


def test_holdout_in_mlflow_carries_pseudonyms_only(store, settings):
    loaded = registry.load("churn", settings)
    holdout = registry.training_holdout(loaded)
    raw = {f"C{i}" for i in range(800)}
    assert holdout["customer_id"].str.startswith("p_").all() and not raw & set(holdout["customer_id"])
    path = mlflow.artifacts.download_artifacts(run_id=loaded.run_id, artifact_path="holdout/holdout.parquet")
    assert not raw & set(pd.read_parquet(path)["customer_id"])


def test_registering_again_keeps_the_holdout_pseudonyms(store, settings):
    _register(settings, 2.0)
    before = registry.training_holdout(registry.load("churn", settings, "challenger"))
    version = registry.register_again("churn", settings, "challenger")
    again = registry.load("churn", settings, "challenger")
    assert again.version == version
    pd.testing.assert_frame_equal(registry.training_holdout(again), before)  # not hashed twice
