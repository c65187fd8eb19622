"""Every careless input a person makes gets one line that says what is wrong, and exit code 2."""

import sys

import pandas as pd
import pytest

from needradar.cli import main


def _error(monkeypatch, capsys, *args: str) -> str:
    """Run the CLI in-process as a user would; return its one stderr line."""
    monkeypatch.setattr(sys, "argv", ["needradar", *args])
    with pytest.raises(SystemExit) as e:
        main()
    assert e.value.code == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    return lines[0]


@pytest.mark.parametrize(
    ("as_of", "message"),
    [
        ("03/04/1998", "error: --as-of 03/04/1998 is ambiguous (which is the day, which the month?)"),
        ("tomorrow", "error: --as-of 'tomorrow' is not a date; use an ISO date YYYY-MM-DD"),
        ("1998-02-30", "error: --as-of 1998-02-30: there is no such day; use YYYY-MM-DD"),
    ],
)
def test_dates_are_iso_only(monkeypatch, capsys, sample_dir, tmp_path, as_of, message):
    args = ["--data", str(sample_dir), "--as-of", as_of]
    for command in (
        ["features", "build", *args, "--out", str(tmp_path / "v.parquet")],
        ["churn", "score", *args, "--out", str(tmp_path / "s.csv")],
        ["monitor", "kpis", *args],
        ["daily", *args],
    ):
        assert _error(monkeypatch, capsys, *command).startswith(message)
    cutoff = ["churn", "backtest", "--data", str(sample_dir), "--cutoff", as_of, "--horizon-days", "30"]
    assert _error(monkeypatch, capsys, *cutoff).startswith(message.replace("--as-of", "--cutoff"))


def test_an_output_folder_that_does_not_exist_is_not_created(monkeypatch, capsys, sample_dir, tmp_path):
    out = tmp_path / "nonexistent_dir" / "x.parquet"
    line = _error(
        monkeypatch,
        capsys,
        "features",
        "build",
        "--data",
        str(sample_dir),
        "--as-of",
        "2026-01-01",
        "--out",
        str(out),
    )
    assert line == f"error: --out {out}: the folder {out.parent} does not exist; create it first"
    assert not out.parent.exists()
    wrong = _error(
        monkeypatch,
        capsys,
        "features",
        "series",
        "--data",
        str(sample_dir),
        "--out",
        str(tmp_path / "x.xlsx"),
    )
    assert wrong == f"error: --out {tmp_path / 'x.xlsx'}: use a .csv or .parquet file name"


def test_negative_numbers_are_reported_as_given(monkeypatch, capsys, tmp_path):
    series = tmp_path / "s.csv"
    pd.DataFrame({"ds": pd.date_range("2024-01-01", periods=60), "y": range(60)}).to_csv(series, index=False)
    args = ["forecast", "backtest", "--series", str(series), "--time-col", "ds", "--value-col", "y"]
    assert _error(monkeypatch, capsys, *args, "--horizon", "-5") == "error: --horizon -5: must be at least 1"
    assert (
        _error(monkeypatch, capsys, "forecast", "predict", "--series", "tickets/total", "--horizon", "0")
        == "error: --horizon 0: must be at least 1"
    )
    assert _error(monkeypatch, capsys, "data", "generate", "--out", str(tmp_path), "--customers", "-3") == (
        "error: --customers -3: must be at least 1"
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "the file is empty (0 bytes)"),
        ("ds,y\n", "no rows (columns: ds, y)"),
        ("ds;y\n2024-01-01;3\n", "the columns are separated by semicolons, not commas"),
        ("ds\ty\n2024-01-01\t3\n", "the columns are separated by tabs, not commas"),
        ("\n\n", "the first line is empty; it must name the columns"),
    ],
)
def test_empty_and_wrongly_separated_files(monkeypatch, capsys, tmp_path, content, message):
    f = tmp_path / "series.csv"
    f.write_text(content)
    args = [
        "forecast",
        "backtest",
        "--series",
        str(f),
        "--time-col",
        "ds",
        "--value-col",
        "y",
        "--horizon",
        "7",
    ]
    assert _error(monkeypatch, capsys, *args).startswith(f"error: {f}: {message}")
    table = ["churn", "evaluate", "--table", str(f), "--label", "churned"]
    assert _error(monkeypatch, capsys, *table).startswith(f"error: {f}: {message}")


def test_empty_parquet_and_data_folder_tables(monkeypatch, capsys, sample_dir, tmp_path):
    empty = tmp_path / "series.parquet"
    empty.write_bytes(b"")
    args = ["forecast", "backtest", "--series", str(empty), "--time-col", "ds", "--value-col", "y"]
    assert (
        _error(monkeypatch, capsys, *args, "--horizon", "7") == f"error: {empty}: the file is empty (0 bytes)"
    )
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "customers.csv").write_text("customer_id;signup_ts\nC1;2024-01-01\n")
    line = _error(monkeypatch, capsys, "data", "validate", str(folder))
    assert (
        line
        == f"error: {folder / 'customers.csv'}: the columns are separated by semicolons, not commas; "
        + ("save the file as comma-separated CSV")
    )
