import pandas as pd
import pytest
from typer.testing import CliRunner

from core.errors import DataError
from features.load import load_event_data, read_raw_tables, write_event_data
from features.validate import validate_tables
from needradar.cli import app


@pytest.fixture()
def folder(sample, tmp_path):
    """A small, valid data folder the tests then break."""
    ids = sample.events.customers["customer_id"].head(50)
    tables = {k: v[v["customer_id"].isin(ids)] for k, v in sample.events.tables().items()}
    from features.contract import EventData

    write_event_data(EventData(**tables), tmp_path)
    return tmp_path


def _edit(folder, table, fn):
    path = folder / f"{table}.csv"
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    fn(df)
    df.to_csv(path, index=False)


def _messages(folder, as_of=None):
    return [str(p) for p in validate_tables(read_raw_tables(folder), as_of=as_of).problems]


def test_clean_folder_passes(folder):
    assert _messages(folder) == []


def test_wrong_types(folder):
    _edit(folder, "transactions", lambda df: df.__setitem__("amount", ["abc"] + list(df["amount"][1:])))
    _edit(folder, "usage", lambda df: df.__setitem__("ts", ["yesterday"] + list(df["ts"][1:])))
    msgs = _messages(folder)
    assert "transactions, row 1, column amount: 'abc' is not a valid float" in msgs
    assert "usage, row 1, column ts: 'yesterday' is not a valid timestamp" in msgs


def test_unknown_customer_ids(folder):
    _edit(
        folder, "tickets", lambda df: df.__setitem__("customer_id", ["C999999"] + list(df["customer_id"][1:]))
    )
    assert "tickets, row 1, column customer_id: unknown customer id 'C999999'" in _messages(folder)


def test_future_timestamps(folder):
    _edit(folder, "feedback", lambda df: df.__setitem__("ts", ["2031-01-01 10:00:00"] + list(df["ts"][1:])))
    _edit(folder, "tickets", lambda df: df.__setitem__("ts", ["2030-06-01 23:59:00"] + list(df["ts"][1:])))
    msgs = _messages(folder, as_of="2030-06-01")
    assert "feedback, row 1, column ts: 2031-01-01 10:00:00 is after the as-of date 2030-06-01" in msgs
    assert not any(m.startswith("tickets, row 1, column ts") for m in msgs)  # the as-of day counts whole


def test_outcomes_after_the_as_of_date_are_not_known_yet_rather_than_invalid(sample, tmp_path):
    """A replay of day D on a later snapshot keeps the customers who churned after D and their open
    tickets; it only forgets what had not happened yet."""
    events = sample.events
    day = (events.last_event_ts() - pd.Timedelta(days=60)).normalize()
    day_end = day + pd.Timedelta(days=1)
    write_event_data(events, tmp_path / "data")
    report = validate_tables(read_raw_tables(tmp_path / "data"), as_of=day)
    assert not any(p.column in ("churn_ts", "resolved_ts", "first_response_ts") for p in report.problems)
    loaded = load_event_data(tmp_path / "data", as_of=day, quarantine_dir=tmp_path / "q")

    c = events.customers
    known = c[c["signup_ts"] < day_end]
    later_churn = known["churn_ts"] >= day_end
    assert later_churn.sum() > 0
    assert len(loaded.customers) == len(known)  # nobody quarantined for churning later
    by_id = loaded.customers.set_index("customer_id")["churn_ts"]
    assert by_id.loc[known.loc[later_churn, "customer_id"]].isna().all()
    assert (by_id.dropna() < day_end).all()

    t = loaded.tickets
    raw = events.tickets.set_index("ticket_id")
    resolved_later = raw.loc[t["ticket_id"], "resolved_ts"].to_numpy() >= day_end
    assert resolved_later.sum() > 0
    assert t.loc[resolved_later, "resolved_ts"].isna().all() and t.loc[resolved_later, "csat"].isna().all()
    assert len(t) == (events.tickets["ts"] < day_end).sum()


def test_duplicated_ids(folder):
    def dup(df):
        df.loc[1, "ticket_id"] = df.loc[0, "ticket_id"]

    _edit(folder, "tickets", dup)
    msgs = _messages(folder)
    assert any(m.startswith("tickets, row 2, column ticket_id: duplicated id") for m in msgs), msgs


def test_empty_table(folder):
    _edit(folder, "feedback", lambda df: df.drop(df.index, inplace=True))
    assert "feedback: table is empty" in _messages(folder)


def test_missing_column_and_customers(folder):
    _edit(folder, "usage", lambda df: df.drop(columns=["minutes"], inplace=True))
    assert "usage, column minutes: required column is missing" in _messages(folder)
    (folder / "customers.csv").unlink()
    with pytest.raises(DataError, match="customers: table is missing"):
        load_event_data(folder)


def test_out_of_range_and_allowed_values(folder):
    _edit(folder, "feedback", lambda df: df.__setitem__("nps", ["11"] + list(df["nps"][1:])))
    _edit(folder, "requirements", lambda df: df.__setitem__("status", ["done"] + list(df["status"][1:])))
    msgs = _messages(folder)
    assert "feedback, row 1, column nps: 11.0 must be <= 10" in msgs
    assert any(m.startswith("requirements, row 1, column status: 'done' must be one of open") for m in msgs)


