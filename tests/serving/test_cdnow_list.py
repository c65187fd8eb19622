"""The at-risk list on a real purchase log (CDNOW: customers and transactions, nothing else),
run as a user would: import, train, promote, score from the command line."""

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from needradar.cli import app
from tests.serving.reason_checks import problems

pytestmark = pytest.mark.slow
# Cutoffs one 90-day horizon apart: with the gap of one horizon before the holdout cutoff, the
# three before it all train or validate (30 days apart, only the first would).
SMALL = {
    "churn": {
        "lightgbm": {"n_estimators": 60, "learning_rate": 0.1, "num_leaves": 15},
        "n_cutoffs": 4,
        "cutoff_every_days": 90,
    }
}


@pytest.fixture(scope="module")
def cdnow_list(tmp_path_factory):
    pytest.importorskip("lifetimes")
    home = tmp_path_factory.mktemp("cdnow")
    config = home / "needradar.yaml"
    config.write_text(yaml.safe_dump(SMALL))
    mp = pytest.MonkeyPatch()
    mp.setenv("NEEDRADAR_HOME", str(home))
    mp.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{home}/mlflow.db")
    mp.setenv("NEEDRADAR_CONFIG", str(config))
    runner, data, out = CliRunner(), home / "data", home / "at_risk.parquet"
    for args in (
        ["data", "import", "cdnow", "--out", str(data)],
        ["churn", "train", "--data", str(data), "--horizon-days", "90"],
        ["models", "promote", "churn"],
        ["churn", "score", "--data", str(data), "--as-of", "1998-06-30", "--out", str(out), "--top", "5000"],
    ):
        r = runner.invoke(app, args)
        assert r.exit_code == 0, (args, r.output, r.exception)
    listed = runner.invoke(app, ["models", "list", "--task", "churn"], terminal_width=80)
    yield pd.read_parquet(out), listed.output
    mp.undo()


def test_the_already_lapsed_are_listed_apart_for_win_back(cdnow_list):
    scored, _ = cdnow_list
    lapsed = scored["lapsed"]
    assert 0 < lapsed.mean() < 1
    assert not lapsed.iloc[: (~lapsed).sum()].any()  # everyone who can still be kept comes first
    assert (scored.loc[lapsed, "risk_tier"] == "lapsed").all()
    assert (scored.loc[lapsed, "action"] == "win_back").all()


def test_tiers_mean_something_and_the_top_is_red(cdnow_list):
    scored, _ = cdnow_list
    active = scored[~scored["lapsed"]]
    assert active["risk_tier"].iloc[0] == "red"
    shares = active["risk_tier"].value_counts(normalize=True)
    assert shares.max() < 0.9 and shares.get("red", 0) < 0.2 and len(shares) >= 3, shares


def test_value_at_risk_uses_lifetime_value(cdnow_list):
    scored, _ = cdnow_list
    assert (scored["customer_value"] > 0).mean() > 0.95
    assert (scored["value_at_risk"] > 0).mean() > 0.95


def test_actions_vary_with_the_reasons_and_low_risk_gets_no_agent(cdnow_list):
    scored, _ = cdnow_list
    active = scored[~scored["lapsed"]]
    assert active["action"].nunique() >= 3, active["action"].value_counts()
    low = scored[scored["risk_tier"].isin(["green", "yellow"])]
    assert not low["channel"].str.contains("dedicated_agent").any()


def test_reasons_read_as_plain_words(cdnow_list):
    scored, _ = cdnow_list
    explained = scored[scored["reason_1_text"].notna()]
    assert len(explained) > 1000
    assert problems(scored) == []


def test_models_list_shows_horizon_and_data_window_in_full(cdnow_list):
    _, listed = cdnow_list
    assert "90" in listed and "1997-01-01" in listed and "1998-06-30" in listed
    assert "…" not in listed
