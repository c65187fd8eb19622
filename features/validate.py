"""Check raw tables against the data contract and report every problem with table, row and column.

Rows are numbered as data rows counted from 1 (in a CSV file, row N is on line N + 1, after the
header). Types are coerced first (a value that does not parse is a problem); pandera then checks
nulls, ranges, allowed values and unique keys; the cross-table rules follow.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pandera.pandas as pandera
import pyarrow as pa
import pyarrow.compute as pc
from pandas.api.types import infer_dtype

from features.contract import EVENT_TABLES, TABLES, Column, TableSpec

BOOL_TRUE = {"true", "1", "yes", "y", "t"}
BOOL_FALSE = {"false", "0", "no", "n", "f"}


@dataclass(frozen=True)
class Problem:
    table: str
    row: int | None  # 1-based data row; None for a table-level problem
    column: str | None
    message: str

    def __str__(self) -> str:
        where = self.table + (f", row {self.row}" if self.row is not None else "")
        where += f", column {self.column}" if self.column else ""
        return f"{where}: {self.message}"


@dataclass
class ValidationReport:
    problems: list[Problem] = field(default_factory=list)
    typed: dict[str, pd.DataFrame] = field(default_factory=dict)  # coerced tables, all rows

    @property
    def ok(self) -> bool:
        return not self.problems

    def invalid_rows(self, table: str) -> set[int]:
        """0-based positions of the rows of `table` with a problem."""
        return {p.row - 1 for p in self.problems if p.table == table and p.row is not None}

    def table_problems(self) -> list[Problem]:
        return [p for p in self.problems if p.row is None]

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            [p.__dict__ for p in self.problems], columns=["table", "row", "column", "message"]
        )


def _text(series: pd.Series) -> tuple[np.ndarray, np.ndarray] | None:
    """The values with surrounding whitespace removed (exactly `str.strip`) and the mask of values
    present (not null, not blank), or None when some value is not a string.

    Arrow finds the few values whose first or last character might be whitespace; Python's own
    `str.isspace` decides on those characters and `str.strip` runs on those values only.
    """
    if not (series.dtype == object or isinstance(series.dtype, pd.StringDtype)):
        return None
    if infer_dtype(series, skipna=True) not in ("string", "empty"):
        return None
    try:
        arrow = pa.array(series, type=pa.string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    ends = [pc.utf8_slice_codeunits(arrow, 0, 1), pc.utf8_slice_codeunits(arrow, -1)]
    chars = pc.unique(pa.concat_arrays(ends)).to_pylist()
    spaces = pa.array([c for c in chars if c and c.isspace()], type=pa.string())
    padded = np.zeros(len(series), dtype=bool)
    for end in ends:
        padded |= pc.is_in(end, value_set=spaces).to_numpy(zero_copy_only=False)
    values = series.to_numpy(object, copy=True)
    present = pc.fill_null(pc.greater(pc.utf8_length(arrow), 0), False).to_numpy(zero_copy_only=False)
    for i in np.flatnonzero(padded):
        values[i] = values[i].strip()
        present[i] = values[i] != ""
    return values, present


def _present(series: pd.Series) -> pd.Series:
    """Values that are not null and not blank text."""
    if series.dtype.kind in "biufcmM":
        return series.notna()  # a number, a flag or a time is never blank text
    return series.notna() & (series.astype(str).str.strip() != "")


def _coerce(series: pd.Series, col: Column) -> tuple[pd.Series, pd.Series]:
    """Return the typed column and a mask of values that were present but did not parse."""
    text = _text(series)
    present = pd.Series(text[1], index=series.index) if text is not None else _present(series)
    if col.kind == "timestamp":
        if series.dtype.kind == "M":  # already times (Parquet, DuckDB): nothing to parse
            typed = series
        else:
            typed = pd.to_datetime(series.where(present), errors="coerce", format="ISO8601")
        if getattr(typed.dt, "tz", None) is not None:
            typed = typed.dt.tz_convert("UTC").dt.tz_localize(None)
        typed = typed.astype("datetime64[ns]")
    elif col.kind in ("float", "int"):
        typed = pd.to_numeric(series.where(present), errors="coerce").astype(float)
    elif col.kind == "bool":
        # Each distinct value is read once: the column holds a handful of them.
        codes, distinct = pd.factorize(series)
        words = {**dict.fromkeys(BOOL_TRUE, True), **dict.fromkeys(BOOL_FALSE, False)}
        meaning = [words.get(str(v).strip().lower()) for v in distinct] + [None]
        typed = pd.Series(np.asarray(meaning, dtype=object)[codes], index=series.index)
        typed = typed.astype("boolean").where(present)
    elif text is not None:  # id and string, all values text
        typed = pd.Series(text[0], index=series.index).where(present).astype("string")
        if col.kind == "id":
            typed = _without_float_suffix(typed)
        return typed, pd.Series(False, index=series.index)  # present text is never blank
    else:  # id and string
        typed = series.where(present).astype("string").str.strip()
        if col.kind == "id":
            typed = typed.str.replace(r"\.0$", "", regex=True)  # ids read as floats by CSV readers
    bad = present & typed.isna()
    return typed, bad


def _without_float_suffix(ids: pd.Series) -> pd.Series:
    """Ids read as floats by CSV readers ("1042.0") lose the ".0"; only those values are touched."""
    suffixed = pc.fill_null(pc.ends_with(pa.array(ids, type=pa.string(), from_pandas=True), ".0"), False)
    rows = np.flatnonzero(suffixed.to_numpy(zero_copy_only=False))
    if len(rows):
        ids = ids.copy()
        ids.iloc[rows] = ids.iloc[rows].str.slice(0, -2)
    return ids


def _schema(spec: TableSpec) -> pandera.DataFrameSchema:
    columns = {}
    for c in spec.columns:
        checks = []
        if c.min_value is not None:
            checks.append(pandera.Check.ge(c.min_value, error=f"must be >= {c.min_value:g}"))
        if c.max_value is not None:
            checks.append(pandera.Check.le(c.max_value, error=f"must be <= {c.max_value:g}"))
        if c.allowed is not None:
            checks.append(pandera.Check.isin(list(c.allowed), error=f"must be one of {', '.join(c.allowed)}"))
        columns[c.name] = pandera.Column(nullable=c.nullable, checks=checks, unique=c.name == spec.key)
    return pandera.DataFrameSchema(columns, strict=False, coerce=False)


def _schema_problems(spec: TableSpec, df: pd.DataFrame) -> list[Problem]:
    try:
        _schema(spec).validate(df, lazy=True)
        return []
    except pandera.errors.SchemaErrors as err:
        cases = err.failure_cases
    problems = []
    for case in cases.itertuples(index=False):
        if pd.isna(case.index):
            continue
        check = str(case.check)
        if check == "not_nullable":
            message = "missing value (required)"
        elif check == "field_uniqueness":
            message = f"duplicated id {case.failure_case!r}"
        else:
            message = f"{case.failure_case!r} {check}"
        problems.append(Problem(spec.name, int(case.index) + 1, str(case.column), message))
    return problems


def validate_table(spec: TableSpec, raw: pd.DataFrame) -> tuple[pd.DataFrame, list[Problem]]:
    """Type one table per the contract; return it (all rows) with its problems."""
    missing = [c.name for c in spec.columns if c.name not in raw.columns and not c.nullable]
    if missing:
        return raw, [Problem(spec.name, None, m, "required column is missing") for m in missing]
    if raw.empty:
        return raw, [Problem(spec.name, None, None, "table is empty")]
    df = raw.reset_index(drop=True).copy()
    problems: list[Problem] = []
    for col in spec.columns:
        if col.name not in df.columns:  # an optional column may be absent
            df[col.name] = pd.Series(pd.NA, index=df.index)
        original = df[col.name]
        df[col.name], bad = _coerce(original, col)
        for i in bad[bad].index:
            problems.append(Problem(spec.name, i + 1, col.name, f"{original[i]!r} is not a valid {col.kind}"))
    unparsed = {(p.row, p.column) for p in problems}
    problems += [p for p in _schema_problems(spec, df) if (p.row, p.column) not in unparsed]
    return df, problems


def _cross_problems(typed: dict[str, pd.DataFrame], as_of: pd.Timestamp | None) -> list[Problem]:
    problems: list[Problem] = []
    known = set(typed["customers"]["customer_id"].dropna()) if "customers" in typed else set()
    for name, df in typed.items():
        spec = TABLES[name]
        if name != "customers" and "customers" in typed:
            unknown = df["customer_id"].notna() & ~df["customer_id"].isin(known)
            for i in unknown[unknown].index:
                problems.append(
                    Problem(name, i + 1, "customer_id", f"unknown customer id {df.at[i, 'customer_id']!r}")
                )
        if as_of is not None:
            day_end = as_of.normalize() + pd.Timedelta(days=1)  # the as-of day counts whole
            for col in spec.ts_columns:
                late = df[col] >= day_end
                for i in late[late].index:
                    problems.append(
                        Problem(name, i + 1, col, f"{df.at[i, col]} is after the as-of date {as_of:%Y-%m-%d}")
                    )
        for later in ("first_response_ts", "resolved_ts", "reopened_ts", "churn_ts", "responded_ts"):
            base = "signup_ts" if later == "churn_ts" else "ts"
            if later in spec.column_names and base in df.columns:
                before = df[later] < df[base]
                for i in before[before].index:
                    problems.append(
                        Problem(name, i + 1, later, f"{df.at[i, later]} is before {base} {df.at[i, base]}")
                    )
        if name == "contacts":
            silent = df["unsubscribed"].fillna(False).astype(bool) & df["responded_ts"].isna()
            for i in silent[silent].index:
                problems.append(
                    Problem(name, i + 1, "responded_ts", "unsubscribed is true but responded_ts is missing")
                )
        if name == "requirements":
            done = df["status"].isin(["resolved", "rejected"])
            mismatch = done != df["resolved_ts"].notna()
            for i in mismatch[mismatch & df["status"].notna()].index:
                problems.append(
                    Problem(
                        name,
                        i + 1,
                        "resolved_ts",
                        f"status {df.at[i, 'status']!r} does not match resolved_ts",
                    )
                )
    return problems


def validate_tables(
    raw: dict[str, pd.DataFrame], as_of: pd.Timestamp | str | None = None
) -> ValidationReport:
    """Validate every table present; table-level problems name the table and column."""
    as_of = pd.Timestamp(as_of) if as_of is not None else None
    report = ValidationReport()
    unknown = sorted(set(raw) - set(TABLES))
    if "customers" not in raw:
        report.problems.append(Problem("customers", None, None, "table is missing (it is required)"))
    if not set(raw) & set(EVENT_TABLES):
        report.problems.append(
            Problem(
                "(data)",
                None,
                None,
                f"no event table found; expected at least one of {', '.join(EVENT_TABLES)}",
            )
        )
    for name in unknown:
        raw = {k: v for k, v in raw.items() if k != name}
    for name, df in raw.items():
        typed, problems = validate_table(TABLES[name], df)
        report.problems += problems
        if not any(p.row is None for p in problems):
            report.typed[name] = typed
    report.problems += _cross_problems(report.typed, as_of)
    return report
