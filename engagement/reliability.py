"""Internal-consistency reliability of a multi-item scale (Cronbach's alpha)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["cronbach_alpha"]


def _smc(R: np.ndarray) -> np.ndarray:
    """Squared multiple correlation of each item with the others: the R^2 of its
    regression on them, r' R_others^-1 r (= 1 - 1/diag(R^-1) when R is invertible).
    Solved by least squares so that a redundant item (singular R) gets 1, not an error."""
    k = R.shape[0]
    out = np.empty(k)
    for j in range(k):
        others = np.arange(k) != j
        beta = np.linalg.lstsq(R[np.ix_(others, others)], R[others, j], rcond=None)[0]
        out[j] = R[others, j] @ beta
    return out


def cronbach_alpha(df_items: pd.DataFrame, confidence: float = 0.95) -> dict:
    """Cronbach's alpha of the columns of ``df_items`` (one column per item), as
    ``psych::alpha`` with its defaults (no reverse-keying, ``use = "pairwise"``).

    raw_alpha    k/(k-1) * (1 - tr(C)/sum(C)), C the item covariance matrix (n - 1).
    std_alpha    k r / (1 + (k-1) r), r = average_r, from R = cov2cor(C).
    average_r    mean off-diagonal inter-item correlation.
    g6_smc       Guttman's lambda 6: 1 - sum(1 - smc)/sum(R), smc the squared multiple
                 correlation of each item with the others.
    ci_low/high  Feldt (1965) interval for raw alpha, as psych's ``alpha.ci``: with
                 F on (n-1, (n-1)(k-1)) df, 1 - (1 - alpha) F_{1-a/2} and 1 - (1 - alpha) F_{a/2}.
                 It assumes parallel-ish items and normal errors; it is exact for the
                 Cronbach model and needs no resampling, so results are reproducible.
    n            complete cases (used for the CI).  With missing values C is computed
                 from pairwise-complete observations, as psych does; rows with no item
                 at all are ignored.
    """
    if not isinstance(df_items, pd.DataFrame):
        raise ValueError("df_items must be a DataFrame with one column per item")
    k = df_items.shape[1]
    if k < 2:
        raise ValueError(f"alpha needs at least 2 items, got {k}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    try:
        items = df_items.astype("Float64").astype(float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"items must be numeric: {exc}") from None
    items = items.dropna(how="all")
    n = int(items.notna().all(axis=1).sum())
    if n < 2:
        raise ValueError(f"need at least 2 complete responses, got {n}")

    C = items.cov().to_numpy()  # pairwise-complete, n - 1 denominator
    if np.isnan(C).any():
        raise ValueError("some pair of items is never answered together")
    sd = np.sqrt(np.diag(C))
    if np.any(sd == 0):
        constant = list(items.columns[sd == 0])
        raise ValueError(f"item(s) {constant} have no variance")
    R = C / np.outer(sd, sd)

    raw = k / (k - 1) * (1 - np.trace(C) / C.sum())
    average_r = (R.sum() - k) / (k * (k - 1))
    std = k * average_r / (1 + (k - 1) * average_r)
    g6 = 1 - (k - _smc(R).sum()) / R.sum()

    tail = (1 - confidence) / 2
    df1, df2 = n - 1, (n - 1) * (k - 1)
    return {
        "raw_alpha": float(raw),
        "std_alpha": float(std),
        "average_r": float(average_r),
        "g6_smc": float(g6),
        "n_items": k,
        "n": n,
        "ci_low": float(1 - (1 - raw) * stats.f.ppf(1 - tail, df1, df2)),
        "ci_high": float(1 - (1 - raw) * stats.f.ppf(tail, df1, df2)),
        "ci_method": "feldt",
    }
