"""The seed metric definitions (../shared/seed-facts.md), weighted, each with a 95% interval.

Means and shares use the design-based estimators of `survey_stats`; ratio metrics (AOV, bounce rate,
CTR, guest checkout rate) are ratio estimators R = Σw·y / Σw·x with the linearized score
u = (y − R·x) / Σw·x, so their SEs account for the weights and the raking like every other number.
NPS is the difference of two shares (promoters 9–10 minus detractors 0–6) with the score
u = (1[promoter] − 1[detractor] − NPS) / Σw, in points.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from .codebook import Codebook
from .prepare import design_for
from .survey_stats import Design, weighted_mean, weighted_proportion


def scale_values(df: pd.DataFrame, cb: Codebook, name: str) -> pd.Series | None:
    """A respondent's score on a codebook scale: the column, or the item mean of a composite."""
    sc = cb.scale(name)
    if sc is None:
        return None
    return df[sc.columns].mean(axis=1, skipna=False) if sc.items else df[sc.column].astype(float)


def top_box(df: pd.DataFrame, cb: Codebook, name: str) -> pd.Series | None:
    """1.0 when a respondent is in the scale's top box, 0.0 when not, NaN when unanswered.

    One column: the answer is one of the top-box points (`top_box`, default the top two). A composite
    (`items`): the item mean is at least `top_box_mean_at_least`, by default the lowest top-box
    point — an item mean is rarely a whole scale point, so matching it exactly would undercount."""
    sc = cb.scale(name)
    if sc is None:
        return None
    vals = scale_values(df, cb, name)
    if sc.items:
        return (vals >= top_box_threshold(sc)).astype(float).where(vals.notna())
    return vals.isin(sc.top_box_values).astype(float).where(vals.notna())


def top_box_threshold(sc) -> float:
    """The item mean from which a composite counts as top box."""
    declared = getattr(sc, "top_box_mean_at_least", None)
    return float(declared) if declared is not None else float(min(sc.top_box_values))


def top_box_label(sc) -> str:
    if sc.items:
        return f"item mean ≥ {top_box_threshold(sc):g}"
    return ", ".join(f"{v:g}" for v in sc.top_box_values)


def _linearized(est: float, u: np.ndarray, design: Design, n: int) -> dict:
    se = float(np.sqrt(design.covariance(u)[0, 0]))
    q = stats.norm.ppf(0.975)
    return {"estimate": est, "se": se, "ci_low": est - q * se, "ci_high": est + q * se, "n": n}


def _log_linearized(est: float, u: np.ndarray, design: Design, n: int, n_group: int) -> dict:
    """A ratio with its 95% CI on the log scale; `u` is the linearized score of log(est)."""
    se = float(np.sqrt(design.covariance(u)[0, 0]))
    q = stats.norm.ppf(0.975)
    return {"estimate": float(est), "se_log": se, "ci_low": float(est * np.exp(-q * se)),
            "ci_high": float(est * np.exp(q * se)), "n": n, "n_group": n_group}


def ratio_estimate(y, x, design: Design) -> dict:
    """R = Σw·y / Σw·x over rows where both are observed, with a linearized (Wald) 95% CI."""
    y = np.asarray(y, float)
    x = np.asarray(x, float)
    ok = ~(np.isnan(y) | np.isnan(x))
    y0, x0 = np.where(ok, y, 0.0), np.where(ok, x, 0.0)
    denom = design.weights @ x0
    if denom <= 0:
        return {"estimate": np.nan, "se": np.nan, "ci_low": np.nan, "ci_high": np.nan, "n": int(ok.sum())}
    r = float(design.weights @ y0 / denom)
    return _linearized(r, (y0 - r * x0) / denom, design, int(ok.sum()))


def nps_estimate(scores, design: Design) -> dict:
    """Net Promoter Score in points (−100…100) with a linearized 95% CI."""
    s = np.asarray(scores, float)
    ok = ~np.isnan(s)
    d = np.where(ok, (s >= 9).astype(float) - (s <= 6).astype(float), 0.0)
    wsum = design.weights @ ok
    nps = float(design.weights @ d / wsum)
    res = _linearized(100 * nps, 100 * ok * (d - nps) / wsum, design, int(ok.sum()))
    return res


def ratio_of_means(y, group, design: Design) -> dict:
    """mean(y | group) / mean(y | not group), with a linearized CI on the log scale."""
    y = np.asarray(y, float)
    g = np.asarray(group, bool)
    ok = ~np.isnan(y)
    w = design.weights
    a_w, b_w = w @ (ok & g), w @ (ok & ~g)
    m1 = w @ np.where(ok & g, y, 0) / a_w
    m0 = w @ np.where(ok & ~g, y, 0) / b_w
    u1 = (ok & g) * (np.where(ok, y, 0) - m1) / a_w
    u0 = (ok & ~g) * (np.where(ok, y, 0) - m0) / b_w
    u = u1 / m1 - u0 / m0  # score of log(m1/m0)
    return _log_linearized(m1 / m0, u, design, int(ok.sum()), int((ok & g).sum()))


