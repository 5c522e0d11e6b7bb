"""Design-based estimates, intervals and tests for a single-stage (possibly raked) sample.

Variance estimation is Taylor linearization, as in R's ``survey`` package for
``svydesign(ids = ~1, weights = ~w)``: every estimator is a smooth function of weighted
totals, each unit gets a linearized score z_i, and

    V = n / (n - 1) * sum_i (z_i - zbar)(z_i - zbar)'

(with-replacement, no finite-population correction).  When the weights come from raking,
the scores are first residualized on the margin dummies (the GREG linearization of a
calibration estimator), which is what makes R's ``rake()`` / ``calibrate()`` SEs smaller
than fixed-weight SEs.  Without calibration information the weights are taken as fixed;
with no weights at all the formulas reduce to the ordinary SRS ones (s^2 / n for a mean).

Subpopulations (and rows with a missing outcome) are handled as *domains*: the scores are
zero outside the domain but every row stays in the variance, so SEs remain design-based.
This is what R does for calibrated designs.  For an uncalibrated design R's
``svymean(na.rm = TRUE)`` / ``subset()`` drops the rows instead, which for this
single-stage design multiplies the variance by (n - 1) n_D / (n (n_D - 1)) (n_D the rows
kept); the two agree when nothing is excluded.

Inputs are matched to the design by position (row order), not by pandas index.

This module holds the estimates (`weighted_mean`, `weighted_proportion`, `weighted_proportions`);
the design and its helpers are in engagement.survey_design, the tests in engagement.survey_tests,
both re-exported here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

# the design and the shared helpers live in survey_design, the tests in survey_tests (issue 13);
# every name is re-exported here, as before the split
from engagement.survey_design import (  # noqa: F401  (re-exported)
    Design,
    _binary,
    _codes,
    _design,
    _domain_means,
    _domain_shares,
    _flagged,
    _indicator_covariance,
    _mask,
    _numeric,
    _observed_codes,
    _one_blas_thread,
    _one_hot,
    _quantile,
    _srs_variance_of_mean,
    _threadpools,
    single_threaded,
)
from engagement.survey_tests import (  # noqa: F401  (re-exported)
    _difference,
    adjust_pvalues,
    column_proportion_tests,
    correlation_with_ci,
    difference_in_means,
    difference_in_proportions,
    rao_scott_chisq,
)

__all__ = [
    "adjust_pvalues",
    "single_threaded",
    "Design",
    "weighted_mean",
    "weighted_proportion",
    "weighted_proportions",
    "rao_scott_chisq",
    "column_proportion_tests",
    "difference_in_means",
    "difference_in_proportions",
    "correlation_with_ci",
]


# ------------------------------------------------------------------------ estimators


def weighted_mean(y, design: Design | None = None, domain=None, confidence: float = 0.95,
                  deff: bool = False) -> dict:
    """Weighted mean with its design-based SE and a Wald CI using the normal quantile
    (R: ``confint(svymean(~y, design))``).  Rows with missing y, or outside ``domain``
    (a boolean mask), are excluded as a domain, not by subsetting the design.

    ``deff=True`` adds the design effect of this estimate, V / V_srs (R: ``svymean(...,
    deff = "replace")``; V_srs from `_srs_variance_of_mean`)."""
    y = _numeric(y, "y")
    design = _design(design, y.size)
    dom = _mask(domain, y.size) & ~np.isnan(y)
    est, u = _domain_means(y, dom, design)
    var = float(design.covariance(u)[0, 0])
    se = float(np.sqrt(var))
    q = _quantile(confidence)
    mean = float(est[0])
    out = {"estimate": mean, "se": se, "ci_low": mean - q * se, "ci_high": mean + q * se, "n": int(dom.sum())}
    if deff:
        out["deff"] = float(var / _srs_variance_of_mean(y, dom, design, est)[0])
    return _flagged(out, design)


def weighted_proportion(
    y_bool, design: Design | None = None, ci: str = "logit", domain=None, confidence: float = 0.95,
    deff: bool = False,
) -> dict:
    """Weighted proportion of True (or 1) with its design-based SE and a CI.

    ci="logit"  R's ``svyciprop(method="logit")``: expit(logit p +/- t * SE/(p(1-p))) with
                a t quantile on n - 1 df (n = respondents used).  Stays inside (0, 1).
    ci="wald"   p +/- z * SE with the normal quantile (R's ``confint(svymean)``).

    When p is exactly 0 or 1 the linearized SE is 0 and the logit interval does not
    exist; the logit method then falls back to a Clopper-Pearson interval with n replaced
    by Kish's effective sample size of the respondents' weights (Korn & Graubard 1998,
    with the design effect of unequal weighting) and reports ``ci_method`` accordingly.

    ``deff=True`` adds the design effect V / (p (1 - p) / (n - 1)) (R: ``svymean(...,
    deff = "replace")``); NaN when p is 0 or 1.
    """
    if ci not in ("logit", "wald"):
        raise ValueError(f"ci must be 'logit' or 'wald', got {ci!r}")
    y = _binary(y_bool, "y_bool")
    design = _design(design, y.size)
    dom = _mask(domain, y.size) & ~np.isnan(y)
    cell = np.where(dom, np.nan_to_num(y), -1).astype(np.int64)
    cell_total, group_total = _domain_shares(cell, 2, np.zeros(y.size, dtype=np.int64), 1, design)
    if group_total[0] <= 0:
        raise ValueError("the domain has no respondents with positive weight")
    est = cell_total / group_total[0]
    var = float(_indicator_covariance(design, cell, np.zeros(2, dtype=np.int64), est, group_total)[1, 1])
    p = float(est[1])
    se = float(np.sqrt(max(var, 0.0)))
    n = int(dom.sum())
    result = {"estimate": p, "se": se, "n": n}
    if deff:
        srs = p * (1 - p) / (n - 1) if n > 1 else np.nan
        result["deff"] = float(var / srs) if srs > 0 else float("nan")
    if ci == "wald":
        q = _quantile(confidence)
        return _flagged(result | {"ci_low": p - q * se, "ci_high": p + q * se, "ci_method": "wald"}, design)
    events = int(y[dom].sum())
    if 0 < events < n:  # decided on counts: a float p may miss 0 or 1 by round-off
        q = _quantile(confidence, df=n - 1)
        half = q * se / (p * (1 - p))
        logit = np.log(p / (1 - p))
        return _flagged(result | {
            "ci_low": float(stats.logistic.cdf(logit - half)),
            "ci_high": float(stats.logistic.cdf(logit + half)),
            "ci_method": "logit",
        }, design)
    w = design.weights[dom]
    n_eff = w.sum() ** 2 / np.sum(w**2)
    alpha = 1 - confidence
    if events == 0:
        low, high = 0.0, float(stats.beta.ppf(1 - alpha / 2, 1, n_eff))
    else:
        low, high = float(stats.beta.ppf(alpha / 2, n_eff, 1)), 1.0
    exact = float(events > 0)  # 0 or 1 exactly, whatever the round-off of the weighted mean
    return _flagged(result | {"estimate": exact, "se": 0.0, "ci_low": low, "ci_high": high,
                              "ci_method": "clopper-pearson-kish"}, design)


def weighted_proportions(
    categorical, design: Design | None = None, domain=None, confidence: float = 0.95, deff: bool = False
) -> pd.DataFrame:
    """Weighted distribution of a categorical variable (R: ``svymean(~factor, design)``).

    One row per level (a pandas Categorical keeps its order and its unused levels; other
    input is sorted), with proportion, design-based SE, Wald CI (normal quantile) and the
    unweighted count n.  Missing values are excluded as a domain.  ``deff=True`` adds each
    level's design effect (R: ``svymean(~factor, design, deff = "replace")``).
    """
    codes, levels = _codes(categorical)
    design = _design(design, codes.size)
    dom = _mask(domain, codes.size) & (codes >= 0)
    k = len(levels)
    cell = np.where(dom, codes, -1)
    cell_total, group_total = _domain_shares(cell, k, np.zeros(codes.size, dtype=np.int64), 1, design)
    if group_total[0] <= 0:
        raise ValueError("the domain has no respondents with positive weight")
    est = cell_total / group_total[0]
    var = np.diag(_indicator_covariance(design, cell, np.zeros(k, dtype=np.int64), est, group_total))
    se = np.sqrt(np.maximum(var, 0.0))
    q = _quantile(confidence)
    counts = np.bincount(codes[dom], minlength=k)
    out = pd.DataFrame(
        {"level": levels, "proportion": est, "se": se, "ci_low": est - q * se, "ci_high": est + q * se, "n": counts}
    )
    if deff:
        n_d = int(dom.sum())
        srs = est * (1 - est) / (n_d - 1) if n_d > 1 else np.full(k, np.nan)
        with np.errstate(divide="ignore", invalid="ignore"):
            out["deff"] = np.where(srs > 0, var / srs, np.nan)
    return _flagged(out, design)
