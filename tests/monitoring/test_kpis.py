import pandas as pd

from monitoring.kpis import compute_kpis, kpi_alerts


def test_kpis_against_a_plain_loop(sample, settings):
    ev = sample.events
    as_of = ev.last_event_ts().normalize() - pd.Timedelta(days=10)
    k = compute_kpis(ev, as_of, settings).set_index(["kpi", "scope"])
    cutoff, start = as_of + pd.Timedelta(days=1), as_of + pd.Timedelta(days=1) - pd.Timedelta(days=30)
    old = answered = 0
    for t in ev.tickets.itertuples():
        if start <= t.ts < cutoff and t.ts <= cutoff - pd.Timedelta(hours=24):
            old += 1
            if (
                not pd.isna(t.first_response_ts)
                and t.first_response_ts < cutoff
                and t.first_response_ts - t.ts <= pd.Timedelta(hours=24)
            ):
                answered += 1
    assert k.loc[("first_response_rate", "overall"), "value"] == round(answered / old, 4)
    scores = [f.nps for f in ev.feedback.itertuples() if start <= f.ts < cutoff and not pd.isna(f.nps)]
    nps = (sum(s >= 9 for s in scores) - sum(s <= 6 for s in scores)) / len(scores) * 100
    assert k.loc[("nps", "overall"), "value"] == round(nps, 4)
    assert ("first_response_rate", "channel=phone") in k.index


def test_kpi_breaches_are_graded(settings):
    kpis = pd.DataFrame(
        [
            {
                "kpi": "nps",
                "scope": "overall",
                "value": 38.0,
                "target": 40.0,
                "direction": "min",
                "met": False,
                "n": 100,
            },
            {
                "kpi": "first_response_rate",
                "scope": "overall",
                "value": 0.6,
                "target": 0.9,
                "direction": "min",
                "met": False,
                "n": 100,
            },
            {
                "kpi": "resolution_days",
                "scope": "overall",
                "value": 3.0,
                "target": 5.0,
                "direction": "max",
                "met": True,
                "n": 100,
            },
        ]
    )
    alerts = kpi_alerts(kpis, "2026-11-23", settings)
    assert [(a.subject, a.level) for a in alerts] == [
        ("nps (overall)", "yellow"),
        ("first_response_rate (overall)", "orange"),
    ]
