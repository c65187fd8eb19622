"""The event data contract: tables, their columns and types, and the in-memory bundle.

docs/data-contract.md describes the same contract for people. Extra columns are kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Literal

import pandas as pd

Kind = Literal["id", "timestamp", "float", "int", "bool", "string"]


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind
    nullable: bool = False
    allowed: tuple[str, ...] | None = None
    min_value: float | None = None
    max_value: float | None = None


@dataclass(frozen=True)
class TableSpec:
    name: str
    columns: tuple[Column, ...]
    key: str | None = None  # a column whose values must be unique
    ts_columns: tuple[str, ...] = ()  # when the row happened: must not lie after the as-of date
    # Outcomes that come after the row itself (churn, response, resolution): after the as-of date
    # they are not known yet, so loading as of D blanks them (with what they carry, e.g. csat).
    later_columns: dict[str, tuple[str, ...]] = field(default_factory=dict)
    description: str = ""

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


REQUIREMENT_STATUSES = ("open", "in_progress", "resolved", "rejected")
# Optional free text (any language) and, where someone labelled it, its class and sentiment.
TEXT_COLUMNS = (
    Column("text", "string", nullable=True),
    Column("text_class", "string", nullable=True),
    Column("text_sentiment", "string", nullable=True),
)

CUSTOMERS = TableSpec(
    "customers",
    (
        Column("customer_id", "id"),
        Column("signup_ts", "timestamp"),
        Column("segment", "string", nullable=True),
        Column("region_tier", "string", nullable=True),
        Column("plan", "string", nullable=True),
        Column("monthly_fee", "float", nullable=True, min_value=0),
        Column("churn_ts", "timestamp", nullable=True),
    ),
    key="customer_id",
    ts_columns=("signup_ts",),
    later_columns={"churn_ts": ()},
    description="One row per customer; churn_ts is null while the customer stays.",
)

TRANSACTIONS = TableSpec(
    "transactions",
    (
        Column("customer_id", "id"),
        Column("ts", "timestamp"),
        Column("amount", "float", min_value=0),
        Column("quantity", "float", nullable=True, min_value=0),
        Column("promo", "bool", nullable=True),
    ),
    ts_columns=("ts",),
    description="Purchases and payments.",
)

USAGE = TableSpec(
    "usage",
    (
        Column("customer_id", "id"),
        Column("ts", "timestamp"),
        Column("sessions", "float", min_value=0),
        Column("minutes", "float", min_value=0),
    ),
    ts_columns=("ts",),
    description="Product usage, typically one row per customer and active day.",
)

TICKETS = TableSpec(
    "tickets",
    (
        Column("ticket_id", "id"),
        Column("customer_id", "id"),
        Column("ts", "timestamp"),
        Column("channel", "string"),
        Column("category", "string"),
        Column("priority", "string", nullable=True),
        Column("first_response_ts", "timestamp", nullable=True),
        Column("resolved_ts", "timestamp", nullable=True),
        Column("reopened_ts", "timestamp", nullable=True),
        Column("csat", "float", nullable=True, min_value=1, max_value=5),
        *TEXT_COLUMNS,
    ),
    key="ticket_id",
    ts_columns=("ts",),
    later_columns={"first_response_ts": (), "resolved_ts": ("csat",), "reopened_ts": ()},
    description="Support tickets (complaints, consultations); csat is given at resolution.",
)

FEEDBACK = TableSpec(
    "feedback",
    (
        Column("customer_id", "id"),
        Column("ts", "timestamp"),
        Column("nps", "float", nullable=True, min_value=0, max_value=10),
        Column("csat", "float", nullable=True, min_value=1, max_value=5),
        Column("product_area", "string", nullable=True),
        *TEXT_COLUMNS,
    ),
    ts_columns=("ts",),
    description="Survey answers: NPS (0-10), satisfaction (1-5), optional text and its product area.",
)

REQUIREMENTS = TableSpec(
    "requirements",
    (
        Column("request_id", "id"),
        Column("customer_id", "id"),
        Column("ts", "timestamp"),
        Column("type", "string"),
        Column("product_area", "string"),
        Column("priority", "string", nullable=True),
        Column("status", "string", allowed=REQUIREMENT_STATUSES),
        Column("resolved_ts", "timestamp", nullable=True),
    ),
    key="request_id",
    ts_columns=("ts",),
    later_columns={"resolved_ts": ()},
    description="Customer requests; resolved_ts is when it was resolved or rejected.",
)

CONTACT_GROUPS = ("treatment", "control")
RISK_TIERS = ("red", "orange", "yellow", "green")

CONTACTS = TableSpec(
    "contacts",
    (
        Column("contact_id", "id"),
        Column("customer_id", "id"),
        Column("ts", "timestamp"),
        Column("channel", "string"),
        Column("action", "string"),
        Column("campaign", "string", nullable=True),
        Column("group", "string", allowed=CONTACT_GROUPS),
        Column("responded_ts", "timestamp", nullable=True),
        Column("unsubscribed", "bool", nullable=True),
        Column("cost", "float", nullable=True, min_value=0),
        Column("risk_tier", "string", nullable=True, allowed=RISK_TIERS),
    ),
    key="contact_id",
    ts_columns=("ts",),
    # An unsubscription is a response: it is known when the response is.
    later_columns={"responded_ts": ("unsubscribed",)},
    description="Retention contacts sent (treatment) or deliberately withheld (control).",
)

TABLES: dict[str, TableSpec] = {
    t.name: t for t in (CUSTOMERS, TRANSACTIONS, USAGE, TICKETS, FEEDBACK, REQUIREMENTS, CONTACTS)
}
EVENT_TABLES = ("transactions", "usage", "tickets", "feedback", "requirements")


@dataclass
class EventData:
    """One company's event tables, typed per the contract. Absent tables are None.

    Timestamps are timezone-naive `datetime64[ns]`, ids are strings.
    """

    customers: pd.DataFrame
    transactions: pd.DataFrame | None = None
    usage: pd.DataFrame | None = None
    tickets: pd.DataFrame | None = None
    feedback: pd.DataFrame | None = None
    requirements: pd.DataFrame | None = None
    contacts: pd.DataFrame | None = None

    def tables(self) -> dict[str, pd.DataFrame]:
        """The tables present, by name."""
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}

    def last_event_ts(self) -> pd.Timestamp:
        """The latest event timestamp across event tables (the data's end)."""
        ends = [df["ts"].max() for name, df in self.tables().items() if name != "customers" and len(df)]
        if not ends:
            return pd.Timestamp(self.customers["signup_ts"].max())
        return pd.Timestamp(max(ends))
