"""The retention playbook: an action for a customer's reasons, channels for their value and risk."""

from __future__ import annotations

from core.config import Settings
from serving.reasons import describe  # noqa: F401  (re-exported: the sentences used to live here)


def action_for(reasons: list[str], settings: Settings) -> str:
    """The contact mode for the first reason the playbook knows; the default otherwise."""
    for feature in reasons:
        for rule in settings.retention.playbook:
            if feature.startswith(rule.reason_prefix):
                return rule.action
    return settings.retention.default_action


def channels_for(value_tier: str, settings: Settings, risk_tier: str | None = None) -> list[str]:
    """Channels by value tier, at most `max_contacts_per_day` of them (the contact limit).

    A customer whose risk tier is in `automated_only_risk_tiers` (low risk) gets only automated,
    cheap channels, whatever their value: no dedicated agent for a customer likely to stay.
    """
    r = settings.retention
    options = r.channel_by_value_tier.get(value_tier, ["sms"])
    if risk_tier in r.automated_only_risk_tiers:
        options = [c for c in options if c in r.channels and r.channels[c].automated] or ["sms"]
    return options[: r.max_contacts_per_day]
