"""Classification metrics, the two baselines every model is compared with, and report plots."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

NON_FEATURES = ("customer_id", "cutoff", "churned")
RECENCY_COLUMNS = ("days_since_last_activity", "rfm_recency_days")
TENURE_COLUMNS = ("tenure_days", "tenure")


def feature_columns(
    df: pd.DataFrame, label: str = "churned", id_col: str | None = "customer_id"
) -> list[str]:
    """The model's input columns: everything but ids, cutoffs and the label."""
    skip = set(NON_FEATURES) | {label, id_col}
    return [c for c in df.columns if c not in skip and not pd.api.types.is_datetime64_any_dtype(df[c])]


def top_decile_lift(y: np.ndarray, p: np.ndarray) -> float:
    """Churn rate among the 10% highest scores divided by the overall churn rate."""
    y, p = np.asarray(y), np.asarray(p)
    k = max(1, int(np.ceil(0.1 * len(y))))
    top = np.argsort(-p, kind="stable")[:k]
    return float(y[top].mean() / y.mean()) if y.mean() > 0 else float("nan")


def classification_metrics(y_true, p) -> dict[str, float]:
    y, p = np.asarray(y_true).astype(int), np.asarray(p, dtype=float)
    both = len(np.unique(y)) == 2
    return {
        "auc": float(roc_auc_score(y, p)) if both else float("nan"),
        "pr_auc": float(average_precision_score(y, p)) if both else float("nan"),
        "lift_top_decile": top_decile_lift(y, p),
        "brier": float(brier_score_loss(y, np.clip(p, 0, 1))),
    }


class LogisticBaseline:
    """Logistic regression with one-hot categoricals, median imputation and scaling.

    Args:
        C: inverse strength of the L2 penalty (scikit-learn's); the baseline peers use 1.0.
    """

    def __init__(self, C: float = 1.0) -> None:
        self.C = C

    def __repr__(self) -> str:
        return f"LogisticBaseline(C={getattr(self, 'C', 1.0)})"

    def fit(self, X: pd.DataFrame, y) -> LogisticBaseline:
        cat = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c]) or X[c].dtype == "category"]
        num = [c for c in X.columns if c not in cat]
        pre = ColumnTransformer(
            [
                (
                    "num",
                    make_pipeline(
                        SimpleImputer(strategy="median", keep_empty_features=True), StandardScaler()
                    ),
                    num,
                ),
                (
                    "cat",
                    make_pipeline(
                        SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore")
                    ),
                    cat,
                ),
            ]
        )
        self.columns_, self.categorical_ = list(X.columns), cat
        self.pipeline_ = make_pipeline(pre, LogisticRegression(max_iter=2000, C=self.C)).fit(
            self._clean(X), np.asarray(y)
        )
        encoded = self.pipeline_[0].transform(self._clean(X))
        self.encoded_mean_ = np.asarray(encoded.mean(axis=0)).ravel()
        return self

    def _clean(self, X: pd.DataFrame) -> pd.DataFrame:
        """Numbers as floats (infinities as missing), categories as text ("missing" for none).

        The numeric columns are converted in one block: column by column this was most of the
        time of scoring one customer over HTTP.
        """
        X = X[self.columns_]
        cat = getattr(self, "categorical_", None)  # the training columns' kinds, not the new rows'
        if cat is None:  # a model pickled before they were kept
            cat = [
                c for c in X.columns if X[c].dtype == "category" or not pd.api.types.is_numeric_dtype(X[c])
            ]
        num = [c for c in X.columns if c not in set(cat)]
        try:
            values = X[num].to_numpy(np.float64, na_value=np.nan)
        except (TypeError, ValueError):  # rows sent as JSON: a numeric column of text or only nulls
            values = np.column_stack(
                [pd.to_numeric(X[c], errors="coerce").to_numpy(np.float64, na_value=np.nan) for c in num]
            ).reshape(len(X), len(num))
        values[np.isinf(values)] = np.nan
        out = pd.DataFrame(values, columns=num, index=X.index)
        for c in cat:
            out[c] = X[c].astype("object").where(X[c].notna(), "missing").astype(str)
        return out[self.columns_]

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return self.pipeline_.predict_proba(self._clean(X))[:, 1]

    def decision_function(self, X: pd.DataFrame) -> np.ndarray:
        """Log-odds of churn, one per row."""
        return self.pipeline_.decision_function(self._clean(X))

    def contributions(self, X: pd.DataFrame) -> np.ndarray:
        """Exact additive contributions in log-odds: (rows, columns + 1), the last column the bias;
        each column's is its coefficients times (its encoded values minus their training means)."""
        encoded = self.pipeline_[0].transform(self._clean(X))
        return self.contributions_of(encoded.toarray() if hasattr(encoded, "toarray") else encoded)

    def decision_of(self, encoded: np.ndarray) -> np.ndarray:
        """Log-odds of rows already encoded by the pipeline's preprocessing (or its LinearEncoding):
        the regression's own formula, without its per-call input checks."""
        lr = self.pipeline_[-1]
        return (np.asarray(encoded) @ lr.coef_.T + lr.intercept_).reshape(-1)

    def contributions_of(self, encoded: np.ndarray) -> np.ndarray:
        """`contributions` of rows already encoded by the pipeline's preprocessing."""
        pre, lr = self.pipeline_[0], self.pipeline_[-1]
        coef = lr.coef_[0]
        centred = (np.asarray(encoded) - self.encoded_mean_) * coef
        out = np.zeros((len(centred), len(self.columns_) + 1))
        start = 0
        pos = {c: j for j, c in enumerate(self.columns_)}
        for name, trans, cols in pre.transformers_:
            if name == "remainder" or not len(cols):
                continue
            if name != "cat":  # one encoded column each: its sum is itself
                out[:, [pos[c] for c in cols]] = centred[:, start : start + len(cols)]
                start += len(cols)
                continue
            for col, w in zip(cols, [len(c) for c in trans[-1].categories_], strict=True):
                out[:, pos[col]] = centred[:, start : start + w].sum(axis=1)
                start += w
        out[:, -1] = lr.intercept_[0] + float(self.encoded_mean_ @ coef)
        return out


