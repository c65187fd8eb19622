"""The model registry: register challengers, promote through a quality gate, roll back, list.

Models are MLflow pyfunc models wrapping needradar's own objects (ChurnModel, VolumeForecaster),
registered as `needradar-churn` / `needradar-volume` with the aliases `challenger` and `champion`.
The champion history is kept as a registered-model tag so that rollback knows the previous one.
Changes to the aliases and the history happen under a file lock in the home folder, and a champion
change is journaled first: a crash between the alias and the history tag is finished by the next
command that touches the registry.
"""

from __future__ import annotations

import json
import logging
import pickle
import tempfile
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import mlflow
import pandas as pd
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from core.config import Settings
from core.errors import ModelNotFoundError, NeedradarError
from core.io import write_json
from core.locks import file_lock
from core.privacy import pseudonymise
from experiments.promotion_gate import (  # noqa: F401  (re-exported)
    GATE_METRICS,
    compare_on_holdout,
    gate,
    not_finite,
    volume_metrics,
)
from experiments.tracking import model_requirements, use_tracking

logger = logging.getLogger(__name__)

Task = Literal["churn", "volume", "feedback"]
HISTORY_TAG = "needradar.champion_history"
TRAIN_COMMAND = {
    "churn": "needradar churn train",
    "volume": "needradar forecast train",
    "feedback": "needradar feedback train",
}


class NeedradarPyfunc(mlflow.pyfunc.PythonModel):
    """Wraps a needradar model object; `predict` returns churn probabilities or volume forecasts."""

    def load_context(self, context) -> None:
        model_dir = Path(context.artifacts["model"])
        meta = json.loads((model_dir / "meta.json").read_text())
        if meta["format"] == "save_load":
            module, _, cls = meta["class"].rpartition(".")
            self.obj = getattr(__import__(module, fromlist=[cls]), cls).load(model_dir / "object")
        else:
            with open(model_dir / "object.pkl", "rb") as f:
                self.obj = pickle.load(f)

    def predict(self, context, model_input: pd.DataFrame, params: dict | None = None):
        if hasattr(self.obj, "predict_proba"):
            return self.obj.predict_proba(model_input)
        return self.obj.predict(None, horizon=int(model_input["horizon"].iloc[0]))


def model_name(task: Task, settings: Settings) -> str:
    if task == "feedback":
        return settings.tracking.feedback_model_name
    return settings.tracking.churn_model_name if task == "churn" else settings.tracking.volume_model_name


def _save_object(obj: Any, folder: Path) -> None:
    """Objects with save/load keep their own compact format (Prophet as JSON); others are pickled."""
    folder.mkdir(parents=True)
    if hasattr(obj, "save") and hasattr(type(obj), "load"):
        obj.save(folder / "object")
        fmt = "save_load"
    else:
        with open(folder / "object.pkl", "wb") as f:
            pickle.dump(obj, f)
        fmt = "pickle"
    cls = f"{type(obj).__module__}.{type(obj).__qualname__}"
    (folder / "meta.json").write_text(json.dumps({"format": fmt, "class": cls}))


def register(
    task: Task,
    model_obj: Any,
    *,
    settings: Settings,
    run_id: str,
    holdout: pd.DataFrame,
    metrics: dict[str, float],
    data_window: dict[str, str],
    input_example: pd.DataFrame | None = None,
    signature: Any = None,
    name: str | None = None,
    pseudonymised: bool = False,
) -> int:
    """Log the model in run `run_id`, register it (as `name`, default the task's model name) and
    point `challenger` at it; returns the version. The holdout's customer ids are stored as
    pseudonyms (`pseudonymised`: they already are, as in a holdout read back from MLflow)."""
    use_tracking(settings)
    client = MlflowClient()
    name = name or model_name(task, settings)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "needradar_model"
        _save_object(model_obj, folder)
        if "customer_id" in holdout and not pseudonymised:  # MLflow artifacts never hold a raw customer id
            holdout = holdout.assign(customer_id=pseudonymise(holdout["customer_id"], settings))
        holdout.to_parquet(Path(tmp) / "holdout.parquet", index=False)
        (Path(tmp) / "training.json").write_text(json.dumps({"metrics": metrics, "data_window": data_window}))
        active = mlflow.active_run()
        same = active is not None and active.info.run_id == run_id
        with registry_lock(settings), nullcontext() if same else mlflow.start_run(run_id=run_id):
            mlflow.log_artifact(str(Path(tmp) / "holdout.parquet"), "holdout")
            mlflow.log_artifact(str(Path(tmp) / "training.json"), "holdout")
            info = mlflow.pyfunc.log_model(
                name="model",
                python_model=NeedradarPyfunc(),
                artifacts={"model": str(folder)},
                signature=signature,
                input_example=input_example,
                registered_model_name=name,
                pip_requirements=model_requirements(),
            )
    version = int(info.registered_model_version)
    client.set_model_version_tag(name, str(version), "run_id", run_id)
    with registry_lock(settings):
        client.set_registered_model_alias(name, "challenger", str(version))
    logger.info("registered %s version %d as challenger", name, version)
    return version


