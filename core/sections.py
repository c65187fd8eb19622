"""The sections of the configuration file, one pydantic model per area, with the domain's defaults.

core.config assembles them into `Settings`; every model forbids unknown keys and is frozen.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PathsConfig(Section):
    """Where runtime state lives. Relative paths are resolved against `home` (`$NEEDRADAR_HOME` wins)."""

    home: Path = Path("var")
    sample_data: Path = Path("data/sample")
    output: Path = Path("out")
    quarantine: Path = Path("quarantine")
    optuna_storage: str = "sqlite:///{home}/optuna.db"
    evidently_workspace: Path = Path("evidently")


class TrackingConfig(Section):
    """MLflow. `MLFLOW_TRACKING_URI` in the environment wins over `tracking_uri`."""

    tracking_uri: str = "sqlite:///{home}/mlflow.db"
    artifact_location: str = "{home}/mlartifacts"
    churn_experiment: str = "needradar-churn"
    volume_experiment: str = "needradar-volume"
    churn_model_name: str = "needradar-churn"
    volume_model_name: str = "needradar-volume"
    feedback_experiment: str = "needradar-feedback"
    feedback_model_name: str = "needradar-feedback"


class SampleConfig(Section):
    """Defaults for `needradar data generate`."""

    customers: int = Field(20_000, gt=0)
    days: int = Field(730, gt=30)
    seed: int = 42
    end_date: str = "2026-11-23"


class PromotionWindow(Section):
    """A yearly promotion season, as month-day strings (inclusive)."""

    name: str
    start: str = Field(pattern=r"^\d{2}-\d{2}$")
    end: str = Field(pattern=r"^\d{2}-\d{2}$")


class TicketsConfig(Section):
    category_mix: dict[str, float] = {
        "product_quality": 0.40,
        "logistics_delay": 0.30,
        "slow_response": 0.20,
        "complicated_after_sales": 0.10,
    }
    channel_mix: dict[str, float] = {"app": 0.40, "website": 0.25, "phone": 0.25, "social": 0.10}
    # "Logistics complaints rise by 200% during promotion seasons" -> 3x.
    promo_logistics_multiplier: float = 3.0
    promo_consultation_multiplier: float = 3.2
    feedback_mix: dict[str, float] = {
        "product_suggestion": 0.38,
        "service_complaint": 0.29,
        "feature_question": 0.23,
        "other": 0.10,
    }
    # First-response deadline per priority, in hours (suggestion: 5 working days).
    first_response_hours: dict[str, float] = {
        "urgent": 1,
        "high": 4,
        "normal": 24,
        "suggestion": 120,
    }
    default_priority: str = "normal"
    vip_priority_weight: float = 1.5

    @model_validator(mode="after")
    def _mixes_sum_to_one(self) -> TicketsConfig:
        for name in ("category_mix", "channel_mix", "feedback_mix"):
            total = sum(getattr(self, name).values())
            if abs(total - 1) > 1e-6:
                raise ValueError(f"{name} must sum to 1, got {total:.4f}")
        return self


class RequirementsConfig(Section):
    types: list[str] = ["feature_suggestion", "problem_report", "improvement_suggestion"]
    hot_feature_weekly_requests: int = 30
    # Resolution targets per priority, in working days.
    resolution_target_days: dict[str, float] = {"high": 2, "medium": 4, "low": 7}


class NeedsConfig(Section):
    """Unmet needs and feedback text: hot spots, the backlog's priority matrix, text signals."""

    hot_type: str = "improvement_suggestion"  # the type counted against hot_feature_weekly_requests
    hot_forecast_days: int = Field(14, gt=0)  # how far ahead hot spots are forecast
    # Impact x urgency: impact by a group's share of the value at risk of all waiting customers,
    # urgency by its requests in the last 7 days as a share of hot_feature_weekly_requests.
    impact_value_share: dict[str, float] = {"high": 0.10, "medium": 0.05}
    urgency_weekly_share: dict[str, float] = {"high": 1.0, "medium": 0.5}
    # (impact, urgency) -> priority of the requirement group.
    matrix: dict[str, str] = {
        "high/high": "P0",
        "high/medium": "P1",
        "medium/high": "P1",
        "high/low": "P2",
        "medium/medium": "P2",
        "low/high": "P2",
        "medium/low": "P3",
        "low/medium": "P3",
        "low/low": "P3",
    }
    complaint_class: str = "service_complaint"
    # Feedback texts a product area needs within 24 h before its negative rate can alert.
    negative_rate_min_texts: int = Field(20, gt=0)
    # The class mix alerts when a class's share is this far (absolute) from feedback_mix.
    class_mix_tolerance: float = Field(0.10, gt=0, lt=1)

    @model_validator(mode="after")
    def _matrix_complete(self) -> NeedsConfig:
        cells = {f"{i}/{u}" for i in ("high", "medium", "low") for u in ("high", "medium", "low")}
        if set(self.matrix) != cells:
            raise ValueError(f"matrix needs exactly the cells {', '.join(sorted(cells))}")
        for name in ("impact_value_share", "urgency_weekly_share"):
            t = getattr(self, name)
            if set(t) != {"high", "medium"} or t["high"] < t["medium"]:
                raise ValueError(f"{name} needs high >= medium")
        return self


