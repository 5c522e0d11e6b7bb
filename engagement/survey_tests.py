"""Design-based tests and comparisons on a single-stage (possibly raked) sample: the Rao-Scott
test of independence (`rao_scott_chisq`), column-proportion letters (`column_proportion_tests`),
differences of means and proportions between two groups, correlations with a CI, and p-value
adjustment (`adjust_pvalues`). The variance method is engagement.survey_stats's (Taylor
linearization, domains); engagement.survey_stats re-exports every name here.
"""

from __future__ import annotations

import string
from itertools import combinations

import numpy as np
import pandas as pd
from scipy import stats

from engagement.survey_design import (Design, _binary, _design, _domain_means, _domain_shares, _flagged,
                                      _indicator_covariance, _numeric, _observed_codes, _quantile)


# ----------------------------------------------------------------------------- tests


def rao_scott_chisq(x, y, design: Design | None = None) -> dict:
    """Rao-Scott second-order corrected test of independence of two categorical variables
    (R: ``svychisq(~x + y, design, statistic = "F")``), plus the unweighted Pearson test.

    Rows with either variable missing are dropped (as a domain); n below is the number of
    complete rows.  With p the r*c weighted cell proportions (x varying fastest), V their
    design-based covariance, D = diag(p) and C the interaction contrasts (the interaction
    dummies of the r x c grid residualized on intercept + row + column dummies):

        Delta = (C' D^-1 C / n)^-1 (C' D^-1 V D^-1 C)
        X2    = Pearson X^2 of the weighted table rescaled to total n
        F     = X2 / tr(Delta),  ndf = tr(Delta)^2 / tr(Delta^2),  ddf = ndf * (n - 1)

    Also returned: the first-order correction X2 / mean(eig Delta) on (r-1)(c-1) df
    (``statistic = "Chisq"``), the unweighted chi-square without continuity correction
    (R: ``chisq.test``) with Cramer's V = sqrt(X2 / (n (min(r, c) - 1))), and the same V
    computed from the weighted X2.  Every cell must be non-empty (D^-1 must exist).
    """
    xc, xlev = _observed_codes(x)
    yc, ylev = _observed_codes(y)
    if xc.size != yc.size:
        raise ValueError(f"x has {xc.size} rows and y has {yc.size}")
    design = _design(design, xc.size)
    complete = (xc >= 0) & (yc >= 0)
    r, c = len(xlev), len(ylev)
    if r < 2 or c < 2:
        raise ValueError(f"need at least 2 observed levels in each variable, got {r} x {c}")
    n = int(complete.sum())

    cell = np.where(complete, xc + r * yc, -1)
    counts = np.bincount(cell[complete], minlength=r * c)
    if np.any(counts == 0):
        k = int(np.flatnonzero(counts == 0)[0])
        raise ValueError(
            f"cell ({xlev[k % r]!r}, {ylev[k // r]!r}) is empty; the Rao-Scott correction needs every cell"
        )
    cell_total, group_total = _domain_shares(cell, r * c, np.zeros(cell.size, dtype=np.int64), 1, design)
    if group_total[0] <= 0:
        raise ValueError("the domain has no respondents with positive weight")
    p = cell_total / group_total[0]
    V = _indicator_covariance(design, cell, np.zeros(r * c, dtype=np.int64), p, group_total)

    grid_row, grid_col = np.arange(r * c) % r, np.arange(r * c) // r
    main = np.column_stack(
        [np.ones(r * c)]
        + [(grid_row == i).astype(float) for i in range(1, r)]
        + [(grid_col == j).astype(float) for j in range(1, c)]
    )
    inter = np.column_stack(
        [((grid_row == i) & (grid_col == j)).astype(float) for j in range(1, c) for i in range(1, r)]
    )
    C = inter - main @ np.linalg.lstsq(main, inter, rcond=None)[0]
    CD = C / p[:, None]  # D^-1 C
    delta = np.linalg.solve(C.T @ CD / n, CD.T @ V @ CD)
    tr1 = float(np.trace(delta))
    tr2 = float(np.trace(delta @ delta))

    table = (p * n).reshape(c, r).T
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / n
    x2 = float(np.sum((table - expected) ** 2 / expected))
    f_stat = x2 / tr1
    ndf = tr1**2 / tr2
    ddf = ndf * (n - 1)
    df = (r - 1) * (c - 1)
    first_order = x2 / (tr1 / df)

    unweighted = counts.reshape(c, r).T
    chi2_u, p_u, df_u, _ = stats.chi2_contingency(unweighted, correction=False)
    k = min(r, c) - 1
    return _flagged({
        "n": n,
        "rows": xlev,
        "columns": ylev,
        "pearson_x2": x2,
        "trace_delta": tr1,
        "f_statistic": f_stat,
        "ndf": ndf,
        "ddf": ddf,
        "p_value": float(stats.f.sf(f_stat, ndf, ddf)),
        "df": df,
        "first_order_x2": first_order,
        "first_order_p_value": float(stats.chi2.sf(first_order, df)),
        "unweighted_chisq": float(chi2_u),
        "unweighted_df": int(df_u),
        "unweighted_p_value": float(p_u),
        "cramers_v": float(np.sqrt(chi2_u / (n * k))),
        "weighted_cramers_v": float(np.sqrt(x2 / (n * k))),
    }, design)