def headline_metrics(df: pd.DataFrame, cb: Codebook, design: Design | None = None) -> pd.DataFrame:
    """Every seed metric the codebook can feed, weighted, with 95% intervals and base sizes."""
    design = design or design_for(df, cb)
    rows: list[dict] = []

    def add(key, label, unit, res, definition):
        rows.append({"key": key, "metric": label, "unit": unit, "definition": definition,
                     **{k: res[k] for k in ("estimate", "se", "ci_low", "ci_high", "n")}})

    for name, label in (("ces", "CES (mean)"), ("csat", "CSAT (mean)")):
        vals = scale_values(df, cb, name)
        if vals is None:
            continue
        sc = cb.scale(name)
        add(f"{name}_mean", label, f"{sc.min:g}–{sc.max:g} scale", weighted_mean(vals, design),
            "sum of ratings ÷ respondents" + ("" if sc.higher_is_better else " (higher = more effort)"))
        add(f"{name}_top_box", f"{name.upper()} top box ({top_box_label(sc)})",
            "share", weighted_proportion(top_box(df, cb, name), design),
            "share of respondents whose item mean reaches the threshold" if sc.items else "share answering the top boxes")
    nps = scale_values(df, cb, "nps")
    if nps is not None:
        add("nps", "NPS", "points", nps_estimate(nps, design), "% promoters (9–10) − % detractors (0–6)")
    b = cb.behaviour
    window = getattr(b, "window", "") or ""
    within = f", {window}" if window else ""
    if b.orders:
        orders = df[b.orders].astype(float)
        active = (orders >= 1).to_numpy()  # the seed definitions count customers active in the period
        add("purchase_frequency", f"Purchase frequency (orders per active customer{within})", "orders",
            weighted_mean(orders, design, domain=active), f"orders ÷ customers with an order{within}")
        add("repeat_purchase_rate", "Repeat purchase rate", "share",
            weighted_proportion((orders >= 2).astype(float).where(orders.notna()), design, domain=active),
            f"customers with ≥2 orders ÷ customers with an order{within}")
        if b.revenue:
            add("average_order_value", "Average order value", "currency",
                ratio_estimate(df[b.revenue], orders, design), f"revenue ÷ orders{within}")
        if b.guest_orders:
            add("guest_checkout_rate", "Guest checkout rate", "share",
                ratio_estimate(df[b.guest_orders], orders, design), "purchases without an account ÷ all purchases")
    if b.sessions and b.single_page_sessions:
        add("bounce_rate", "Bounce rate", "share", ratio_estimate(df[b.single_page_sessions], df[b.sessions], design),
            "single-page sessions ÷ sessions")
    if b.email_impressions and b.email_clicks:
        add("click_through_rate", "E-mail click-through rate", "share",
            ratio_estimate(df[b.email_clicks], df[b.email_impressions], design), "clicks ÷ impressions")
    if b.loyalty_member:
        add("loyalty_member_share", "Loyalty-programme members", "share",
            weighted_proportion(df[b.loyalty_member].astype(float), design), "members ÷ respondents")
    for o in cb.outcomes:
        if o.kind == "binary":
            add(f"outcome_{o.name}", o.label or o.name, "share", weighted_proportion(o.binary_values(df[o.column]), design),
                "share of respondents")
    return pd.DataFrame(rows, columns=["key", "metric", "unit", "definition", "estimate", "se", "ci_low", "ci_high", "n"])


def repeat_vs_one_time_spend(df: pd.DataFrame, cb: Codebook, design: Design | None = None) -> dict | None:
    """C14: mean revenue of repeat customers (≥2 orders) ÷ one-time buyers (1 order)."""
    b = cb.behaviour
    if not (b.orders and b.revenue):
        return None
    design = design or design_for(df, cb)
    orders = df[b.orders].to_numpy(float)
    buyers = orders >= 1
    rev = np.where(buyers, df[b.revenue].to_numpy(float), np.nan)  # non-buyers are not in either group
    return ratio_of_means(rev, orders >= 2, design)


def member_aov_uplift(df: pd.DataFrame, cb: Codebook, design: Design | None = None) -> dict | None:
    """C15: members' average order value ÷ non-members' (each AOV = Σ revenue ÷ Σ orders)."""
    b = cb.behaviour
    if not (b.orders and b.revenue and b.loyalty_member):
        return None
    design = design or design_for(df, cb)
    w = design.weights
    rev, orders = df[b.revenue].to_numpy(float), df[b.orders].to_numpy(float)
    m = df[b.loyalty_member].to_numpy(float) == 1
    aov1 = w @ (rev * m) / (w @ (orders * m))
    aov0 = w @ (rev * ~m) / (w @ (orders * ~m))
    u = m * (rev - aov1 * orders) / (w @ (orders * m)) / aov1 - (~m) * (rev - aov0 * orders) / (w @ (orders * ~m)) / aov0
    return _log_linearized(aov1 / aov0, u, design, int(len(df)), int(m.sum()))