class KPIConfig(Section):
    window_days: int = Field(30, gt=0)
    first_response_within_hours: float = 24
    first_response_rate_target: float = 0.90
    resolution_days_target: float = 5
    recurrence_rate_target: float = 0.05
    nps_target: float = 40


class ChurnRulesConfig(Section):
    """The warning rules already in use, kept as features and as a baseline."""

    low_usage_ratio: float = 0.30
    no_interaction_days: int = 90
    usage_drop_ratio: float = 0.20
    usage_drop_days: int = 3


class ValueConfig(Section):
    """Customer value: RFM tiers and lifetime value."""

    top_share: float = 0.18
    potential_share: float = 0.42
    clv_years: float = 5
    discount_rate: float = 0.10
    vip_loss_multiple: float = 4.0


class ChurnConfig(Section):
    horizon_days: int = Field(30, gt=0)
    cutoff_every_days: int = Field(30, gt=0)
    n_cutoffs: int = Field(8, gt=0)
    validation_cutoffs: int = Field(2, gt=0)
    windows_days: list[int] = [7, 30, 90, 180]
    # Tiers follow the data's base rate: a tier needs this lift of the odds of leaving over the
    # average customer's (odds, so that it means the same at a 3% and a 40% base rate).
    risk_tier_lift: dict[str, float] = {"red": 4.0, "orange": 2.5, "yellow": 1.5}
    # Optional probability floors on top of the lift (None: no floor), for teams that also want
    # "never red below p = 0.2"; fixed floors alone leave no red where few customers leave.
    risk_tiers: dict[str, float | None] = {"red": None, "orange": None, "yellow": None}
    # Customers without activity for longer than this are listed apart as already lapsed
    # (win-back); None means the model's own churn horizon.
    lapsed_after_days: int | None = Field(None, gt=0)
    n_reasons: int = 3
    lightgbm: dict[str, float | int | str] = {
        "n_estimators": 600,
        "learning_rate": 0.03,
        "num_leaves": 31,
        "min_child_samples": 40,
        "subsample": 0.8,
        "subsample_freq": 1,
        "colsample_bytree": 0.8,
        "reg_lambda": 1.0,
    }
    early_stopping_rounds: int = 50
    promote_auc_tolerance: float = 0.005
    rules: ChurnRulesConfig = ChurnRulesConfig()
    value: ValueConfig = ValueConfig()

    @model_validator(mode="after")
    def _tiers_ordered(self) -> ChurnConfig:
        tiers = self.risk_tiers
        floors = [tiers.get(k) for k in ("red", "orange", "yellow")]
        given = [f for f in floors if f is not None]
        if not set(tiers) <= {"red", "orange", "yellow"} or not (
            all(0 <= f <= 1 for f in given) and given == sorted(given, reverse=True)
        ):
            raise ValueError("risk_tiers needs red >= orange >= yellow (or null), each within [0, 1]")
        lift = self.risk_tier_lift
        ordered = (
            set(lift) == {"red", "orange", "yellow"} and lift["red"] >= lift["orange"] >= lift["yellow"] >= 0
        )
        if not ordered:
            raise ValueError("risk_tier_lift needs red >= orange >= yellow >= 0")
        return self


