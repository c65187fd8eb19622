"""The /needs page: filters and pages of a stored backlog, in ranked order."""

from __future__ import annotations

from features.vectors import build_vectors
from monitoring.needs_backlog import needs_backlog
from serving.needs_view import needs_page
from tests.monitoring.test_needs_backlog import at_risk_for


def test_needs_page_filters_and_pages(sample, settings):
    as_of = f"{sample.events.last_event_ts():%Y-%m-%d}"
    backlog = needs_backlog(
        sample.events.requirements,
        at_risk_for(build_vectors(sample.events, as_of, settings), 3),
        as_of,
        settings,
    )
    first = needs_page(backlog, as_of, page_size=4)
    assert first["total"] == len(backlog) and first["pages"] == -(-len(backlog) // 4)
    assert [g["rank"] for g in first["groups"]] == [1, 2, 3, 4]
    second = needs_page(backlog, as_of, page=2, page_size=4)
    assert [g["rank"] for g in second["groups"]] == [5, 6, 7, 8]
    billing = needs_page(
        backlog, as_of, product_areas=["billing"], types=["problem_report", "feature_suggestion"]
    )
    assert billing["total"] == 2
    assert {(g["product_area"], g["type"]) for g in billing["groups"]} == {
        ("billing", "problem_report"),
        ("billing", "feature_suggestion"),
    }
    values = [g["value_at_risk"] for g in billing["groups"]]
    assert values == sorted(values, reverse=True)
    assert needs_page(backlog, as_of, priorities=["no such"])["total"] == 0
