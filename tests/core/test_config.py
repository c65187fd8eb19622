from pathlib import Path

import pytest

from core.config import DEFAULT_CONFIG, Settings, load_config
from core.errors import ConfigError


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "c.yaml"
    p.write_text(text)
    return p


def test_committed_config_equals_code_defaults():
    # configs/needradar.yaml spells every default out; drifting from the code would hide changes.
    assert load_config(DEFAULT_CONFIG, environ={}) == Settings()


def test_domain_defaults():
    s = Settings()
    assert s.tickets.category_mix["product_quality"] == 0.40
    assert s.tickets.first_response_hours["urgent"] == 1
    assert s.retention.channels["store_visit"].cost == 28
    assert s.alerts.levels["orange"].respond_within_hours == 4
    assert s.kpis.first_response_rate_target == 0.90


def test_unknown_key_is_named(tmp_path):
    with pytest.raises(ConfigError, match=r"churn\.horizon_dayz: unknown key"):
        load_config(_write(tmp_path, "churn:\n  horizon_dayz: 30\n"))


def test_bad_value_is_named(tmp_path):
    with pytest.raises(ConfigError, match=r"churn\.horizon_days: Input should be greater than 0"):
        load_config(_write(tmp_path, "churn:\n  horizon_days: -1\n"))


def test_mix_must_sum_to_one(tmp_path):
    text = "tickets:\n  channel_mix: {app: 0.5, phone: 0.2}\n"
    with pytest.raises(ConfigError, match="channel_mix must sum to 1"):
        load_config(_write(tmp_path, text))


def test_risk_tiers_must_be_ordered(tmp_path):
    text = "churn:\n  risk_tiers: {red: 0.1, orange: 0.3, yellow: 0.2}\n"
    with pytest.raises(ConfigError, match="red >= orange >= yellow"):
        load_config(_write(tmp_path, text))
    with pytest.raises(ConfigError, match="red >= orange >= yellow"):
        load_config(_write(tmp_path, "churn:\n  risk_tiers: {red: 0.1, yellow: 0.2}\n"))
    floors = load_config(_write(tmp_path, "churn:\n  risk_tiers: {red: 0.2}\n")).churn.risk_tiers
    assert floors["red"] == 0.2 and floors.get("orange") is None
    assert load_config(_write(tmp_path, "")).churn.risk_tiers == {"red": None, "orange": None, "yellow": None}


def test_missing_and_invalid_files(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(_write(tmp_path, "churn: [unclosed\n"))
    with pytest.raises(ConfigError, match="expected a mapping"):
        load_config(_write(tmp_path, "- a\n- b\n"))


def test_without_environment_the_file_decides(tmp_path):
    s = load_config(_write(tmp_path, "paths:\n  home: /srv/needradar\n"), environ={})
    assert s.home == Path("/srv/needradar")
    assert s.tracking_uri == "sqlite:////srv/needradar/mlflow.db"
    assert s.optuna_storage == "sqlite:////srv/needradar/optuna.db"
    assert s.path("output") == Path("/srv/needradar/out")
    assert s.api_key == "" and s.dask_address is None


def test_environment_overrides_are_applied_once(monkeypatch, tmp_path):
    environ = {
        "NEEDRADAR_HOME": str(tmp_path),
        "NEEDRADAR_API_KEY": "k-123",
        "NEEDRADAR_DASK": "tcp://scheduler:8786",
    }
    monkeypatch.setattr("os.environ", environ)  # load_config reads os.environ by default
    s = load_config()
    assert s.home == tmp_path
    assert s.tracking_uri == f"sqlite:///{tmp_path}/mlflow.db"
    assert s.path("output") == tmp_path / "out"
    assert s.api_key == "k-123" and s.dask_address == "tcp://scheduler:8786"
    environ.update({"MLFLOW_TRACKING_URI": "http://tracking.example:5000", "NEEDRADAR_HOME": "/elsewhere"})
    # settings are plain values: changing the environment later changes nothing
    assert s.tracking_uri == f"sqlite:///{tmp_path}/mlflow.db" and s.home == tmp_path
    assert load_config().tracking_uri == "http://tracking.example:5000"


def test_the_api_key_comes_from_the_variable_the_config_names(tmp_path):
    path = _write(tmp_path, "serving:\n  api_key_env: ACME_RADAR_KEY\n")
    s = load_config(path, environ={"ACME_RADAR_KEY": "secret-1", "NEEDRADAR_API_KEY": "other"})
    assert s.api_key == "secret-1"
    assert "secret-1" not in repr(s) and "secret-1" not in s.model_dump_json()


def test_runtime_values_are_not_file_keys(tmp_path):
    with pytest.raises(ConfigError, match=r"tracking_uri: unknown key"):
        load_config(_write(tmp_path, "tracking_uri: sqlite:///x.db\n"), environ={})


def test_removed_keys_are_unknown(tmp_path):
    with pytest.raises(ConfigError, match=r"serving\.page_size: unknown key"):
        load_config(_write(tmp_path, "serving:\n  page_size: 100\n"), environ={})


def test_settings_are_frozen():
    s = Settings()
    with pytest.raises(ValueError, match="frozen"):
        s.home = Path("/tmp")
