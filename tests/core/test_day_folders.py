import json

import pytest

from core.day_folders import (
    MARKER,
    _exchange,
    completed_days,
    publish,
    read_marker,
    staging_folder,
    stale_staging_folders,
)


def _stage(root, day, content):
    folder = staging_folder(root, day)
    (folder / "at_risk.csv").write_text(content)
    return folder


def test_a_day_appears_whole_with_its_marker(tmp_path):
    folder = _stage(tmp_path, "2026-11-20", "v1")
    assert folder.name.startswith(".staging-2026-11-20-")
    assert completed_days(tmp_path) == []  # staging folders are hidden from readers
    final = publish(folder, tmp_path, "2026-11-20", {"models": {"churn": {"version": 3}}})
    assert final == tmp_path / "2026-11-20" and not folder.exists()
    assert (final / "at_risk.csv").read_text() == "v1"
    assert read_marker(final)["models"]["churn"]["version"] == 3
    assert completed_days(tmp_path) == [final]


def test_a_rerun_replaces_the_day_whole(tmp_path):
    publish(_stage(tmp_path, "2026-11-20", "v1"), tmp_path, "2026-11-20", {"run": 1})
    second = _stage(tmp_path, "2026-11-20", "v2")
    (second / "extra.csv").write_text("new file")
    final = publish(second, tmp_path, "2026-11-20", {"run": 2})
    assert (final / "at_risk.csv").read_text() == "v2" and (final / "extra.csv").exists()
    assert json.loads((final / MARKER).read_text())["run"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2026-11-20"]  # nothing left beside it


def test_rename_exchange_swaps_two_folders(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    (first / "x").write_text("from a")
    if not _exchange(first, second):
        pytest.skip("renameat2(RENAME_EXCHANGE) is not available here; publish renames twice")
    assert (second / "x").read_text() == "from a" and not (first / "x").exists()


def test_folders_without_a_marker_are_not_days(tmp_path):
    (tmp_path / "2026-11-19").mkdir()  # e.g. written by an older version, or by hand
    (tmp_path / "2026-11-19" / "at_risk.csv").write_text("half")
    publish(_stage(tmp_path, "2026-11-20", "v1"), tmp_path, "2026-11-20", {})
    assert [d.name for d in completed_days(tmp_path)] == ["2026-11-20"]
    assert read_marker(tmp_path / "2026-11-19") is None
    assert completed_days(tmp_path / "missing") == []


def test_stale_staging_folders_of_a_day_are_found(tmp_path):
    left = staging_folder(tmp_path, "2026-11-20")
    staging_folder(tmp_path, "2026-11-21")
    assert stale_staging_folders(tmp_path, "2026-11-20") == [left]


def test_without_rename_exchange_a_rerun_still_replaces_the_day(tmp_path, monkeypatch):
    monkeypatch.setattr("core.day_folders._exchange", lambda first, second: False)
    publish(_stage(tmp_path, "2026-11-20", "v1"), tmp_path, "2026-11-20", {"run": 1})
    final = publish(_stage(tmp_path, "2026-11-20", "v2"), tmp_path, "2026-11-20", {"run": 2})
    assert (final / "at_risk.csv").read_text() == "v2" and read_marker(final)["run"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2026-11-20"]
