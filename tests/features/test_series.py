import pandas as pd

from features.volume_series import build_volume_series


def test_daily_counts_match_groupby(sample):
    s = build_volume_series(sample.events)
    t = sample.events.tickets
    expected = t.groupby(t["ts"].dt.normalize()).size()
    got = s[s["series_id"] == "tickets/total"].set_index("ds")["y"]
    pd.testing.assert_series_equal(got[got > 0], expected.rename("y").rename_axis("ds"), check_freq=False)
    pair = s[s["series_id"] == "tickets/phone/logistics_delay"]["y"].sum()
    assert pair == ((t["channel"] == "phone") & (t["category"] == "logistics_delay")).sum()
    r = sample.events.requirements
    assert (
        s[s["series_id"] == "requirements/area=billing"]["y"].sum() == (r["product_area"] == "billing").sum()
    )


def test_zero_filled_and_hourly(sample):
    daily = build_volume_series(sample.events)
    sizes = daily.groupby("series_id").size()
    fam = daily.groupby("series_id")["family"].first()
    assert sizes.groupby(fam).nunique().eq(1).all()  # every series of a family spans the same days
    hourly = build_volume_series(sample.events, freq="h", families=("tickets",))
    total = hourly[hourly["series_id"] == "tickets/total"]
    assert total["ds"].diff().dropna().eq(pd.Timedelta(hours=1)).all()
    assert total["y"].sum() == len(sample.events.tickets)
