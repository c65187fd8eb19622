"""Keyed pseudonyms, the suppression list, and sensitive columns that never become features."""

from __future__ import annotations

import pandas as pd
import pytest

from core.config import Settings, load_config
from core.privacy import drop_suppressed, pseudonym, pseudonymise, suppress, without_sensitive


@pytest.fixture
def cfg(tmp_path, monkeypatch) -> Settings:
    monkeypatch.setenv("NEEDRADAR_HOME", str(tmp_path))
    monkeypatch.setenv("NEEDRADAR_PSEUDONYM_KEY", "k1")
    return load_config()


def test_pseudonyms_are_keyed_and_stable(cfg, monkeypatch):
    ids = pd.Series(["C1", "C2", "C1"])
    first = pseudonymise(ids, cfg)
    assert first[0] == first[2] != first[1] and first.str.match(r"^p_[0-9a-f]{20}$").all()
    monkeypatch.setenv("NEEDRADAR_PSEUDONYM_KEY", "k2")
    assert (pseudonymise(ids, cfg) != first).all()
    assert pseudonym("C1", b"k1") == first[0]


def test_without_a_key_in_the_environment_the_home_keeps_one(cfg, monkeypatch, tmp_path):
    monkeypatch.delenv("NEEDRADAR_PSEUDONYM_KEY")
    a = pseudonymise(pd.Series(["C1"]), cfg)[0]
    assert oct((tmp_path / ".pseudonym_key").stat().st_mode & 0o777) == "0o600"
    assert pseudonymise(pd.Series(["C1"]), cfg)[0] == a


def test_suppressed_customers_leave_later_frames_and_the_list_holds_no_raw_id(cfg, tmp_path):
    suppress(["C7"], cfg)
    frame = pd.DataFrame({"customer_id": ["C1", "C7", "C70"], "x": [1, 2, 3]})
    assert drop_suppressed(frame, cfg)["customer_id"].tolist() == ["C1", "C70"]
    assert "C7" not in (tmp_path / "privacy" / "suppressed.txt").read_text()


def test_sensitive_columns_are_dropped_case_blind(cfg):
    frame = pd.DataFrame({"customer_id": [1], "Email": ["a@b"], "phone": [1], "age": [30]})
    assert list(without_sensitive(frame, cfg)) == ["customer_id", "age"]


def test_sensitive_columns_never_become_features_nor_reach_quarantine(settings, sample, tmp_path):
    from features.load import load_event_data, write_event_data
    from features.vectors import build_vectors

    customers = sample.events.customers.assign(
        phone=range(len(sample.events.customers)), age=30.0, email="x@example.com"
    )
    events = sample.events.__class__(**{**sample.events.tables(), "customers": customers})
    day = sample.events.last_event_ts()
    columns = build_vectors(events, day, settings).columns
    assert "age" in columns and "phone" not in columns and "email" not in columns

    write_event_data(events, tmp_path / "data")
    bad = pd.read_csv(tmp_path / "data" / "customers.csv")
    bad.loc[0, "monthly_fee"] = "lots"
    bad.to_csv(tmp_path / "data" / "customers.csv", index=False)
    loaded = load_event_data(tmp_path / "data", settings, quarantine_dir=tmp_path / "q")
    assert "phone" not in loaded.customers and "age" in loaded.customers
    assert "email" not in pd.read_csv(tmp_path / "q" / "customers.csv").columns