def register_again(task: Task, settings: Settings, alias: str = "champion") -> int:
    """Register the model behind `alias` once more, as a new version and challenger, with its run,
    holdout, metrics and data window: a new model object to load, nothing else changed."""
    old = load(task, settings, alias)
    return register(
        task,
        old.model,
        settings=settings,
        run_id=old.run_id,
        holdout=training_holdout(old),
        metrics=old.metrics,
        data_window=old.data_window,
        pseudonymised=True,  # hashed once more, no customer would be found in it by pseudonym
    )


@dataclass
class LoadedModel:
    task: Task
    name: str
    version: int
    alias: str
    model: Any
    run_id: str
    metrics: dict[str, float] = field(default_factory=dict)
    data_window: dict[str, str] = field(default_factory=dict)


def _version(client: MlflowClient, name: str, alias: str, task: Task):
    try:
        return client.get_model_version_by_alias(name, alias)
    except MlflowException as e:
        hint = f"run `{TRAIN_COMMAND[task]}`" + (
            "" if alias == "challenger" else f" then `needradar models promote {task}`"
        )
        raise ModelNotFoundError(f"no {alias} for {name}; {hint}") from e


def _training_info(run_id: str) -> dict[str, Any]:
    path = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="holdout/training.json")
    return json.loads(Path(path).read_text())


def load(task: Task, settings: Settings, alias: str = "champion", name: str | None = None) -> LoadedModel:
    """The model object behind an alias, with its training metrics and data window."""
    use_tracking(settings)
    client = MlflowClient()
    name = name or model_name(task, settings)
    mv = _version(client, name, alias, task)
    pyfunc = mlflow.pyfunc.load_model(f"models:/{name}/{mv.version}")
    info = _training_info(mv.run_id)
    return LoadedModel(
        task,
        name,
        int(mv.version),
        alias,
        pyfunc.unwrap_python_model().obj,
        mv.run_id,
        info["metrics"],
        info["data_window"],
    )


@dataclass
class PromotionResult:
    task: Task
    promoted: bool
    reason: str
    challenger: int
    champion: int | None
    comparison: dict[str, dict[str, float]]


def _history(client: MlflowClient, name: str) -> list[int]:
    tags = client.get_registered_model(name).tags
    return [int(v) for v in tags.get(HISTORY_TAG, "").split(",") if v]


def registry_lock(settings: Settings):
    """One registry writer at a time on this machine (train, promote, rollback, daily)."""
    return file_lock(settings.home / "registry" / "registry.lock")


def _journal(settings: Settings, name: str) -> Path:
    return settings.home / "registry" / f"{name}.pending.json"


def _apply_champion(client: MlflowClient, name: str, version: int, history: list[int]) -> None:
    client.set_registered_model_alias(name, "champion", str(version))
    client.set_registered_model_tag(name, HISTORY_TAG, ",".join(map(str, history)))


def _set_champion(
    client: MlflowClient, name: str, version: int, history: list[int], settings: Settings
) -> None:
    """Move the alias and the history together: journal, both calls, then drop the journal."""
    journal = _journal(settings, name)
    write_json(journal, {"version": version, "history": history})
    _apply_champion(client, name, version, history)
    journal.unlink()


def repair(settings: Settings) -> list[str]:
    """Finish champion changes that a crash interrupted; returns the model names repaired.

    Call it holding `registry_lock`: a journal seen under the lock belongs to a dead process.
    """
    repaired = []
    for journal in sorted((settings.home / "registry").glob("*.pending.json")):
        name = journal.name.removesuffix(".pending.json")
        pending = json.loads(journal.read_text())
        _apply_champion(MlflowClient(), name, int(pending["version"]), [int(v) for v in pending["history"]])
        journal.unlink()
        logger.warning("finished an interrupted champion change of %s (version %s)", name, pending["version"])
        repaired.append(name)
    return repaired


def _repair_if_needed(settings: Settings) -> None:
    if any((settings.home / "registry").glob("*.pending.json")):
        with registry_lock(settings):
            use_tracking(settings)
            repair(settings)


