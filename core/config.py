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
from pydantic import Field, ValidationError, model_validator

from core.errors import ConfigError
from core.sections import (  # noqa: F401  (re-exported: `from core.config import ChurnConfig`)
    AlertLevelConfig,
    AlertsConfig,
    ChannelConfig,
    ChurnConfig,
    ChurnRulesConfig,
    ForecastConfig,
    HousekeepingConfig,
    KPIConfig,
    MonitoringConfig,
    NeedsConfig,
    PathsConfig,
    PlaybookRule,
    PrivacyConfig,
    PromotionWindow,
    RequirementsConfig,
    RetentionConfig,
    SampleConfig,
    Section,
    SecurityConfig,
    ServingConfig,
    StaffingConfig,
    TicketsConfig,
    TrackingConfig,
    ValueConfig,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = REPO_ROOT / "configs" / "needradar.yaml"
CONFIG_ENV = "NEEDRADAR_CONFIG"
HOME_ENV = "NEEDRADAR_HOME"
TRACKING_ENV = "MLFLOW_TRACKING_URI"
DASK_ENV = "NEEDRADAR_DASK"


class ConfigFile(Section):
    """What a YAML config file holds: one section per area."""

    paths: PathsConfig = PathsConfig()
    tracking: TrackingConfig = TrackingConfig()
    sample: SampleConfig = SampleConfig()
    tickets: TicketsConfig = TicketsConfig()
    requirements: RequirementsConfig = RequirementsConfig()
    needs: NeedsConfig = NeedsConfig()
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
        return self.resolve(getattr(self.paths, name))

    def resolve(self, path: Path) -> Path:
        """`path` as it is when absolute, else under `home`."""
        return path if path.is_absolute() else self.home / path


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
