"""The published claims and rating items (analysis layer of the channel study): each seed claim the
survey measures (codebook claims items, C07 from channel use, C08 from cross-channel purchase), the
CRM spend ratios C14 and C15, and the answer distributions of the rating items."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...claims import CLAIMS_BY_ID, claim_entry
from ...codebook import Codebook
from ...crosstabs import in_values
from ...metrics import member_aov_uplift, repeat_vs_one_time_spend
from ...survey_stats import Design, weighted_proportions
from .usage import n_channels, share, usage_columns

#: the multi-part claims, charted as ranked factors, with the question each answers
CLAIM_GROUPS = {"C03": "What matters most for online engagement?",
                "C04": "What matters most for in-store engagement?",
                "C09": "Why does SMS engagement backfire?"}


def shopping_channels(df: pd.DataFrame, cb: Codebook) -> list[str]:
    """The declared shopping channels (`channels.shopping`) that have a usage column in the data."""
    usage = usage_columns(df, cb)
    return [c for c in (getattr(cb.channels, "shopping", None) or []) if c in usage] if cb.channels else []


def shopping_multichannel_share(df: pd.DataFrame, cb: Codebook, design: Design) -> dict:
    """C07's estimate: weighted share using at least two of the declared shopping channels (the claim
    is about shoppers' channels; counting e-mail or SMS would make any customer "multichannel")."""
    usage = usage_columns(df, cb)
    k = n_channels(df, {c: usage[c] for c in shopping_channels(df, cb)})
    return share((k >= 2).astype(float).where(k.notna()), design)


def claim_estimates(df: pd.DataFrame, cb: Codebook, design: Design) -> pd.DataFrame:
    """Every seed claim the survey measures: the codebook's claims items (weighted share of answers in
    the item's `values`), C07 from the usage of the declared shopping channels (≥ 2) and C08 from
    `channels.cross_channel_purchase` when no claims item covers them."""
    rows = []
    for item in cb.claims:
        claim = CLAIMS_BY_ID.get(item.id)
        # a claims item is a share of respondents: only claims stated as shares can be tested by one
        if claim is None or claim.claimed is None or claim.measured_by != "codebook" or item.column not in df.columns:
            continue
        rows.append({"id": item.id, "label": item.label or claim.text, "source": f"item {item.column}",
                     **share(in_values(df[item.column], item.values), design)})
    have = {r["id"] for r in rows}
    shopping = shopping_channels(df, cb)
    if "C07" not in have and len(shopping) >= 2:
        rows.append({"id": "C07", "label": f"Used at least two shopping channels ({', '.join(shopping)})",
                     "source": "channels.usage, channels.shopping", **shopping_multichannel_share(df, cb, design)})
    xc = cb.channels.cross_channel_purchase if cb.channels else None
    if "C08" not in have and xc and xc in df.columns:
        rows.append({"id": "C08", "label": "Started and finished a purchase in different channels",
                     "source": f"item {xc}", **share(df[xc].astype(float), design)})
    out = pd.DataFrame(rows, columns=["id", "label", "source", "estimate", "ci_low", "ci_high", "n"])
    out["claimed"] = [CLAIMS_BY_ID[i].claimed for i in out["id"]]
    out["claimed_text"] = [CLAIMS_BY_ID[i].claimed_text for i in out["id"]]
    entries = [claim_entry(r.id, r.estimate, r.ci_low, r.ci_high, r.n) for r in out.itertuples()]
    for key in ("ci_low_adjusted", "ci_high_adjusted", "verdict"):
        out[key] = [e[key] for e in entries]
    return out.sort_values("id", kind="stable").reset_index(drop=True)


def spend_ratios(df: pd.DataFrame, cb: Codebook, design: Design) -> pd.DataFrame:
    """C14 (repeat customers' spend ÷ one-time buyers') and C15 (members' AOV ÷ non-members'), from
    the CRM-linked behaviour columns, via `engagement.metrics` (linearized CIs on the log scale)."""
    rows = []
    window = getattr(cb.behaviour, "window", "") or ""
    for cid, label, fn in (("C14", "Repeat customers' spend ÷ one-time buyers'" + (f" ({window})" if window else ""),
                            repeat_vs_one_time_spend),
                           ("C15", "Loyalty members' average order value ÷ non-members'", member_aov_uplift)):
        r = fn(df, cb, design)
        if r is not None and np.isfinite(r["estimate"]):
            e = claim_entry(cid, r["estimate"], r["ci_low"], r["ci_high"], r["n"])
            rows.append({"id": cid, "label": label, "source": "behaviour (CRM)", "estimate": r["estimate"],
                         "ci_low": r["ci_low"], "ci_high": r["ci_high"], "n": r["n"], "claimed": e["claimed"],
                         "claimed_text": e["claimed_text"], "ci_low_adjusted": e["ci_low_adjusted"],
                         "ci_high_adjusted": e["ci_high_adjusted"], "verdict": e["verdict"]})
    return pd.DataFrame(rows)


def likert_items(df: pd.DataFrame, cb: Codebook) -> dict[str, str]:
    """Rating items to show as diverging bars: claims items and ordinal persona features whose column
    has a declared integer range of 3–11 points. Returns column -> label."""
    items: dict[str, str] = {}
    candidates = [(c.column, c.label) for c in cb.claims]
    if cb.persona_features:
        candidates += [(c, c) for c in cb.persona_features.ordinal]
    for col, label in candidates:
        spec = cb.columns.get(col)
        if col in df.columns and spec and spec.min is not None and spec.max is not None \
                and 2 <= spec.max - spec.min <= 10 and float(spec.min).is_integer():
            items.setdefault(col, label or col)
    return items


def likert_distribution(df: pd.DataFrame, cb: Codebook, design: Design) -> pd.DataFrame:
    """Weighted answer distribution of each Likert item (tidy: item, column, level, share, n)."""
    rows = []
    for col, label in likert_items(df, cb).items():
        spec = cb.columns[col]
        levels = list(range(int(spec.min), int(spec.max) + 1))
        vals = pd.Categorical(df[col].astype(float).round().astype("Int64"), categories=levels)
        dist = weighted_proportions(vals, design)
        rows += [{"item": label, "column": col, "level": int(lv), "share": p, "n": int(dist["n"].sum())}
                 for lv, p in zip(dist["level"], dist["proportion"])]
    return pd.DataFrame(rows)
