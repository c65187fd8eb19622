"""Typed configuration: YAML files in configs/ parsed into pydantic models.

Every business default of ../shared/domain.md lives here (and in configs/needradar.yaml) so a
company can change it. An unknown key or a bad value is an error that names the key.
Loading has no side effects.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from core.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = REPO_ROOT / "configs" / "needradar.yaml"
CONFIG_ENV = "NEEDRADAR_CONFIG"
HOME_ENV = "NEEDRADAR_HOME"


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PathsConfig(Section):
    """Where runtime state lives. Relative paths are resolved against `home`."""

    home: Path = Path("var")
    sample_data: Path = Path("data/sample")
    output: Path = Path("out")
    quarantine: Path = Path("quarantine")
    optuna_storage: str = "sqlite:///{home}/optuna.db"
    evidently_workspace: Path = Path("evidently")

    def resolve(self, p: Path) -> Path:
        home = Path(os.environ.get(HOME_ENV, self.home))
        return p if p.is_absolute() else home / p


class TrackingConfig(Section):
    """MLflow. `MLFLOW_TRACKING_URI` in the environment wins over `tracking_uri`."""

    tracking_uri: str = "sqlite:///{home}/mlflow.db"
    artifact_location: str = "{home}/mlartifacts"
    churn_experiment: str = "needradar-churn"
    volume_experiment: str = "needradar-volume"
    churn_model_name: str = "needradar-churn"
    volume_model_name: str = "needradar-volume"


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
    online_channels: list[str] = ["app", "website"]
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
    best_response_hours: float = 2.0
    lagging_response_hours: float = 6.0
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
    statuses: list[str] = ["open", "in_progress", "resolved", "rejected"]
    hot_feature_weekly_requests: int = 30
    # Resolution targets per priority, in working days.
    resolution_target_days: dict[str, float] = {"high": 2, "medium": 4, "low": 7}


class KPIConfig(Section):
    window_days: int = Field(30, gt=0)
    first_response_within_hours: float = 24
    first_response_rate_target: float = 0.90
    resolution_days_target: float = 5
    recurrence_rate_target: float = 0.05
    nps_target: float = 40
    csat_reopen_below: float = 3
    assign_within_hours: float = 1
    remind_before_deadline_days: float = 1
    survey_after_close_days: float = 3


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
    risk_tiers: dict[str, float] = {"red": 0.50, "orange": 0.30, "yellow": 0.15}
    n_reasons: int = 3
    top_n: int | None = None
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
        t = self.risk_tiers
        if set(t) != {"red", "orange", "yellow"} or not 1 >= t["red"] >= t["orange"] >= t["yellow"] >= 0:
            raise ValueError("risk_tiers needs red >= orange >= yellow, each within [0, 1]")
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
    ]
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
    ]
    default_action: str = "crisis_intervention"
    # Channel by value tier: top tier gets a dedicated manager plus automated contact.
    channel_by_value_tier: dict[str, list[str]] = {
        "top": ["dedicated_agent", "messaging_app"],
        "potential": ["messaging_app", "sms"],
        "reactivate": ["sms", "messaging_app"],
    }
    max_contacts_per_day: int = 2
    no_response_limit: int = 3


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
    interval_level: float = Field(0.8, gt=0, lt=1)
    models: list[str] = ["prophet", "lightgbm", "seasonal_naive", "moving_average"]


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
    api_key_env: str = "NEEDRADAR_API_KEY"
    max_batch: int = Field(1000, gt=0)
    max_horizon_days: int = Field(90, gt=0)
    page_size: int = Field(100, gt=0)


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


class Settings(Section):
    paths: PathsConfig = PathsConfig()
    tracking: TrackingConfig = TrackingConfig()
    sample: SampleConfig = SampleConfig()
    tickets: TicketsConfig = TicketsConfig()
    requirements: RequirementsConfig = RequirementsConfig()
    kpis: KPIConfig = KPIConfig()
    churn: ChurnConfig = ChurnConfig()
    retention: RetentionConfig = RetentionConfig()
    alerts: AlertsConfig = AlertsConfig()
    forecast: ForecastConfig = ForecastConfig()
    staffing: StaffingConfig = StaffingConfig()
    monitoring: MonitoringConfig = MonitoringConfig()
    serving: ServingConfig = ServingConfig()
    security: SecurityConfig = SecurityConfig()
    privacy: PrivacyConfig = PrivacyConfig()
    housekeeping: HousekeepingConfig = HousekeepingConfig()

    def path(self, name: Literal["sample_data", "output", "quarantine", "evidently_workspace"]) -> Path:
        """An absolute-or-home-relative runtime path by name."""
        return self.paths.resolve(getattr(self.paths, name))

    @property
    def home(self) -> Path:
        return Path(os.environ.get(HOME_ENV, self.paths.home))

    @property
    def tracking_uri(self) -> str:
        return os.environ.get("MLFLOW_TRACKING_URI") or self.tracking.tracking_uri.format(home=self.home)

    @property
    def optuna_storage(self) -> str:
        return self.paths.optuna_storage.format(home=self.home)


def _format_error(source: Path, err: ValidationError) -> str:
    problems = []
    for e in err.errors():
        key = ".".join(str(p) for p in e["loc"]) or "(top level)"
        msg = "unknown key" if e["type"] == "extra_forbidden" else e["msg"]
        problems.append(f"{key}: {msg}")
    return f"{source}: " + "; ".join(problems)


def load_config(path: str | Path | None = None) -> Settings:
    """Load settings from `path`, `$NEEDRADAR_CONFIG`, or configs/needradar.yaml.

    Raises:
        ConfigError: the file is missing, not YAML, or has an unknown key or bad value.
    """
    source = Path(path or os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG)
    if not source.exists():
        raise ConfigError(f"{source}: config file not found")
    try:
        raw = yaml.safe_load(source.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as e:
        raise ConfigError(f"{source}: not valid YAML ({e})") from e
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: expected a mapping of sections at the top level")
    try:
        return Settings.model_validate(raw)
    except ValidationError as e:
        raise ConfigError(_format_error(source, e)) from e
