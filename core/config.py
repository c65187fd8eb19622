"""Typed configuration: YAML files in configs/ parsed into pydantic models.

Every business default of ../shared/domain.md lives here (and in configs/needradar.yaml) so a
company can change it. An unknown key or a bad value is an error that names the key.
`load_config()` reads the environment overrides once (runtime home, MLflow tracking URI, the
API key, the Dask scheduler address) into plain fields of a frozen `Settings`; nothing else in
needradar reads those variables. Loading has no side effects.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from core.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = REPO_ROOT / "configs" / "needradar.yaml"
CONFIG_ENV = "NEEDRADAR_CONFIG"
HOME_ENV = "NEEDRADAR_HOME"
TRACKING_ENV = "MLFLOW_TRACKING_URI"
DASK_ENV = "NEEDRADAR_DASK"


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
    risk_tiers: dict[str, float] = {"red": 0.50, "orange": 0.30, "yellow": 0.15}
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
        if set(tiers) != {"red", "orange", "yellow"} or not (
            1 >= tiers["red"] >= tiers["orange"] >= tiers["yellow"] >= 0
        ):
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
    webhook_url: str | None = None
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
    # The environment variable that holds the API key (a secret never lives in a file).
    api_key_env: str = "NEEDRADAR_API_KEY"
    max_batch: int = Field(1000, gt=0)
    max_horizon_days: int = Field(90, gt=0)


class ConfigFile(Section):
    """What a YAML config file holds: one section per area."""

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


class Settings(ConfigFile):
    """The configuration file's sections plus the runtime values, resolved once by `load_config`.

    Built directly (`Settings()`, as tests do) the runtime values come from the sections alone,
    without the environment.
    """

    home: Path
    tracking_uri: str
    optuna_storage: str
    # Excluded from dumps and reprs: a secret must not reach logs, MLflow or files.
    api_key: str = Field("", repr=False, exclude=True)
    dask_address: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _derive_runtime_values(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        paths = PathsConfig.model_validate(data.get("paths", {}))
        tracking = TrackingConfig.model_validate(data.get("tracking", {}))
        home = Path(data.get("home") or paths.home)
        data["home"] = home
        data["tracking_uri"] = data.get("tracking_uri") or tracking.tracking_uri.format(home=home)
        data.setdefault("optuna_storage", paths.optuna_storage.format(home=home))
        return data

    def path(self, name: Literal["sample_data", "output", "quarantine", "evidently_workspace"]) -> Path:
        """A runtime path by name; a relative one lives under `home`."""
        configured: Path = getattr(self.paths, name)
        return configured if configured.is_absolute() else self.home / configured


def _format_error(source: Path, err: ValidationError) -> str:
    problems = []
    for e in err.errors():
        key = ".".join(str(p) for p in e["loc"]) or "(top level)"
        msg = "unknown key" if e["type"] == "extra_forbidden" else e["msg"]
        problems.append(f"{key}: {msg}")
    return f"{source}: " + "; ".join(problems)


def load_config(path: str | Path | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Load settings from `path`, `$NEEDRADAR_CONFIG`, or configs/needradar.yaml, and apply the
    environment overrides once.

    Args:
        environ: the environment to read the overrides from (default `os.environ`):
            `NEEDRADAR_HOME` (runtime home), `MLFLOW_TRACKING_URI`, the API-key variable named by
            `serving.api_key_env`, and `NEEDRADAR_DASK` (a Dask scheduler address).

    Raises:
        ConfigError: the file is missing, not YAML, or has an unknown key or bad value.
    """
    environ = os.environ if environ is None else environ
    source = Path(path or environ.get(CONFIG_ENV) or DEFAULT_CONFIG)
    if not source.exists():
        raise ConfigError(f"{source}: config file not found")
    try:
        raw = yaml.safe_load(source.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as e:
        raise ConfigError(f"{source}: not valid YAML ({e})") from e
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: expected a mapping of sections at the top level")
    try:
        sections = ConfigFile.model_validate(raw)
    except ValidationError as e:
        raise ConfigError(_format_error(source, e)) from e
    return Settings(
        **dict(sections),
        home=Path(environ.get(HOME_ENV) or sections.paths.home),
        tracking_uri=environ.get(TRACKING_ENV) or "",
        api_key=environ.get(sections.serving.api_key_env, ""),
        dask_address=environ.get(DASK_ENV) or None,
    )
