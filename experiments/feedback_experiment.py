"""The edge of text-model training: labelled texts, out-of-sample comparison, MLflow run, registry.

One registered model per label column (`<feedback_model_name>-<label>`, e.g.
needradar-feedback-text_class). The new version becomes `challenger`; it also becomes `champion`
when there is none, or when its macro F1 on the new test texts is not below the champion's on
the same texts. No text goes to MLflow: the logged holdout holds labels and predictions only.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import mlflow
import pandas as pd
from mlflow import MlflowClient

from core.config import Settings
from core.errors import DataError, ModelNotFoundError
from experiments import registry
from experiments.tracking import data_fingerprint, ensure_experiment, use_tracking
from features.contract import EventData
from training.text_model import TextClassifier, compare, time_split

logger = logging.getLogger(__name__)
MIN_ROWS = 30


@dataclass
class FeedbackOutcome:
    label_col: str
    macro_f1: dict[str, float]
    accuracy: dict[str, float]
    train_rows: int
    test_rows: int
    run_id: str
    model_name: str
    version: int
    champion: bool

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def feedback_model_name(label_col: str, settings: Settings) -> str:
    return f"{settings.tracking.feedback_model_name}-{label_col}"


def labelled_texts(
    events: EventData, label_col: str, tables: tuple[str, ...] = ("feedback", "tickets")
) -> pd.DataFrame:
    """ts, text and label of every row with both a text and a `label_col` value."""
    parts = []
    for name in tables:
        df = getattr(events, name)
        if df is None or "text" not in df or label_col not in df:
            continue
        rows = df[df["text"].notna() & df[label_col].notna()]
        parts.append(
            pd.DataFrame(
                {"ts": rows["ts"], "text": rows["text"].astype(str), "label": rows[label_col].astype(str)}
            )
        )
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["ts", "text", "label"])
    if len(frame) < MIN_ROWS:
        raise DataError(
            f"{', '.join(tables)}: {len(frame)} texts labelled in column {label_col!r}; "
            f"training needs at least {MIN_ROWS} rows with both `text` and `{label_col}`"
        )
    if frame["label"].nunique() < 2:
        raise DataError(
            f"{label_col}: every labelled text has the label {frame['label'].iloc[0]!r}; need two or more"
        )
    return frame


def _champion_f1(name: str, test: pd.DataFrame, settings: Settings) -> float | None:
    try:
        champion = registry.load("feedback", settings, name=name)
    except ModelNotFoundError:
        return None
    return champion.model.evaluate(test)["macro_f1"]


def train_and_register(
    events: EventData, label_col: str, settings: Settings, model: TextClassifier | None = None
) -> FeedbackOutcome:
    """Compare the text model with its baselines out of sample, log the run, register the model."""
    frame = labelled_texts(events, label_col)
    train, test = time_split(frame)
    result = compare(train, test, model)
    fitted = result["fitted"]["model"]
    use_tracking(settings)
    name = feedback_model_name(label_col, settings)
    exp = ensure_experiment(settings.tracking.feedback_experiment, settings)
    with mlflow.start_run(experiment_id=exp, run_name=f"feedback-{label_col}") as run:
        mlflow.log_params(
            {
                "label_col": label_col,
                "model": repr(fitted),
                "train_rows": len(train),
                "test_rows": len(test),
                "classes": ",".join(map(str, fitted.classes_)),
                "data_fingerprint": data_fingerprint({"labelled": frame}),
                "split": "time, newest 20% held out",
            }
        )
        for what in ("macro_f1", "accuracy"):
            mlflow.log_metrics({f"{what}.{k}": v for k, v in result[what].items()})
        holdout = pd.DataFrame({"label": test["label"], "predicted": fitted.predict(test["text"])})
        window = {"data_start": f"{frame['ts'].min():%Y-%m-%d}", "data_end": f"{frame['ts'].max():%Y-%m-%d}"}
        old_f1 = _champion_f1(name, test, settings)
        version = registry.register(
            "feedback",
            fitted,
            settings=settings,
            run_id=run.info.run_id,
            holdout=holdout,
            metrics={"macro_f1": result["macro_f1"]["model"], "accuracy": result["accuracy"]["model"]},
            data_window=window,
            name=name,
        )
    champion = old_f1 is None or result["macro_f1"]["model"] >= old_f1
    if champion:
        MlflowClient().set_registered_model_alias(name, "champion", str(version))
        logger.info(
            "%s version %d is the champion (macro F1 %.3f)", name, version, result["macro_f1"]["model"]
        )
    return FeedbackOutcome(
        label_col,
        result["macro_f1"],
        result["accuracy"],
        len(train),
        len(test),
        run.info.run_id,
        name,
        version,
        champion,
    )


def load_text_models(settings: Settings) -> dict[str, object]:
    """The champion text models by what they predict ("class", "sentiment"); absent ones are left out."""
    models = {}
    for what in ("class", "sentiment"):
        try:
            models[what] = registry.load(
                "feedback", settings, name=feedback_model_name(f"text_{what}", settings)
            ).model
        except ModelNotFoundError:
            logger.info("no champion text model for text_%s; its labels are used where present", what)
    return models
