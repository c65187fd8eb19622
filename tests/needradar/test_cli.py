import subprocess
import sys

from typer.testing import CliRunner

from needradar.cli import app


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "needradar", *args], capture_output=True, text=True, timeout=120
    )


def test_help_explains_every_command():
    result = CliRunner().invoke(app, ["--help"])
    for command in ("data", "features", "churn", "models", "forecast", "monitor", "serve", "daily", "demo"):
        assert command in result.stdout


def test_user_errors_are_one_line_with_exit_2(tmp_path):
    r = _run(
        "features", "build", "--data", str(tmp_path / "nope"), "--as-of", "2026-01-01", "--out", "x.parquet"
    )
    assert r.returncode == 2
    assert r.stderr.strip() == f"error: {tmp_path / 'nope'}: no such folder or file"


def test_as_of_outside_the_data(sample_dir, tmp_path):
    r = _run(
        "features",
        "build",
        "--data",
        str(sample_dir),
        "--as-of",
        "1990-01-01",
        "--out",
        str(tmp_path / "v.parquet"),
    )
    assert r.returncode == 2 and "as-of date 1990-01-01 is outside the data" in r.stderr


def test_generate_and_build(tmp_path):
    r = _run(
        "data", "generate", "--out", str(tmp_path / "d"), "--customers", "200", "--days", "120", "--json"
    )
    assert r.returncode == 0, r.stderr
    r = _run(
        "features",
        "build",
        "--data",
        str(tmp_path / "d"),
        "--as-of",
        "2026-11-01",
        "--out",
        str(tmp_path / "v.csv"),
        "--json",
    )
    assert r.returncode == 0, r.stderr
    assert '"rows":' in r.stdout and (tmp_path / "v.csv").exists()


def test_campaign_report_json(tmp_path, settings):
    import json

    from features.campaigns import write_truth
    from features.generate import generate_sample
    from features.load import write_event_data

    sample = generate_sample(settings, customers=1500, days=400, seed=9)
    write_event_data(sample.events, tmp_path / "data")
    write_truth(sample.effects, tmp_path / "data", sample.contact_truth)
    r = _run(
        "campaign", "report", "--data", str(tmp_path / "data"), "--json", "--out", str(tmp_path / "r.json")
    )
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert json.loads((tmp_path / "r.json").read_text())["actions"] == report["actions"]
    keys = {"action", "treated", "control", "churn_treated", "churn_control", "effect", "ci_low", "ci_high"}
    assert all(keys | {"saved", "cost", "cost_per_saved"} <= set(row) for row in report["actions"])
    assert {row["action"] for row in report["actions"]} <= set(
        json.loads((tmp_path / "data" / "_truth.json").read_text())["effect"]
    )
    # Without a contacts table: one clear line.
    (tmp_path / "data" / "contacts.csv").unlink()
    r = _run("campaign", "report", "--data", str(tmp_path / "data"))
    assert r.returncode == 2 and "no contacts table" in r.stderr


def test_demo_summary_says_skipped_not_failed():
    from needradar.commands.demo import steps_line

    steps = [
        {"step": "load", "status": "ok"},
        {"step": "decay", "status": "skipped", "reason": "no earlier at-risk list"},
        {"step": "drift", "status": "failed", "error": "boom"},
        {"step": "report", "status": "not run", "reason": "nothing from drift"},
    ]
    line = steps_line(steps)
    assert line == (
        "1 of 4 steps ok; skipped: decay (no earlier at-risk list); failed: drift; "
        "not run: report (nothing from drift)"
    )
    assert "not ok" not in steps_line(steps[:2])