def test_quarantine_keeps_every_invalid_row(folder, tmp_path, caplog):
    _edit(folder, "transactions", lambda df: df.__setitem__("amount", ["-5", "x"] + list(df["amount"][2:])))
    n = len(pd.read_csv(folder / "transactions.csv"))
    with pytest.raises(DataError, match="2 invalid rows in transactions"):
        load_event_data(folder)
    events = load_event_data(folder, quarantine_dir=tmp_path / "q")
    q = pd.read_csv(tmp_path / "q" / "transactions.csv")
    assert len(events.transactions) + len(q) == n
    assert q["_row"].tolist() == [1, 2]
    assert q["_reason"].tolist() == ["-5.0 must be >= 0", "'x' is not a valid float"]
    assert "quarantined 2 of" in caplog.text


def test_duckdb_input(folder, tmp_path):
    import duckdb

    db = tmp_path / "events.duckdb"
    with duckdb.connect(str(db)) as con:
        for name in ("customers", "tickets"):
            con.execute(f"create table {name} as select * from read_csv_auto('{folder / (name + '.csv')}')")
    events = load_event_data(db)
    assert len(events.tickets) == len(pd.read_csv(folder / "tickets.csv"))
    assert events.usage is None


def test_cli_validate_reports_and_fails(folder):
    _edit(
        folder, "tickets", lambda df: df.__setitem__("customer_id", ["C999999"] + list(df["customer_id"][1:]))
    )
    result = CliRunner().invoke(app, ["data", "validate", str(folder), "--json"])
    assert result.exit_code == 1
    assert '"message": "unknown customer id \'C999999\'"' in result.stdout
    assert "error: 1 problems found" in result.stderr


def test_a_replayed_day_leaves_later_rows_out_instead_of_quarantining_them(sample, tmp_path, caplog):
    events = sample.events
    day = (events.last_event_ts() - pd.Timedelta(days=30)).normalize()
    write_event_data(events, tmp_path / "data")
    transactions = pd.read_csv(tmp_path / "data" / "transactions.csv", dtype=str)
    transactions.loc[0, "amount"] = "-5"  # one invalid row known on the day, one after it
    late = pd.to_datetime(transactions["ts"]) >= day + pd.Timedelta(days=1)
    transactions.loc[late.idxmax(), "amount"] = "x"
    transactions.to_csv(tmp_path / "data" / "transactions.csv", index=False)
    with caplog.at_level("INFO"):
        loaded = load_event_data(tmp_path / "data", as_of=day, quarantine_dir=tmp_path / "q")
    n_late = int(late.sum())
    expected = f"{n_late} of {len(transactions)} rows after the as-of date {day:%Y-%m-%d} left out"
    assert f"transactions: {expected}" in caplog.text
    assert "quarantined 1 of" in caplog.text
    assert pd.read_csv(tmp_path / "q" / "transactions.csv")["_row"].tolist() == [1]
    assert len(loaded.transactions) == len(transactions) - n_late - 1
    assert not (tmp_path / "q" / "usage.csv").exists()  # later usage is not quarantine either


PADDINGS = ["", " ", "\t", "\n", "\u00a0", "\u2003", "\u3000", "\x1c", "\u200b", "\u0085"]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_text_is_trimmed_exactly_like_python_strips_it(seed):
    """Ids and labels are typed through Arrow for speed; the result must be what `str.strip` and
    the ".0" rule give value by value (an independent plain-Python loop), blanks missing."""
    import numpy as np

    rng = np.random.default_rng(seed)
    n = 400
    words = ["C1", "C2.0", "7.0.0", "x.0\n", "", "plan a", None, "ü"]
    ids = [
        None if w is None else rng.choice(PADDINGS) + w + rng.choice(PADDINGS)
        for w in rng.choice(np.array(words, dtype=object), n)
    ]
    ids[0] = "C0"  # the first row keeps the table valid enough to type
    raw = {
        "customers": pd.DataFrame(
            {"customer_id": ids, "signup_ts": "2026-01-01", "segment": [i and i[::-1] for i in ids]}
        ),
        "usage": pd.DataFrame({"customer_id": ["C0"], "ts": ["2026-01-02"], "sessions": 1, "minutes": 1}),
    }
    report = validate_tables(raw)
    typed = report.typed["customers"]

    def stripped(value, id_rule):
        if value is None or not value.strip():
            return None
        value = value.strip()
        return value[:-2] if id_rule and value.endswith(".0") else value

    expect_ids = [stripped(v, True) for v in ids]
    expect_segments = [stripped(v and v[::-1], False) for v in ids]

    def values(col):
        return typed[col].astype(object).where(typed[col].notna(), None).tolist()

    assert values("customer_id") == expect_ids
    assert values("segment") == expect_segments
    assert str(typed["customer_id"].dtype) == "string"
    missing_rows = {i + 1 for i, v in enumerate(expect_ids) if v is None}
    assert {p.row for p in report.problems if p.message == "missing value (required)"} == missing_rows
