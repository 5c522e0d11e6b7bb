"""The two-file layout of the simulated survey (issue 15): the single-file survey split into a survey
export, a CRM extract (customer level) and an order-level extract, and the codebook's `extracts`
entries that join them back. Re-exported by engagement.simulate.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .simulate_params import _FIRST, _LAST, CHANNELS, SimulationParams, _fake_emails


#: survey columns that live in the CRM in the two-file layout (customer level)
CRM_COLUMNS = {"web_sessions": "WebSessions", "single_page_sessions": "SinglePageSessions",
               "email_impressions": "EmailImpressions", "email_clicks": "EmailClicks",
               "loyalty_member": "LoyaltyMember", "retained_12m": "Retained12m"}
#: survey columns derived from the order-level extract over the 365 days before the survey
ORDER_DERIVED = {"orders_365d": "orders", "revenue_365d": "revenue", "guest_orders_365d": "guest_orders"}
ORDER_PERIOD = ("2025-10-01", "2026-09-30")
#: the seed offset of the random stream that lays out the extracts (the survey's stream is untouched)
EXTRACT_STREAM = 15


def split_extracts(df: pd.DataFrame, p: SimulationParams) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The single-file survey as a survey export plus a CRM extract and an order-level extract.

    The CRM keys customers as lower-case ids with stray spaces (declared: strip + casefold), holds
    personal data the join must never read (name, e-mail, phone, postcode) and 10% more customers than
    answered the survey. The order file has one row per order: each customer's orders_365d orders in
    the period, with integer-cent amounts that add up exactly to revenue_365d, the first
    guest_orders_365d of them guest checkouts, plus older orders outside the period and a few
    repeated order lines (an export glitch the aggregation must count once)."""
    rng = np.random.default_rng(p.seed + EXTRACT_STREAM)
    survey = df.drop(columns=[*CRM_COLUMNS, *ORDER_DERIVED])
    cust = df.drop_duplicates("customer_id").reset_index(drop=True)
    n_extra = len(cust) // 10
    extra_ids = [f"C{p.seed % 1000:03d}{i:07d}" for i in range(len(df) + 1, len(df) + n_extra + 1)]
    crm = pd.DataFrame({"CustomerID": [f" {c.lower()}" if i % 7 == 0 else c.lower()
                                       for i, c in enumerate([*cust["customer_id"], *extra_ids])]})
    crm["FullName"] = [f"{_FIRST[a]} {_LAST[b]}" for a, b in zip(rng.integers(0, len(_FIRST), len(crm)),
                                                                  rng.integers(0, len(_LAST), len(crm)))]
    crm["Email"] = _fake_emails(rng, len(crm))
    crm["Phone"] = [f"+44 7{x:09d}" for x in rng.integers(0, 10**9, len(crm))]
    crm["Postcode"] = [f"SW{a} {b}XY" for a, b in zip(rng.integers(1, 20, len(crm)), rng.integers(1, 9, len(crm)))]
    for col, src in CRM_COLUMNS.items():
        extra = rng.integers(0, 2, n_extra) if col in ("loyalty_member", "retained_12m") else rng.poisson(3, n_extra)
        crm[src] = np.r_[cust[col].to_numpy(), extra]

    start, end = (pd.Timestamp(d) for d in ORDER_PERIOD)
    days = (end - start).days + 1
    k = cust["orders_365d"].to_numpy(int)
    cents = np.round(cust["revenue_365d"].to_numpy(float) * 100).astype(np.int64)
    owner = np.repeat(np.arange(len(cust)), k)  # one entry per order, customers in file order
    first = np.r_[0, np.cumsum(k)[:-1]]
    seq = np.arange(len(owner)) - first[owner]  # 0-based order number within its customer
    # integer-cent amounts in random proportions; the rounding remainder goes to the first order,
    # so each customer's amounts add up exactly to revenue_365d
    share = rng.random(len(owner)) + 0.2
    amounts = np.floor(cents[owner] * share / np.bincount(owner, share, len(cust))[owner]).astype(np.int64)
    amounts[first[k > 0]] += cents[k > 0] - np.bincount(owner, amounts, len(cust)).astype(np.int64)[k > 0]
    when = start + pd.to_timedelta(rng.integers(0, days, len(owner)), unit="D")
    ids = cust["customer_id"].str.lower().to_numpy()
    orders = pd.DataFrame({
        "customer": ids[owner], "order_id": [f"O-{c}-{j + 1:03d}" for c, j in zip(ids[owner], seq)],
        "order_date": when.strftime("%Y-%m-%d"), "amount_cents": amounts,
        "channel": np.array(CHANNELS[:3])[rng.integers(0, 3, len(owner))],
        "guest_checkout": (seq < cust["guest_orders_365d"].to_numpy(int)[owner]).astype(int)})
    old = np.flatnonzero(rng.random(len(cust)) < 0.3)  # older orders, outside the period
    older = pd.DataFrame({
        "customer": ids[old], "order_id": [f"O-{c}-old" for c in ids[old]],
        "order_date": (start - pd.to_timedelta(rng.integers(1, 365, len(old)), unit="D")).strftime("%Y-%m-%d"),
        "amount_cents": rng.integers(500, 20000, len(old)), "channel": "store", "guest_checkout": 0})
    orders = pd.concat([orders, older]).sort_values(["customer", "order_date"], kind="stable").reset_index(drop=True)
    repeat = rng.choice(len(orders), size=max(1, len(orders) // 500), replace=False)
    orders = pd.concat([orders, orders.iloc[repeat]]).reset_index(drop=True)
    return survey, crm, orders


def extracts_codebook() -> list[dict]:
    """The `extracts` entries of the default codebook (the two-file layout)."""
    return [
        {"name": "crm", "file": "crm.csv", "level": "customer",
         "key": {"survey": "customer_id", "extract": "CustomerID", "normalise": ["strip", "casefold"]},
         "columns": dict(CRM_COLUMNS)},
        {"name": "orders", "file": "orders.csv", "level": "order",
         "key": {"survey": "customer_id", "extract": "customer", "normalise": ["strip", "casefold"]},
         "orders": {"order_id": "order_id", "date": "order_date", "amount": "amount_cents", "amount_scale": 0.01,
                    "channel": "channel", "online_channels": ["web", "app"], "guest": "guest_checkout",
                    "period_start": ORDER_PERIOD[0], "period_end": ORDER_PERIOD[1]},
         "derive": dict(ORDER_DERIVED)},
    ]
