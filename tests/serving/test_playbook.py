import pytest

from serving.playbook import action_for, channels_for, describe


@pytest.mark.parametrize(
    ("feature", "value", "text"),
    [
        ("tickets_unresolved_30d", 3, "3 unresolved tickets opened in the last 30 days"),
        ("tickets_logistics_delay_90d", 2.0, "2 logistics delay tickets in 90 days"),
        ("usage_minutes_trend_30d", 0.55, "usage down 45% vs the previous 30 days"),
        ("req_oldest_open_days", 62.4, "oldest open request waiting 62 days"),
        ("monthly_fee_vs_plan", 1.3, "fee 30% above the plan average"),
        ("usage_drop_flag", True, "usage time fell more than 20% three days in a row"),
        ("nps_last", float("nan"), "never answered an NPS survey"),
        ("plan", "pro", "plan: pro"),
        ("some_new_feature", None, "no some new feature recorded"),
    ],
)
def test_plain_sentences(feature, value, text):
    assert describe(feature, value) == text


def test_action_follows_the_first_known_reason(settings):
    assert action_for(["tickets_open", "usage_low_flag"], settings) == "service_upgrade"
    assert action_for(["tenure_days", "promo_share_90d"], settings) == "promotion"
    assert action_for(["tenure_days"], settings) == settings.retention.default_action


def test_channels_by_value_tier_within_the_daily_contact_limit(settings):
    assert channels_for("top", settings) == ["dedicated_agent", "messaging_app"]
    assert channels_for("reactivate", settings)[0] == "sms"  # automated channels first
    one = settings.model_copy(
        update={"retention": settings.retention.model_copy(update={"max_contacts_per_day": 1})}
    )
    assert channels_for("top", one) == ["dedicated_agent"]
    assert channels_for("unknown-tier", settings) == ["sms"]
