"""The audit log keeps its file open, and follows a rotation or deletion of the file."""

from __future__ import annotations

import json

from serving.auth import Caller
from serving.guard import AuditLog


def _lines(path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()]


def test_lines_follow_a_rotated_or_deleted_file(tmp_path, monkeypatch):
    monkeypatch.setattr(AuditLog, "REOPEN_CHECK_SECONDS", 0.0)
    path = tmp_path / "logs" / "audit.jsonl"
    audit = AuditLog(path)
    audit.write(Caller("app-1", "app"), "POST", "/score", 200, 1)
    path.rename(tmp_path / "audit.1.jsonl")  # what a log rotation does
    audit.write(Caller("app-1", "app"), "POST", "/score", 429, None)
    assert [x["status"] for x in _lines(path)] == [429]  # a new file, not the moved one
    path.unlink()  # deleted: the next line starts a new file again
    audit.write(None, "POST", "/reload", 401, None)
    assert [x["status"] for x in _lines(tmp_path / "audit.1.jsonl")] == [200]
    assert [(x["key"], x["path"], x["status"]) for x in _lines(path)] == [(None, "/reload", 401)]
    assert path.stat().st_mode & 0o777 == 0o600


def test_one_file_open_between_checks(tmp_path):
    path = tmp_path / "audit.jsonl"
    audit = AuditLog(path)
    for status in (200, 403, 413):
        audit.write(Caller("admin-1", "admin"), "POST", "/score", status, None)
    assert [x["status"] for x in _lines(path)] == [200, 403, 413]
    assert audit._fd is not None
