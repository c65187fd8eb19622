"""Helpers shared by the serving tests (the trained home itself is a fixture of tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path


def repo_root() -> Path:
    return Path(__file__).resolve().parents[2]