def champion_versions(settings: Settings) -> dict[str, int | None]:
    """The champion version of each task (None without one): a cheap check for servers."""
    use_tracking(settings)
    client = MlflowClient()
    out: dict[str, int | None] = {}
    for task in ("churn", "volume"):
        try:
            out[task] = int(client.get_model_version_by_alias(model_name(task, settings), "champion").version)
        except MlflowException:
            out[task] = None
    return out


def promote(task: Task, settings: Settings, force: bool = False) -> PromotionResult:
    """Move `champion` to the challenger when it is not worse on the challenger's holdout."""
    with registry_lock(settings):
        use_tracking(settings)
        repair(settings)
        return _promote(task, settings, force)


def _promote(task: Task, settings: Settings, force: bool = False) -> PromotionResult:
    """Move `champion` to the challenger when it is not worse on the challenger's holdout."""
    use_tracking(settings)
    client = MlflowClient()
    name = model_name(task, settings)
    challenger = load(task, settings, "challenger")
    history = _history(client, name)
    try:
        champion = load(task, settings, "champion")
    except ModelNotFoundError:
        champion = None
    if champion is not None and champion.version == challenger.version:
        raise NeedradarError(
            f"version {challenger.version} of {name} is already the champion; train a new model first"
        )
    holdout = pd.read_parquet(
        mlflow.artifacts.download_artifacts(run_id=challenger.run_id, artifact_path="holdout/holdout.parquet")
    )
    comparison = compare_on_holdout(
        task, challenger.model, champion.model if champion is not None else None, holdout
    )
    if champion is None:
        bad = not_finite(task, comparison)
        ok, reason = (
            (False, f"cannot judge: {', '.join(bad)} is not a finite number")
            if bad
            else (True, "no champion yet")
        )
    else:
        ok, reason = gate(task, comparison["challenger"], comparison["champion"], settings)
    if not ok and force:
        ok, reason = True, f"forced: {reason}"
    if ok:
        _set_champion(client, name, challenger.version, history + [challenger.version], settings)
    return PromotionResult(
        task, ok, reason, challenger.version, champion.version if champion else None, comparison
    )


def rollback(task: Task, settings: Settings) -> tuple[int, int]:
    """Return `champion` to the previous champion; returns (from_version, to_version)."""
    with registry_lock(settings):
        use_tracking(settings)
        repair(settings)
        return _rollback(task, settings)


def _rollback(task: Task, settings: Settings) -> tuple[int, int]:
    use_tracking(settings)
    client = MlflowClient()
    name = model_name(task, settings)
    history = _history(client, name)
    if len(history) < 2:
        raise NeedradarError(f"{name} has no previous champion to roll back to")
    _set_champion(client, name, history[-2], history[:-1], settings)
    return history[-1], history[-2]


def list_versions(settings: Settings, task: Task | None = None) -> pd.DataFrame:
    """Versions, aliases, creation time, key metrics and data window of the registered models."""
    _repair_if_needed(settings)
    use_tracking(settings)
    client = MlflowClient()
    rows = []
    for t in [task] if task else ["churn", "volume"]:
        name = model_name(t, settings)
        try:
            versions = client.search_model_versions(f"name='{name}'")
            aliases = client.get_registered_model(name).aliases
        except MlflowException:
            continue
        for mv in versions:
            info = _training_info(mv.run_id) if mv.run_id else {"metrics": {}, "data_window": {}}
            window = info["data_window"]
            params = client.get_run(mv.run_id).data.params if mv.run_id else {}
            horizon = window.get("horizon_days") or params.get("horizon_days", "")
            rows.append(
                {
                    "task": t,
                    "version": int(mv.version),
                    "aliases": ",".join(sorted(a for a, v in aliases.items() if int(v) == int(mv.version))),
                    "created": pd.Timestamp(mv.creation_timestamp, unit="ms").strftime("%Y-%m-%d %H:%M"),
                    **{k: round(v, 4) for k, v in info["metrics"].items() if isinstance(v, float)},
                    "horizon_days": int(horizon) if str(horizon).isdigit() else None,
                    "data_start": window.get("data_start", ""),
                    "data_end": window.get("data_end", ""),
                }
            )
    return pd.DataFrame(rows).sort_values(["task", "version"]) if rows else pd.DataFrame(rows)


def training_holdout(loaded: LoadedModel) -> pd.DataFrame:
    """The out-of-time holdout frame logged with a model version (the drift reference)."""
    path = mlflow.artifacts.download_artifacts(run_id=loaded.run_id, artifact_path="holdout/holdout.parquet")
    return pd.read_parquet(path)
