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
    assert load_config(DEFAULT_CONFIG) == Settings()


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


def test_missing_and_invalid_files(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(_write(tmp_path, "churn: [unclosed\n"))
    with pytest.raises(ConfigError, match="expected a mapping"):
        load_config(_write(tmp_path, "- a\n- b\n"))


def test_environment_overrides_paths(monkeypatch, tmp_path):
    monkeypatch.setenv("NEEDRADAR_HOME", str(tmp_path))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    s = Settings()
    assert s.tracking_uri == f"sqlite:///{tmp_path}/mlflow.db"
    assert s.path("output") == tmp_path / "out"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://tracking.example:5000")
    assert s.tracking_uri == "http://tracking.example:5000"
