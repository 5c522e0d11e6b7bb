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
"""

from __future__ import annotations

import functools
import string
from dataclasses import dataclass
from itertools import combinations

import numpy as np
import threadpoolctl
from threadpoolctl import ThreadpoolController
import pandas as pd
from scipy import stats

from engagement.weighting import RakeResult

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


@functools.cache
def _threadpools() -> ThreadpoolController:
    """One scan of the loaded native thread pools (``threadpool_limits`` rescans the process's
    shared libraries on every call: 60 ms each on a busy machine, measured)."""
    return ThreadpoolController()


def _one_blas_thread():
    """Context manager: numpy's BLAS on one thread (its library is loaded with numpy, so the
    cached scan sees it)."""
    return _threadpools().limit(limits=1, user_api="blas")


def single_threaded(user_api: str | None = "blas"):
    """Decorator: run the function with one thread in the native thread pools of `user_api`
    ("blas"; None = every pool, OpenMP included). The linear algebra of the studies is on small
    matrices (n × ~20), where threads only add overhead (3x to 20x slower on a loaded two-core
    machine, measured)."""

    def decorate(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with threadpoolctl.threadpool_limits(limits=1, user_api=user_api):
                return fn(*args, **kwargs)

        return wrapper

    return decorate


@dataclass(frozen=True, eq=False)
class Design:
    """Single-stage design: weights, plus the calibration matrix when they were raked.

    weights       final analysis weights (any positive scale).
    calibration   n x p matrix of the calibration variables (intercept and margin dummies,
                  `RakeResult.calibration`).  None = weights treated as fixed.
    base_weights  the weights before calibration; the residualization is an OLS weighted
                  by them (unweighted when they are all 1, as for ``rake()`` from an
                  equal-probability design).  Ignored without ``calibration``.
    calibrated_weights  the calibrated weights when ``weights`` were trimmed after calibration
                  (R: ``trimWeights(calibrate(...))``).  R keeps the calibration of the
                  untrimmed design for the variance: the scores are multiplied by the trimming
                  factor t = weights / calibrated_weights, residualized, and weighted by the
                  calibrated weights.  None = the weights are the calibrated weights (t = 1).
    flag          a warning every estimate from this design must carry (e.g. raking that did
                  not converge, so the SEs assume margins that the weights do not meet).
                  Estimators add it as ``flag`` to their result when it is set.

    The factorisation of the calibration matrix (an SVD of sqrt(base) * X) and the grouping of
    rows by their calibration pattern are computed once per design, on first use, and reused by
    every estimate and domain.
    """

    weights: np.ndarray
    calibration: np.ndarray | None = None
    base_weights: np.ndarray | None = None
    calibrated_weights: np.ndarray | None = None
    flag: str | None = None

    def __post_init__(self) -> None:
        w = np.asarray(self.weights, dtype=float)
        if w.ndim != 1 or w.size < 2:
            raise ValueError("weights must be a 1-d array with at least 2 rows")
        if not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
            raise ValueError("weights must be finite, >= 0 and not all zero")
        object.__setattr__(self, "weights", w)
        if self.calibration is not None:
            x = np.asarray(self.calibration, dtype=float)
            if x.ndim != 2 or x.shape[0] != w.size or not np.all(np.isfinite(x)):
                raise ValueError(f"calibration must be a finite {w.size} x p matrix, got shape {x.shape}")
            d = np.ones(w.size) if self.base_weights is None else np.asarray(self.base_weights, dtype=float)
            if d.shape != w.shape or not np.all(np.isfinite(d)) or np.any(d <= 0):
                raise ValueError("base_weights must be finite, > 0 and one per row")
            object.__setattr__(self, "calibration", x)
            object.__setattr__(self, "base_weights", d)
        if self.calibrated_weights is not None:
            c = np.asarray(self.calibrated_weights, dtype=float)
            if c.shape != w.shape or not np.all(np.isfinite(c)) or np.any(c <= 0):
                raise ValueError("calibrated_weights must be finite, > 0 and one per row")
            object.__setattr__(self, "calibrated_weights", None if np.array_equal(c, w) else c)

    @classmethod
    def unweighted(cls, n: int) -> Design:
        """Simple random sample of size n: every weight 1, no calibration."""
        return cls(np.ones(n))

    @classmethod
    def from_rake(cls, result: RakeResult) -> Design:
        """Design whose SEs account for the raking (or bounded calibration, and trimming) in
        ``result``; flagged when the calibration did not converge."""
        return cls(result.weights, result.calibration, result.base_weights,
                   calibrated_weights=getattr(result, "calibrated_weights", None),
                   flag=getattr(result, "flag", None))

    @property
    def n(self) -> int:
        return self.weights.size

    def subset(self, rows) -> Design:
        """The design of some rows (a boolean mask or positions), calibration, trimming and flag kept:
        for analyses that drop rows instead of treating them as a domain."""
        pick = (lambda a: None if a is None else a[rows])
        return Design(self.weights[rows], pick(self.calibration), pick(self.base_weights),
                      calibrated_weights=pick(self.calibrated_weights), flag=self.flag)

    # ---------------------------------------------------------------- cached factorisation
    @functools.cached_property
    def _projection(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(Q, sqrt(base)) with Q an orthonormal basis of the column space of sqrt(base) * X:
        the residual of a base-weighted OLS of u on X is u - Q Q' (sqrt(base) u) / sqrt(base).
        Same rank rule as ``numpy.linalg.lstsq(rcond=None)``, hence the same fitted values."""
        if self.calibration is None:
            return None
        root = np.sqrt(self.base_weights)
        with _one_blas_thread():
            U, s, _ = np.linalg.svd(root[:, None] * self.calibration, full_matrices=False)
        rank = int(np.sum(s > s.max() * max(self.calibration.shape) * np.finfo(float).eps)) if s.size else 0
        return np.ascontiguousarray(U[:, :rank]), root

    @functools.cached_property
    def _patterns(self) -> tuple[np.ndarray, np.ndarray] | None:
        """Rows grouped by their row of the calibration matrix: (pattern code per row, one row of X
        per pattern).  Margin dummies take few distinct patterns (the cells of the margins' cross),
        so estimates whose scores depend only on a row's category and pattern can be computed
        from grouped sums.  None when X has too many distinct rows for that to pay."""
        if self.calibration is None:
            return np.zeros(self.n, dtype=np.int64), np.zeros((1, 0))
        key = np.zeros(self.n, dtype=np.int64)
        for column in self.calibration.T:
            codes, uniques = pd.factorize(column)
            key, combined = pd.factorize(key * len(uniques) + codes)
            if len(combined) > max(64, self.n // 8):
                return None
        _, first = np.unique(key, return_index=True)
        return key, self.calibration[first]

    def covariance(self, scores: np.ndarray) -> np.ndarray:
        """Covariance matrix of estimators with linearized scores ``scores`` (n x k).

        An estimator theta-hat with theta-hat - theta ~= sum_i w_i u_i has score column u.
        With calibration, u is replaced by its residual from the base-weighted OLS on the
        calibration matrix; then z = w * u and V = n/(n-1) * sum (z - zbar)(z - zbar)'.
        (After trimming: z = c * resid(t u), c the calibrated weights, t = w / c.)
        """
        u = np.asarray(scores, dtype=float)
        if u.ndim == 1:
            u = u[:, None]
        w = self.weights
        if self.calibrated_weights is not None:
            w = self.calibrated_weights
            u = (self.weights / w)[:, None] * u
        if self.calibration is not None:
            q, root = self._projection
            # n x ~10 products: threaded BLAS only adds overhead (100x on a busy 2-core machine)
            with _one_blas_thread():
                u = u - (q @ (q.T @ (root[:, None] * u))) / root[:, None]
        z = w[:, None] * u
        z = z - z.mean(axis=0)
        return self.n / (self.n - 1) * (z.T @ z)


def _indicator_covariance(design: Design, cell: np.ndarray, cell_group: np.ndarray,
                          est: np.ndarray, totals: np.ndarray) -> np.ndarray:
    """`Design.covariance` of the scores of domain proportions, from grouped sums.

    Row i falls in cell ``cell[i]`` (-1 = in no domain); cell m belongs to domain
    ``cell_group[m]`` with weighted total ``totals[g]``, and estimates the share ``est[m]`` of its
    domain.  The score of cell m is u_im = 1[i in g(m)] (1[cell_i = m] - est_m) / total_g(m), so a
    row's score vector depends only on its cell and (with calibration) its row of X: the
    residualization runs on one row per (pattern, cell) weighted by the summed base weights, and
    z'z and sum z come from the summed w and w^2.  Same numbers as the dense n x k computation (to
    round-off), at O(n) per call instead of O(n k p).
    """
    n, k = design.n, len(est)
    patterns = design._patterns
    # dense when grouping would not pay, or after trimming (the factor t varies within a group)
    if patterns is None or patterns[1].shape[0] * (k + 1) > n or design.calibrated_weights is not None:
        u = np.zeros((n, k))
        rows = np.flatnonzero(cell >= 0)
        group = cell_group[cell[rows]]
        member = cell_group[None, :] == group[:, None]
        u[rows] = member * (np.eye(k)[cell[rows]] - est) / totals[group][:, None]
        return design.covariance(u)
    pattern, xpat = patterns
    slots = k + 1
    key = pattern * slots + (cell + 1)
    size = xpat.shape[0] * slots
    w = design.weights
    sum_w, sum_w2 = np.bincount(key, w, size), np.bincount(key, w * w, size)
    present = np.flatnonzero(np.bincount(key, minlength=size) > 0)
    table = np.zeros((slots, k))  # score vector of a row in no domain (0), or in cell m (m + 1)
    member = cell_group[None, :] == cell_group[:, None]
    table[1:] = member * (np.eye(k) - est) / totals[cell_group][:, None]
    u = table[present % slots]
    if design.calibration is not None:
        d = np.bincount(key, design.base_weights, size)[present]
        x = xpat[present // slots]
        root = np.sqrt(d)[:, None]
        with _one_blas_thread():
            coef, *_ = np.linalg.lstsq(root * x, root * u, rcond=None)
        u = u - x @ coef
    zz = u.T @ (sum_w2[present][:, None] * u)
    z_sum = sum_w[present] @ u
    return n / (n - 1) * (zz - np.outer(z_sum, z_sum) / n)


def _domain_shares(codes: np.ndarray, k: int, groups: np.ndarray, n_groups: int,
                   design: Design) -> tuple[np.ndarray, np.ndarray]:
    """Weighted totals of each cell (code) and of each group; rows with code -1 are left out."""
    rows = codes >= 0
    cell_total = np.bincount(codes[rows], design.weights[rows], minlength=k)
    group_total = np.bincount(groups[rows], design.weights[rows], minlength=n_groups)
    return cell_total, group_total


def _flagged(result, design: Design):
    """Carry the design's flag (e.g. non-converged raking) on a result dict or frame."""
    if design.flag is None:
        return result
    if isinstance(result, pd.DataFrame):
        return result.assign(flag=design.flag)
    return result | {"flag": design.flag}


def _srs_variance_of_mean(y: np.ndarray, dom: np.ndarray, design: Design, est: np.ndarray) -> np.ndarray:
    """Variance of the mean under simple random sampling of the domain's n_D respondents with
    replacement, the denominator of R's ``svymean(..., deff = "replace")``: the weighted
    population variance (n_D / (n_D - 1) * sum w (y - m)^2 / sum w) over n_D."""
    y = y if y.ndim == 2 else y[:, None]
    w = design.weights[dom]
    n_d = int(dom.sum())
    if n_d < 2:
        return np.full(est.shape, np.nan)
    dev = y[dom] - est
    var = (w @ dev**2) / w.sum() * n_d / (n_d - 1)
    return var / n_d


# ----------------------------------------------------------------------------- inputs


def _design(design: Design | None, n: int) -> Design:
    if design is None:
        return Design.unweighted(n)
    if design.n != n:
        raise ValueError(f"the data have {n} rows but the design has {design.n}")
    return design


def _numeric(values, what: str) -> np.ndarray:
    """1-d float array with NaN for missing (accepts bools, nullable dtypes, None)."""
    series = pd.Series(values)
    try:
        return series.astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what} must be numeric or boolean: {exc}") from None


def _binary(values, what: str) -> np.ndarray:
    y = _numeric(values, what)
    bad = ~np.isnan(y) & (y != 0) & (y != 1)
    if bad.any():
        raise ValueError(f"{what} must be boolean / 0-1; found {np.unique(y[bad])[:5]}")
    return y


def _mask(domain, n: int) -> np.ndarray:
    if domain is None:
        return np.ones(n, dtype=bool)
    series = pd.Series(domain)
    if len(series) != n:
        raise ValueError(f"domain has {len(series)} rows, expected {n}")
    if series.isna().any():
        raise ValueError("domain must be a boolean mask without missing values")
    return series.to_numpy(dtype=bool)


def _codes(values) -> tuple[np.ndarray, list]:
    """Integer codes (-1 = missing) and level labels; a pandas Categorical keeps its
    category order (unused categories included), anything else is sorted like R's factor()."""
    series = pd.Series(values)
    if isinstance(series.dtype, pd.CategoricalDtype):
        return series.cat.codes.to_numpy(), list(series.cat.categories)
    codes, uniques = pd.factorize(series, sort=True)
    return codes, list(uniques)


def _observed_codes(values) -> tuple[np.ndarray, list]:
    """Like `_codes` but renumbered to the levels that actually occur."""
    codes, levels = _codes(values)
    present = np.flatnonzero(np.bincount(codes[codes >= 0], minlength=len(levels)))
    remap = np.full(len(levels), -1)
    remap[present] = np.arange(present.size)
    return np.where(codes >= 0, remap[codes], -1), [levels[i] for i in present]


def _one_hot(codes: np.ndarray, k: int) -> np.ndarray:
    out = np.zeros((codes.size, k))
    rows = np.flatnonzero(codes >= 0)
    out[rows, codes[rows]] = 1.0
    return out


def _domain_means(y: np.ndarray, domain: np.ndarray, design: Design) -> tuple[np.ndarray, np.ndarray]:
    """Weighted means of the columns of y over a domain, and their linearized scores.

    mean_k = sum_D w y_k / sum_D w;  u_ik = 1[i in D] (y_ik - mean_k) / sum_D w.
    """
    y = y if y.ndim == 2 else y[:, None]
    wd = design.weights * domain
    total = wd.sum()
    if total <= 0:
        raise ValueError("the domain has no respondents with positive weight")
    filled = np.where(domain[:, None], y, 0.0)
    est = wd @ filled / total
    return est, domain[:, None] * (filled - est) / total


def _quantile(confidence: float, df: float | None = None) -> float:
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    upper = (1 + confidence) / 2
    return float(stats.norm.ppf(upper) if df is None else stats.t.ppf(upper, df))


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
