"""The at-risk list and the daily job with `--dask ADDRESS` on a real cluster write what they write
without it: on the trained home, whose daily outputs the demo wrote without a cluster.

Apart from test_dask_cli.py (training on the cluster) so that the two run on both test workers."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from needradar.cli import app

pytestmark = pytest.mark.slow


def run(*args) -> str:
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.output


def test_score_and_daily_on_a_cluster(trained_home, cluster):
    address, home = cluster.scheduler.address, trained_home["home"]
    data = ["--data", trained_home["data"]]
    as_of = f"{pd.Timestamp(trained_home['as_of']) - pd.Timedelta(days=10):%Y-%m-%d}"
    score = ["churn", "score", *data, "--as-of", as_of, "--top", "40"]
    run(*score, "--out", home / "here.parquet")
    run(*score, "--out", home / "there.parquet", "--dask", address)
    pd.testing.assert_frame_equal(
        pd.read_parquet(home / "there.parquet"), pd.read_parquet(home / "here.parquet")
    )

    day = trained_home["as_of"]
    run("daily", *data, "--as-of", day, "--out", home / "there", "--dask", address)
    here = trained_home["daily"].day_dir  # the demo's own run of the day, without a cluster
    there = home / "there" / day
    for name in ("vectors.parquet", "at_risk.parquet"):
        pd.testing.assert_frame_equal(pd.read_parquet(there / name), pd.read_parquet(here / name))
    pd.testing.assert_frame_equal(pd.read_csv(there / "forecast.csv"), pd.read_csv(here / "forecast.csv"))
