"""Codebook schema for customer-record extracts joined to the survey (issue 15).

Kept apart from `codebook.py` so that the join module (`engagement.sources`) and the codebook can
both import it without a cycle. The codebook's `extracts:` list holds one `Extract` per file:

```yaml
extracts:
- name: crm                       # a short name used in messages and the report
  file: crm.csv                   # relative to the survey data file's folder
  level: customer                 # one row per customer
  key: {survey: customer_id, extract: CustomerID, normalise: [strip, casefold]}
  columns: {loyalty_member: LoyaltyMember, retained_12m: Retained12m}   # survey name <- extract column
- name: orders
  file: orders.csv
  level: order                    # one row per order: aggregated per customer by declaration
  key: {survey: customer_id, extract: customer}
  orders: {order_id: order_id, date: order_date, amount: amount_cents, amount_scale: 0.01,
           guest: guest_checkout, period_start: 2025-10-01, period_end: 2026-09-30}
  derive: {orders_365d: orders, revenue_365d: revenue, guest_orders_365d: guest_orders}
```

Only the key and the declared columns are ever read from an extract, so names, e-mails, addresses
or card numbers in it never enter the analysis table.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

#: per-customer metrics an order-level extract can derive (see `engagement.sources.ORDER_METRICS`)
OrderMetric = Literal["orders", "revenue", "aov", "repeat_purchase", "guest_orders", "online_share",
                      "bought_after"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ExtractKey(_Strict):
    """How a survey row finds its record: the two key columns and the declared normalisation."""

    survey: str = Field(description="Column of the survey export holding the customer id.",
                        examples=["customer_id"])
    extract: str = Field(description="Column of the extract holding the same id.", examples=["CustomerID"])
    normalise: list[Literal["strip", "casefold", "zero_pad"]] = Field(
        default_factory=list,
        description="Applied to both keys before matching, in this order: strip spaces, case-fold, "
                    "left-pad digits with zeros to `width`. Nothing is guessed: undeclared differences "
                    "do not match.", examples=[["strip", "casefold"]])
    width: int | None = Field(None, ge=1, description="Digits after zero padding (needed with zero_pad).",
                              examples=[8])

    @model_validator(mode="after")
    def _width(self):
        if "zero_pad" in self.normalise and self.width is None:
            raise ValueError("normalise zero_pad needs `width` (the number of digits after padding)")
        return self


class OrderSpec(_Strict):
    """Which columns of an order-level extract give the order, its date, amount and channel."""

    order_id: str = Field(description="Column with the order id (duplicate order ids are counted once).")
    date: str = Field(description="Column with the order date (ISO 8601, e.g. 2026-03-31).")
    amount: str | None = Field(None, description="Column with the order amount.")
    amount_scale: float = Field(1.0, gt=0, description="Multiplier applied to `amount` (0.01 for cents).")
    channel: str | None = Field(None, description="Column with the order's channel (for online_share).")
    online_channels: list[str] = Field(default_factory=list,
                                       description="Channel values counted as online for online_share.")
    guest: str | None = Field(None, description="Column: 1 when the order was a guest checkout.")
    period_start: dt.date = Field(description="First day of the period the metrics cover (inclusive).")
    period_end: dt.date = Field(description="Last day of the period the metrics cover (inclusive).")
    after_end: dt.date | None = Field(
        None, description="Last day of the window after period_end used by `bought_after` (a later "
                          "behaviour: did the customer buy again after the survey?).")

    @model_validator(mode="after")
    def _dates(self):
        if self.period_end < self.period_start:
            raise ValueError(f"period_end ({self.period_end}) is before period_start ({self.period_start})")
        if self.after_end is not None and self.after_end <= self.period_end:
            raise ValueError(f"after_end ({self.after_end}) must be after period_end ({self.period_end})")
        return self


class Extract(_Strict):
    """A customer-level (CRM) or order-level (transactions) file joined to the survey by customer id."""

    name: str = Field(description="Short name used in messages and in the report's join diagnostics.",
                      examples=["crm"])
    file: str = Field(description="Path of the extract; relative paths are read from the survey data "
                                  "file's folder.", examples=["crm.csv"])
    level: Literal["customer", "order"] = Field("customer", description="customer: one row per customer; "
                                                "order: one row per order, aggregated by `derive`.")
    format: Literal["auto", "csv", "parquet", "excel"] = Field(
        "auto", description="File format; auto reads .csv/.tsv/.txt (optionally .gz/.zip/.bz2), .parquet, .xlsx.")
    encoding: str = Field("utf-8", description="Text encoding of a CSV extract.")
    delimiter: str | None = Field(None, description="CSV delimiter; empty: sniffed (comma, tab, semicolon, pipe).")
    key: ExtractKey = Field(description="The join key in the survey and in the extract.")
    columns: dict[str, str] = Field(
        default_factory=dict,
        description="customer level: survey column name to create <- extract column to take. Only these "
                    "columns (and the key) are read.", examples=[{"retained_12m": "Retained12m"}])
    on_duplicate_keys: Literal["error", "first"] = Field(
        "error", description="customer level: several rows with one key are an error (exit 2), or the first wins.")
    orders: OrderSpec | None = Field(None, description="order level: which columns hold the order facts.")
    derive: dict[str, OrderMetric] = Field(
        default_factory=dict,
        description="order level: survey column name to create <- per-customer metric over the period "
                    "(orders, revenue, aov, repeat_purchase, guest_orders, online_share, bought_after).",
        examples=[{"orders_365d": "orders"}])
    absent_means_zero: bool = Field(
        True, description="order level: a matched customer with no order in the period has 0 orders "
                          "(false: missing). Respondents unknown to every customer-level extract stay missing.")

    @model_validator(mode="after")
    def _level(self):
        if self.level == "customer":
            if not self.columns:
                raise ValueError(f"extract {self.name!r}: a customer-level extract needs `columns`")
            if self.orders or self.derive:
                raise ValueError(f"extract {self.name!r}: `orders`/`derive` are for level: order")
        else:
            if self.orders is None or not self.derive:
                raise ValueError(f"extract {self.name!r}: an order-level extract needs `orders` and `derive`")
            if self.columns:
                raise ValueError(f"extract {self.name!r}: `columns` is for level: customer (use `derive`)")
            needs = {"revenue": "amount", "aov": "amount", "guest_orders": "guest", "online_share": "channel"}
            for col, metric in self.derive.items():
                if metric in needs and getattr(self.orders, needs[metric]) is None:
                    raise ValueError(f"extract {self.name!r}: derive.{col} = {metric} needs orders.{needs[metric]}")
                if metric == "bought_after" and self.orders.after_end is None:
                    raise ValueError(f"extract {self.name!r}: derive.{col} = bought_after needs orders.after_end")
                if metric == "online_share" and not self.orders.online_channels:
                    raise ValueError(f"extract {self.name!r}: derive.{col} = online_share needs orders.online_channels")
        return self

    @property
    def created_columns(self) -> list[str]:
        return list(self.columns) if self.level == "customer" else list(self.derive)
