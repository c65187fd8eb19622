"""`needradar demo` as a new user runs it: its own lines only, 100 columns, ends with the dashboard.

The demo is the one that builds the suite's trained home (tests/trained_home.py): it runs once, in a
subprocess with a small config and COLUMNS=100, and this test reads what it printed and logged.
"""

from __future__ import annotations

import pytest

from tests.trained_home import DEMO_COLUMNS, demo_screen

pytestmark = pytest.mark.slow


def test_demo_prints_one_clean_screen(trained_template):
    r = demo_screen(trained_template)
    assert r["returncode"] == 0, r["stderr"][-2000:]
    lines = r["stdout"].splitlines()
    assert max(len(x) for x in lines) <= DEMO_COLUMNS
    assert r["stderr"].strip() == ""
    for chatter in ("INFO mlflow", "WARNING mlflow", "CloudPickle", "cmdstanpy", "Downloading artifacts"):
        assert chatter not in r["stdout"], chatter
    assert any("targets met" in x for x in lines)
    assert any(x.startswith("Alerts") for x in lines)
    assert "/ui" in lines[-2] and "needradar serve" in lines[-1]
    assert "mlflow" in r["log"].lower()  # the library lines went to the log instead
