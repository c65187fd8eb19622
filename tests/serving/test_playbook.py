from serving.playbook import action_for, channels_for


def test_action_follows_the_first_known_reason(settings):
    assert action_for(["tickets_open", "usage_low_flag"], settings) == "service_upgrade"
    assert action_for(["tenure_days", "promo_share_90d"], settings) == "community"
    assert action_for(["days_since_last_activity"], settings) == settings.retention.default_action


def test_purchase_usage_and_ticket_reasons_get_their_own_actions(settings):
    by_data = {
        "purchases": [["rfm_recency_days"], ["spend_trend_30d"], ["txn_count_total"], ["txn_first_days"]],
        "usage": [["usage_days_since_last"], ["usage_minutes_trend_7d"], ["usage_low_flag"]],
        "tickets": [["tickets_open"], ["first_response_hours_mean_90d"], ["csat_last"], ["req_open"]],
    }
    actions = {k: {action_for(r, settings) for r in rows} for k, rows in by_data.items()}
    assert actions["purchases"] == {"promotion", "brand", "community"}
    assert actions["usage"] == {"feature_adoption"}
    assert actions["tickets"] == {"service_upgrade", "crisis_intervention", "feature_adoption"}


def test_channels_by_value_tier_within_the_daily_contact_limit(settings):
    assert channels_for("top", settings) == ["dedicated_agent", "messaging_app"]
    assert channels_for("reactivate", settings)[0] == "sms"  # automated channels first
    one = settings.model_copy(
        update={"retention": settings.retention.model_copy(update={"max_contacts_per_day": 1})}
    )
    assert channels_for("top", one) == ["dedicated_agent"]
    assert channels_for("unknown-tier", settings) == ["sms"]


def test_low_risk_gets_no_costly_channel(settings):
    assert channels_for("top", settings, risk_tier="red") == ["dedicated_agent", "messaging_app"]
    assert channels_for("top", settings, risk_tier="green") == ["messaging_app"]
    assert channels_for("top", settings, risk_tier="yellow") == ["messaging_app"]
