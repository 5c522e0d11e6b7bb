"""The survey design and the shared machinery of the design-based estimators: `Design` (weights,
raking margins, Taylor-linearized covariance of scores), `single_threaded`, and the input and
domain helpers that `survey_stats` (estimates) and `survey_tests` (tests) both use.

The method (linearization as in R's ``survey``, domains, calibration) is described in
engagement.survey_stats, which re-exports `Design` and `single_threaded`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import threadpoolctl
from threadpoolctl import ThreadpoolController
import pandas as pd
from scipy import stats

from engagement.weighting import RakeResult


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
    if isinstance(series.dtype, np.dtype) and series.dtype.kind in "biuf":
        # plain NumPy numbers or bools: the same floats (NaN stays NaN) without the nullable
        # round trip, which took most of the channel study's time at a million rows
        return series.to_numpy(dtype=float, copy=True)  # a copy, as before: callers may write to it
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