def column_proportion_tests(x, y, design: Design | None = None, alpha: float = 0.05) -> pd.DataFrame:
    """Column-proportions tests of a crosstab, as in SPSS Custom Tables / Q.

    Rows are the levels of ``x``, columns the levels of ``y`` (the banner); columns get the
    letters A, B, C, ... in level order.  Within each row every pair of columns is compared
    with a two-sided z-test of the difference of the two weighted column proportions, and
    the p-values are Bonferroni-adjusted by the number of pairs tested in that row.  A cell
    lists in ``higher_than`` the letters of the columns it is significantly higher than.

    Differences from SPSS, on purpose: the SE of the difference is the design-based
    linearization SE of the two domain proportions (including their covariance through
    the calibration), rather than SPSS's pooled-proportion SE on the column bases, so the
    test is valid for raked weights.  As in SPSS, a column whose proportion in a row is 0
    or 1 is not compared in that row.  Rows with x or y missing are excluded.

    Returns one row per cell: row, column, letter, proportion (weighted column share),
    se, count (unweighted cell n), n_column (unweighted column base), higher_than.
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    xc, xlev = _observed_codes(x)
    yc, ylev = _observed_codes(y)
    if xc.size != yc.size:
        raise ValueError(f"x has {xc.size} rows and y has {yc.size}")
    design = _design(design, xc.size)
    r, c = len(xlev), len(ylev)
    if c > len(string.ascii_uppercase):
        raise ValueError(f"{c} columns: at most {len(string.ascii_uppercase)} can be lettered")
    letters = string.ascii_uppercase[:c]
    complete = (xc >= 0) & (yc >= 0)
    # score m = j * r + i is row i's share within column j: block j holds column j's r proportions
    cell = np.where(complete, yc * r + xc, -1)
    cell_total, column_total = _domain_shares(cell, r * c, np.where(complete, yc, -1), c, design)
    if np.any(column_total <= 0):
        raise ValueError("the domain has no respondents with positive weight")
    cell_group = np.arange(r * c) // r
    flat = cell_total / column_total[cell_group]
    est = flat.reshape(c, r).T
    V = _indicator_covariance(design, cell, cell_group, flat, column_total)

    def at(i: int, j: int) -> int:
        return j * r + i

    column_n = np.bincount(yc[complete], minlength=c)
    cell_n = np.zeros((r, c), dtype=int)
    np.add.at(cell_n, (xc[complete], yc[complete]), 1)

    records = []
    for i in range(r):
        testable = [j for j in range(c) if 0 < cell_n[i, j] < column_n[j]]
        pairs = list(combinations(testable, 2))
        higher: dict[int, list[str]] = {j: [] for j in range(c)}
        for a, b in pairs:
            var = V[at(i, a), at(i, a)] + V[at(i, b), at(i, b)] - 2 * V[at(i, a), at(i, b)]
            if var <= 0:
                continue
            z = (est[i, a] - est[i, b]) / np.sqrt(var)
            p_adjusted = min(1.0, 2 * stats.norm.sf(abs(z)) * len(pairs))
            if p_adjusted < alpha:
                winner, loser = (a, b) if z > 0 else (b, a)
                higher[winner].append(letters[loser])
        for j in range(c):
            records.append(
                {
                    "row": xlev[i],
                    "column": ylev[j],
                    "letter": letters[j],
                    "proportion": est[i, j],
                    "se": float(np.sqrt(V[at(i, j), at(i, j)])),
                    "count": int(cell_n[i, j]),
                    "n_column": int(column_n[j]),
                    "higher_than": "".join(sorted(higher[j])),
                }
            )
    return _flagged(pd.DataFrame.from_records(records), design)


def _difference(y: np.ndarray, group, a, b, design: Design | None, confidence: float) -> dict:
    """Design-based contrast mean_a - mean_b of two domains of one design.

    The SE comes from the joint linearization of the two domain means (so it includes
    their covariance, e.g. through the calibration); the test and CI use a t quantile on
    n_a + n_b - 2 df, as R's ``svyttest`` (degf - 1 of the two-group design).
    """
    if a == b:
        raise ValueError("the two groups to compare must differ")
    labels = pd.Series(group)
    if len(labels) != y.size:
        raise ValueError(f"group has {len(labels)} rows, y has {y.size}")
    design = _design(design, y.size)
    valid = ~np.isnan(y)
    in_a = labels.eq(a).to_numpy(dtype=bool) & valid
    in_b = labels.eq(b).to_numpy(dtype=bool) & valid
    for level, mask in ((a, in_a), (b, in_b)):
        if not mask.any():
            raise ValueError(f"group {level!r} has no respondents with a value")
    est_a, u_a = _domain_means(y, in_a, design)
    est_b, u_b = _domain_means(y, in_b, design)
    V = design.covariance(np.column_stack([u_a, u_b]))
    diff = float(est_a[0] - est_b[0])
    se = float(np.sqrt(max(V[0, 0] + V[1, 1] - 2 * V[0, 1], 0.0)))
    n_a, n_b = int(in_a.sum()), int(in_b.sum())
    df = n_a + n_b - 2
    if df < 1:
        raise ValueError("need at least 3 respondents across the two groups")
    q = _quantile(confidence, df=df)
    t_stat = diff / se if se > 0 else float("nan")
    return _flagged({
        "estimate": diff,
        "se": se,
        "ci_low": diff - q * se,
        "ci_high": diff + q * se,
        "statistic": t_stat,
        "df": df,
        "p_value": float(2 * stats.t.sf(abs(t_stat), df)) if se > 0 else float("nan"),
        "n": n_a + n_b,
        "estimate_a": float(est_a[0]),
        "estimate_b": float(est_b[0]),
        "n_a": n_a,
        "n_b": n_b,
    }, design)


def difference_in_means(y, group, a, b, design: Design | None = None, confidence: float = 0.95) -> dict:
    """Difference mean(y | group == a) - mean(y | group == b) with design-based SE, t CI and
    two-sided p (for segment or wave comparisons within one design).  Missing y is excluded."""
    return _difference(_numeric(y, "y"), group, a, b, design, confidence)


def difference_in_proportions(y_bool, group, a, b, design: Design | None = None, confidence: float = 0.95) -> dict:
    """Difference of weighted proportions P(y | group == a) - P(y | group == b); as
    `difference_in_means` on a 0/1 outcome (t-based Wald CI on the difference)."""
    return _difference(_binary(y_bool, "y_bool"), group, a, b, design, confidence)


def correlation_with_ci(x, y, method: str = "pearson", confidence: float = 0.95) -> dict:
    """Unweighted correlation with two-sided p and a Fisher-z CI (R: ``cor.test``);
    ``statistic`` is t = r sqrt((n-2)/(1-r^2)) on ``df`` = n - 2.

    pearson   r; p from t = r sqrt((n-2)/(1-r^2)) on n-2 df; CI tanh(atanh r +/- z/sqrt(n-3)).
    spearman  rho (Pearson r of average ranks); p from the same t approximation, which is
              what R uses when there are ties and what scipy.stats.spearmanr returns.  The
              CI applies the Pearson Fisher-z formula to rho: an approximation (it is a
              little narrow; the exact sampling variance of atanh(rho) is larger).
    Pairs with either value missing are dropped.
    """
    if method not in ("pearson", "spearman"):
        raise ValueError(f"method must be 'pearson' or 'spearman', got {method!r}")
    xv, yv = _numeric(x, "x"), _numeric(y, "y")
    if xv.size != yv.size:
        raise ValueError(f"x has {xv.size} rows and y has {yv.size}")
    keep = ~np.isnan(xv) & ~np.isnan(yv)
    xv, yv = xv[keep], yv[keep]
    n = xv.size
    if n < 4:
        raise ValueError(f"need at least 4 complete pairs, got {n}")
    if method == "pearson":
        res = stats.pearsonr(xv, yv)
    else:
        res = stats.spearmanr(xv, yv)
    r, p_value = float(res.statistic), float(res.pvalue)
    half = _quantile(confidence) / np.sqrt(n - 3)
    with np.errstate(divide="ignore"):  # |r| = 1: infinite t and z, CI collapses to r, as in R
        t_stat = float(r * np.sqrt(np.divide(n - 2, 1 - r**2)))
        z = np.arctanh(r)
    return {
        "method": method,
        "estimate": r,
        "ci_low": float(np.tanh(z - half)),
        "ci_high": float(np.tanh(z + half)),
        "statistic": t_stat,
        "df": n - 2,
        "p_value": p_value,
        "n": n,
    }


def adjust_pvalues(p, method: str = "holm") -> np.ndarray:
    """Holm (step-down) or Bonferroni adjusted p-values; NaN stays NaN and is not counted.
    (statsmodels' multipletests gives the same numbers but runs a full gc.collect() on every Holm
    call, which costs a fifth of a second with the figures of a notebook alive.)"""
    p = np.asarray(p, float)
    out = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    m = int(ok.sum())
    if m == 0:
        return out
    if method == "bonferroni":
        out[ok] = np.minimum(1.0, p[ok] * m)
    elif method == "holm":
        order = np.argsort(p[ok], kind="stable")
        stepped = np.maximum.accumulate(p[ok][order] * (m - np.arange(m)))
        adj = np.empty(m)
        adj[order] = np.minimum(1.0, stepped)
        out[ok] = adj
    else:
        raise ValueError(f"correction must be 'holm' or 'bonferroni', got {method!r}")
    return out