class ChannelConfig(Section):
    cost: float
    automated: bool


class PlaybookRule(Section):
    """If a customer's top reason matches `reason_prefix` (a feature name prefix), use `action`."""

    reason_prefix: str
    action: str


class RetentionConfig(Section):
    channels: dict[str, ChannelConfig] = {
        "sms": ChannelConfig(cost=0.2, automated=True),
        "messaging_app": ChannelConfig(cost=0.8, automated=True),
        "community": ChannelConfig(cost=1.5, automated=True),
        "dedicated_agent": ChannelConfig(cost=12, automated=False),
        "store_visit": ChannelConfig(cost=28, automated=False),
    }
    actions: list[str] = [
        "feature_adoption",
        "service_upgrade",
        "promotion",
        "crisis_intervention",
        "community",
        "brand",
        "win_back",
    ]
    # First matching reason wins; rules for usage, tickets and requests, price, and purchases.
    playbook: list[PlaybookRule] = [
        PlaybookRule(reason_prefix="usage_", action="feature_adoption"),
        PlaybookRule(reason_prefix="req_", action="feature_adoption"),
        PlaybookRule(reason_prefix="tickets_", action="service_upgrade"),
        PlaybookRule(reason_prefix="ticket_", action="service_upgrade"),
        PlaybookRule(reason_prefix="first_response", action="service_upgrade"),
        PlaybookRule(reason_prefix="resolution", action="service_upgrade"),
        PlaybookRule(reason_prefix="promo", action="promotion"),
        PlaybookRule(reason_prefix="monthly_fee", action="promotion"),
        PlaybookRule(reason_prefix="plan", action="promotion"),
        PlaybookRule(reason_prefix="nps", action="crisis_intervention"),
        PlaybookRule(reason_prefix="csat", action="crisis_intervention"),
        PlaybookRule(reason_prefix="spend", action="promotion"),
        PlaybookRule(reason_prefix="rfm_m", action="promotion"),
        PlaybookRule(reason_prefix="rfm_recency", action="promotion"),
        PlaybookRule(reason_prefix="txn_recency", action="promotion"),
        PlaybookRule(reason_prefix="rfm_r_", action="promotion"),
        PlaybookRule(reason_prefix="txn_count", action="brand"),
        PlaybookRule(reason_prefix="rfm_f", action="brand"),
        PlaybookRule(reason_prefix="txn_mean_gap", action="brand"),
        PlaybookRule(reason_prefix="tenure", action="community"),
        PlaybookRule(reason_prefix="txn_first", action="community"),
    ]
    default_action: str = "crisis_intervention"
    # Customers already lapsed beyond the churn definition get this action instead.
    lapsed_action: str = "win_back"
    # When nothing raises a customer's risk above the average, there is nothing to fix.
    quiet_action: str = "brand"
    # Low risk: automated, cheap channels only (no dedicated agent for a customer likely to stay).
    automated_only_risk_tiers: list[str] = ["green", "yellow"]
    # Channel by value tier: top tier gets a dedicated manager plus automated contact.
    channel_by_value_tier: dict[str, list[str]] = {
        "top": ["dedicated_agent", "messaging_app"],
        "potential": ["messaging_app", "sms"],
        "reactivate": ["sms", "messaging_app"],
    }
    max_contacts_per_day: int = 2
    no_response_limit: int = 3
    # The retention loop: a random control group, contact limits, a budget and expected saved value.
    control_share: float = Field(0.10, ge=0, lt=1)
    control_seed: int = 42
    min_gap_days_after_no_response: int = Field(14, ge=0)
    daily_budget_cny: float = Field(50.0, ge=0)  # binds on the sample: see configs/needradar.yaml
    effect_horizon_days: int = Field(30, gt=0)
    # Share of would-be churners an action saves, until randomised history trains the uplift model.
    effect_priors: dict[str, float] = {
        "feature_adoption": 0.10,
        "service_upgrade": 0.15,
        "promotion": 0.12,
        "crisis_intervention": 0.05,
        "community": 0.04,
        "brand": 0.03,
    }
    # A cell of the campaign report with fewer customers in either group shows no interval.
    report_min_customers: int = Field(30, gt=0)
    uplift_model_name: str = "needradar-uplift"
    uplift_experiment: str = "needradar-uplift"