def recency_rule(X: pd.DataFrame) -> np.ndarray | None:
    """The rule teams use without a model: the longer since the last activity, the riskier.

    Falls back to "the newer the customer, the riskier" when there is no recency column.
    """
    for col in RECENCY_COLUMNS:
        if col in X:
            return X[col].astype(float).fillna(X[col].max() + 1).to_numpy()
    for col in TENURE_COLUMNS:
        if col in X and pd.api.types.is_numeric_dtype(X[col]):
            return -X[col].astype(float).fillna(0).to_numpy()
    return None


def compare(y, model_p, X_train, y_train, X_test) -> pd.DataFrame:
    """Metrics of the model and of both baselines on the same rows, one row each."""
    rows = {"lightgbm": classification_metrics(y, model_p)}
    rows["logistic_regression"] = classification_metrics(
        y, LogisticBaseline().fit(X_train, y_train).predict_proba(X_test)
    )
    rule = recency_rule(X_test)
    if rule is not None:
        # A rule gives a ranking, not a probability: its Brier uses the base rate per decile.
        rank = pd.Series(rule).rank(pct=True).to_numpy()
        rows["recency_rule"] = classification_metrics(y, rank) | {"brier": float("nan")}
    return pd.DataFrame(rows).T.rename_axis("model")


def reliability_curve(y, p, bins: int = 10) -> pd.DataFrame:
    """Mean predicted vs observed churn per quantile bin of the predictions."""
    df = pd.DataFrame({"y": np.asarray(y), "p": np.asarray(p)})
    df["bin"] = pd.qcut(df["p"].rank(method="first"), bins, labels=False)
    return (
        df.groupby("bin").agg(predicted=("p", "mean"), observed=("y", "mean"), n=("y", "size")).reset_index()
    )


def save_plots(out_dir: Path, y, p, importance: pd.Series) -> list[Path]:
    """Reliability curve, lift chart and feature importance as PNG files."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    rel = reliability_curve(y, p)
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, rel["predicted"].max()], [0, rel["predicted"].max()], "--", color="grey", label="perfect")
    ax.plot(rel["predicted"], rel["observed"], "o-", label="model")
    ax.set(xlabel="mean predicted churn", ylabel="observed churn", title="Reliability curve")
    ax.legend()
    paths.append(out_dir / "reliability_curve.png")
    fig.savefig(paths[-1], dpi=100, bbox_inches="tight")
    plt.close(fig)

    order = np.argsort(-np.asarray(p))
    ys = np.asarray(y)[order]
    share = np.arange(1, len(ys) + 1) / len(ys)
    gains = np.cumsum(ys) / max(ys.sum(), 1)
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot(share, gains / share, label="model")
    ax.axhline(1, ls="--", color="grey", label="random")
    ax.set(
        xlabel="share of customers contacted (highest risk first)",
        ylabel="lift",
        title="Lift chart",
        xlim=(0.01, 1),
    )
    ax.legend()
    paths.append(out_dir / "lift_chart.png")
    fig.savefig(paths[-1], dpi=100, bbox_inches="tight")
    plt.close(fig)

    top = importance.sort_values().tail(20)
    fig, ax = plt.subplots(figsize=(6, 6))
    ax.barh(top.index, top.values)
    ax.set(title="Feature importance (gain)")
    paths.append(out_dir / "feature_importance.png")
    fig.savefig(paths[-1], dpi=100, bbox_inches="tight")
    plt.close(fig)
    return paths
