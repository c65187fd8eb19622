import numpy as np
import pandas as pd
import pytest

from serving.scoring import customer_value, odds_lift, risk_tier, score_customers
from training.churn_model import ChurnModel


def _vectors(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    tickets = rng.poisson(1.0, n)
    trend = rng.uniform(0.3, 1.5, n)
    oldest = rng.exponential(20, n)
    logit = 1.2 * tickets - 2.5 * trend + oldest / 20 - 0.5
    return pd.DataFrame(
        {
            "customer_id": [f"C{i:04d}" for i in range(n)],
            "tickets_unresolved_30d": tickets,
            "usage_minutes_trend_30d": trend,
            "req_oldest_open_days": oldest,
            "monthly_fee": rng.uniform(10, 50, n),
            "segment": pd.Categorical(rng.choice(["consumer", "business"], n)),
            "value_tier": pd.Categorical(rng.choice(["top", "potential", "reactivate"], n)),
            "annual_value": rng.uniform(100, 1000, n),
            "churned": (logit + rng.logistic(size=n) > 0).astype(int),
        }
    )


@pytest.fixture(scope="module")
def model():
    train = _vectors(1500, 1)
    return ChurnModel({"n_estimators": 30, "num_leaves": 7}, calibration="platt").fit(
        train.drop(columns=["value_tier", "annual_value"]), train["churned"]
    )


@pytest.fixture(scope="module")
def scored(model, settings):
    return score_customers(model, _vectors(200, 2), settings, explain_top=20)


def test_sorted_list_with_tiers_and_value_at_risk(scored, model, settings):
    assert len(scored) == 200 and scored["customer_id"].is_unique
    assert scored["churn_probability"].is_monotonic_decreasing
    vectors = _vectors(200, 2).set_index("customer_id").loc[scored["customer_id"]]
    np.testing.assert_allclose(scored["churn_probability"], model.predict_proba(vectors), atol=1e-6)
    lift = settings.churn.risk_tier_lift
    p = scored["churn_probability"]
    base = p.mean()
    odds = (p / (1 - p)) / (base / (1 - base))
    red = odds >= lift["red"]
    assert red.any() and (scored.loc[red, "risk_tier"] == "red").all()
    assert (scored.loc[~red, "risk_tier"] != "red").all()
    assert (scored.loc[odds < lift["yellow"], "risk_tier"] == "green").all()
    np.testing.assert_allclose(
        scored["value_at_risk"], scored["churn_probability"] * scored["customer_value"], atol=0.02
    )
    assert {"segment", "channel_cost"} <= set(scored.columns)


def test_customer_value_is_discounted_revenue_with_vip_floor(settings):
    v = settings.churn.value
    annuity = (
        1 - (1 + v.discount_rate) ** -v.clv_years
    ) / v.discount_rate  # closed form, end-of-year payments
    got = customer_value(np.array([100.0, 100.0]), np.array(["potential", "top"]), settings)
    assert got[0] == pytest.approx(100 * annuity)
    assert got[1] == pytest.approx(100 * max(annuity, v.vip_loss_multiple))
    assert risk_tier(np.array([0.99, 0.0]), settings).tolist() == ["red", "green"]


def test_tiers_need_lift_over_the_base_rate(settings):
    p = np.array([0.99, 0.97, 0.9, 0.6])
    # Where 85% of customers leave, 0.9 is close to average: yellow, not red, however high.
    assert risk_tier(p, settings, base_rate=0.85).tolist() == ["red", "red", "yellow", "green"]
    assert odds_lift(np.array([0.5]), 0.5) == pytest.approx([1.0])
    # Where 2% leave, 25% is sixteen times the average odds: red on the lift alone...
    assert risk_tier(np.array([0.25, 0.32, 0.01]), settings, base_rate=0.02).tolist() == [
        "red",
        "red",
        "green",
    ]
    # ...unless a probability floor is configured as well.
    floors = {"risk_tiers": {"red": 0.3, "orange": 0.15, "yellow": 0.05}}
    floored = settings.model_copy(update={"churn": settings.churn.model_copy(update=floors)})
    assert risk_tier(np.array([0.25, 0.32, 0.01]), floored, base_rate=0.02).tolist() == [
        "orange",
        "red",
        "green",
    ]


@pytest.mark.parametrize("base_rate", [0.03, 0.40])
def test_tiers_follow_the_base_rate(settings, base_rate):
    """Calibrated probabilities of a fair model (logit-normal around the base rate, drawn so that
    the mean is the base rate): the top is red and every tier holds a sensible share."""
    rng = np.random.default_rng(11)
    z = rng.normal(0.0, 1.2, 20_000)
    shift = np.log(base_rate / (1 - base_rate))
    for _ in range(50):  # move the centre until the mean probability is the base rate
        p = 1 / (1 + np.exp(-(z + shift)))
        shift += np.log(base_rate / (1 - base_rate)) - np.log(p.mean() / (1 - p.mean()))
    p = np.sort(p)[::-1]
    tiers = pd.Series(risk_tier(p, settings, base_rate=base_rate))
    assert tiers.iloc[0] == "red" and tiers.iloc[-1] == "green"
    share = tiers.value_counts(normalize=True)
    assert 0.01 <= share["red"] <= 0.25, share
    assert 0.01 <= share["orange"] <= 0.25 and 0.02 <= share["yellow"] <= 0.35, share
    assert 0.35 <= share["green"] <= 0.9, share
    order = {"red": 0, "orange": 1, "yellow": 2, "green": 3}
    assert tiers.map(order).is_monotonic_increasing  # higher probability, never a lower tier
    # The old fixed floors alone would leave no red where 3% leave; the lift does not.
    if base_rate == 0.03:
        assert (p >= 0.3).mean() < 0.01


def test_already_lapsed_customers_are_listed_apart_by_value(model, settings):
    vectors = _vectors(200, 4)
    vectors["days_since_last_activity"] = np.r_[np.full(150, 5.0), np.full(50, 400.0)]
    train = _vectors(1500, 1).assign(days_since_last_activity=5.0)
    m = ChurnModel({"n_estimators": 30, "num_leaves": 7}, calibration="platt").fit(
        train.drop(columns=["value_tier", "annual_value"]), train["churned"]
    )
    out = score_customers(m, vectors, settings, explain_top=20, lapsed_after_days=90)
    assert out["lapsed"].sum() == 50 and not out.head(150)["lapsed"].any()
    lapsed = out[out["lapsed"]]
    assert (lapsed["risk_tier"] == "lapsed").all() and (lapsed["action"] == "win_back").all()
    assert lapsed["customer_value"].is_monotonic_decreasing
    assert out.head(150)["churn_probability"].is_monotonic_decreasing


def test_reasons_only_for_the_top_and_name_real_drivers(scored):
    top, rest = scored.head(20), scored.iloc[20:]
    assert top["reason_1_feature"].notna().all() and rest["reason_1_feature"].isna().all()
    assert rest["reason_1_shap"].isna().all() and (top["reason_1_shap"] > 0).all()
    drivers = {"tickets_unresolved_30d", "usage_minutes_trend_30d", "req_oldest_open_days"}
    assert top["reason_1_feature"].isin(drivers).mean() >= 0.8
    row = top[top["reason_1_feature"] == "tickets_unresolved_30d"].iloc[0]
    n = int(float(row["reason_1_value"]))
    assert row["reason_1_text"] == f"{n} ticket{'' if n == 1 else 's'} from the last 30 days still unresolved"
    assert (top["reason_1_shap"] >= top["reason_2_shap"].fillna(-1)).all()


def test_action_channel_and_contact_limit(scored, settings):
    by_reason = scored.head(20).groupby("reason_1_feature")["action"].first()
    if "tickets_unresolved_30d" in by_reason:
        assert by_reason["tickets_unresolved_30d"] == "service_upgrade"
    assert (scored.iloc[20:]["action"] == settings.retention.default_action).all()
    top = scored[(scored["value_tier"] == "top") & scored["risk_tier"].isin(["red", "orange"])].iloc[0]
    assert top["channel"] == "dedicated_agent+messaging_app" and top["channel_cost"] == pytest.approx(12.8)
    low = scored[scored["risk_tier"].isin(["green", "yellow"])]
    assert not low["channel"].str.contains("dedicated_agent").any()
    assert scored["channel"].str.split("+").str.len().max() <= settings.retention.max_contacts_per_day


def test_empty_vectors_and_no_explanations(model, settings):
    empty = score_customers(model, _vectors(5, 3).head(0), settings)
    assert len(empty) == 0 and "reason_3_text" in empty.columns
    none = score_customers(model, _vectors(5, 3), settings, explain_top=0)
    assert none["reason_1_feature"].isna().all()


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    home = tmp_path_factory.mktemp("scorestore")
    mp = pytest.MonkeyPatch()
    mp.setenv("NEEDRADAR_HOME", str(home))
    mp.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{home}/mlflow.db")
    yield home
    mp.undo()


def test_churn_score_command(store, settings, sample, sample_dir, tmp_path):
    import mlflow
    from typer.testing import CliRunner

    from core.config import load_config
    from core.errors import DataError, ModelNotFoundError
    from experiments import registry
    from experiments.tracking import ensure_experiment, use_tracking
    from features.labels import churn_labels
    from features.vectors import build_vectors
    from needradar.cli import app

    settings = load_config()  # resolved with this module's store, as the CLI's own settings are
    out = tmp_path / "at_risk.csv"
    args = ["churn", "score", "--data", str(sample_dir), "--out", str(out)]
    missing = CliRunner().invoke(app, [*args, "--as-of", "2020-01-01"])
    assert isinstance(missing.exception, ModelNotFoundError)
    assert "run `needradar churn train` then `needradar models promote churn`" in str(missing.exception)

    as_of = sample.events.last_event_ts().normalize() - pd.Timedelta(days=60)
    vectors = build_vectors(sample.events, as_of, settings)
    y = (
        churn_labels(sample.events, as_of, 30)
        .reindex(vectors["customer_id"])
        .fillna(False)
        .astype(int)
        .to_numpy()
    )
    model = ChurnModel({"n_estimators": 10, "num_leaves": 7}, calibration="platt").fit(vectors, y)
    use_tracking(settings)
    with mlflow.start_run(experiment_id=ensure_experiment("needradar-churn", settings)) as run:
        registry.register(
            "churn",
            model,
            settings=settings,
            run_id=run.info.run_id,
            holdout=vectors.assign(churned=y),
            metrics={"auc": 0.7},
            data_window={"data_end": f"{as_of:%Y-%m-%d}"},
        )
    registry.promote("churn", settings)

    outside = CliRunner().invoke(app, [*args, "--as-of", "1990-01-01"])
    assert isinstance(outside.exception, DataError) and "as-of date 1990-01-01 is outside the data" in str(
        outside.exception
    )

    ok = CliRunner().invoke(app, [*args, "--as-of", f"{as_of:%Y-%m-%d}", "--top", "10", "--json"])
    assert ok.exit_code == 0, ok.output
    csv, parquet = pd.read_csv(out), pd.read_parquet(out.with_suffix(".parquet"))
    assert len(csv) == len(parquet) == len(vectors)
    assert parquet["reason_1_text"].notna().sum() <= 10 and parquet["reason_1_text"].iloc[0]
    assert f'"customers": {len(vectors)}' in ok.output


def test_isotonic_calibration_leaves_no_ties_at_the_top_of_the_list(settings):
    train = _vectors(1500, 1).drop(columns=["value_tier", "annual_value"])
    iso = ChurnModel({"n_estimators": 30, "num_leaves": 7}, calibration="isotonic").fit(
        train, train["churned"]
    )
    vectors = _vectors(300, 3)
    out = score_customers(iso, vectors, settings, explain_top=0)
    raw = pd.Series(iso.raw_score(vectors), index=vectors["customer_id"]).loc[out["customer_id"]]
    top = out.head(20)
    assert raw.head(20).is_monotonic_decreasing  # the list follows the booster's score
    assert top["churn_probability"].nunique() == raw.head(20).round(9).nunique()


def test_the_lapse_definition_and_base_rate_of_a_list(model, settings):
    from serving.scoring import base_rate_of, lapsed_after

    assert lapsed_after(model, settings, {"horizon_days": "90"}) == 90.0
    assert lapsed_after(model, settings) == settings.churn.horizon_days
    fixed = settings.model_copy(update={"churn": settings.churn.model_copy(update={"lapsed_after_days": 60})})
    assert lapsed_after(model, fixed, {"horizon_days": "90"}) == 60.0
    day = pd.DataFrame({"churn_probability": [0.2] * 60 + [0.9] * 10, "lapsed": [False] * 60 + [True] * 10})
    assert base_rate_of(day) == pytest.approx(0.2)
    assert base_rate_of(day.head(10)) is None and base_rate_of(None) is None
    # A few rows scored with the day's base rate get the day's tiers.
    few = _vectors(5, 9)
    alone = score_customers(model, few, settings, explain_top=0)
    assert alone["risk_tier"].tolist() == risk_tier(alone["churn_probability"].to_numpy(), settings).tolist()
    told = score_customers(model, few, settings, explain_top=0, base_rate=0.5)
    assert (
        told["risk_tier"].tolist() == risk_tier(told["churn_probability"].to_numpy(), settings, 0.5).tolist()
    )


def test_our_own_contacts_are_features_but_never_reasons(settings):
    """Campaigns reach customers already at risk: a recent contact marks risk without causing it.
    The model may use it, but the list never offers it as a reason."""
    rng = np.random.default_rng(5)
    train = _vectors(1500, 3)
    # Contacted recently when at risk, so the contact features predict churn strongly.
    at_risk = train["churned"].to_numpy() == 1
    train["contact_days_since_last"] = np.where(at_risk, rng.uniform(0, 5, 1500), rng.uniform(20, 90, 1500))
    train["contacts_30d"] = np.where(at_risk, rng.poisson(3, 1500), rng.poisson(0.2, 1500)).astype(float)
    m = ChurnModel({"n_estimators": 30, "num_leaves": 7}, calibration="platt").fit(
        train.drop(columns=["value_tier", "annual_value"]), train["churned"]
    )
    assert {"contact_days_since_last", "contacts_30d"} <= set(m.feature_names_)
    from serving.explain import tree_shap

    shap = pd.DataFrame(tree_shap(m, train)[:, :-1], columns=m.feature_names_)
    assert shap.abs().mean().idxmax() in {"contact_days_since_last", "contacts_30d"}  # it does drive
    out = score_customers(m, train.drop(columns=["churned"]), settings, explain_top=200)
    named = pd.concat([out[f"reason_{i}_feature"] for i in (1, 2, 3)]).dropna()
    assert len(named) > 200 and not named.str.startswith("contact").any()
    texts = pd.concat([out[f"reason_{i}_text"] for i in (1, 2, 3)]).dropna()
    assert not texts.str.contains("by us").any()
    # Removing them changes only the reasons, not the score.
    np.testing.assert_allclose(
        out["churn_probability"], np.round(np.sort(m.predict_proba(train))[::-1], 6), atol=1e-6
    )