class AlertLevelConfig(Section):
    respond_within_hours: float
    channel: str


class AlertsConfig(Section):
    levels: dict[str, AlertLevelConfig] = {
        "yellow": AlertLevelConfig(respond_within_hours=24, channel="email"),
        "orange": AlertLevelConfig(respond_within_hours=4, channel="sms"),
        "red": AlertLevelConfig(respond_within_hours=0, channel="popup"),
    }
    baseline_weeks: int = 12
    negative_review_rate: float = 0.05
    # "Consultation volume up 200% year on year" -> actual >= 3x last year's.
    yoy_surge_ratio: float = 3.0
    webhook_url: str | None = None  # a secret: set it from a private config, it is never logged
    webhook_attempts: int = Field(4, gt=0)
    webhook_backoff_seconds: float = Field(1.0, ge=0)  # doubles after each failed attempt
    webhook_timeout_seconds: float = Field(5.0, gt=0)
    owners: dict[str, str] = {
        "volume": "capacity-planning",
        "drift": "ml-engineering",
        "decay": "ml-engineering",
        "kpi": "service-operations",
        "needs": "product-management",
        "feedback": "customer-experience",
    }


class ForecastConfig(Section):
    country_holidays: str | None = "CN"
    promotions: list[PromotionWindow] = [
        PromotionWindow(name="spring_festival_sale", start="01-20", end="02-05"),
        PromotionWindow(name="618", start="06-01", end="06-18"),
        PromotionWindow(name="double_11", start="11-01", end="11-11"),
        PromotionWindow(name="double_12", start="12-10", end="12-12"),
    ]
    horizon_days: int = Field(14, gt=0)
    backtest_folds: int = Field(3, gt=0)
    # windows before each backtest window whose errors choose its models (fewer on short series)
    evidence_windows: int = Field(4, ge=0)
    interval_level: float = Field(0.8, gt=0, lt=1)
    # processes sharing the per-series fits without --dask (1: everything in this process)
    processes: int = Field(2, ge=1)
    models: list[str] = ["prophet", "lightgbm", "seasonal_naive", "auto_ets", "mstl", "auto_theta"]


class StaffingConfig(Section):
    horizon_hours: int = 72
    handle_time_seconds: dict[str, float] = {"phone": 360, "online": 480, "social": 600}
    service_level: float = Field(0.80, gt=0, lt=1)
    answer_within_seconds: float = 20
    shrinkage: float = Field(0.30, ge=0, lt=1)


class MonitoringConfig(Section):
    drift_share_threshold: float = 0.30
    auc_drop_threshold: float = 0.05
    coverage_tolerance: float = 0.10
    mase_threshold: float = 1.0  # a forecast worse than the seasonal naive one


class ServingConfig(Section):
    port: int = 3000
    # The environment variable that holds the API key (a secret never lives in a file).
    api_key_env: str = "NEEDRADAR_API_KEY"
    max_batch: int = Field(1000, gt=0)
    max_horizon_days: int = Field(90, gt=0)


class SecurityConfig(Section):
    """Role keys, the audit log and request limits of the HTTP service."""

    keys_file: Path = Path("keys.json")
    audit_log: Path = Path("audit.jsonl")
    key_cache_seconds: float = Field(2.0, ge=0)  # a revoked key stops working within this time
    max_body_bytes: int = Field(2_000_000, gt=0)
    max_header_bytes: int = Field(1024, gt=0)
    max_list_items: int = Field(100, gt=0)  # filters and series; ids and rows use serving.max_batch
    reload_poll_seconds: float = Field(10.0, gt=0)  # each worker checks the registry this often


class PrivacyConfig(Section):
    """Personal data: columns that never become features, and the keyed hash for customer ids."""

    sensitive_columns: list[str] = ["name", "email", "phone", "address", "id_number"]
    pseudonym_key_env: str = "NEEDRADAR_PSEUDONYM_KEY"
    suppression_file: Path = Path("privacy/suppressed.txt")


class HousekeepingConfig(Section):
    """Retention of runtime outputs: daily ones for a week, one per month for a year."""

    daily_keep_days: int = Field(7, gt=0)
    monthly_keep_months: int = Field(12, ge=0)
