"""Model fitting for the loyalty study: the three model families and nested tests.

Three model families, chosen by the kind of loyalty outcome:

- ``ordinal``: cumulative-logit (proportional-odds) model, logit P(Y <= k) = theta_k - x'beta, the
  parameterization of R's ``ordinal::clm`` and ``MASS::polr`` (thresholds on the raw scale, no
  intercept). Fitted by Newton-Raphson with the analytic gradient and Hessian and step halving that
  keeps the thresholds ordered (the log-likelihood is concave, so this converges to the MLE from the
  marginal-logit start). Standard errors: inverse observed information (as clm), or a sandwich.
- ``binary``: logistic regression, the K = 2 case of the same likelihood (intercept = -theta_1).
- ``linear``: (weighted) least squares.

Why not statsmodels ``OrderedModel``? It gives the same MLE but fits by a quasi-Newton optimizer on
numerical derivatives: 1.1 s per fit at n = 4,600 and 11 NPS categories (measured, statsmodels 0.15,
method="bfgs"), against about 1 ms here. The cross-validation needs ~1,000 fits, so it would take
minutes; tests check that both give the same estimates.

Survey weights enter as a weighted (pseudo-)likelihood. Rows with identical (y, x) are collapsed
into one row carrying the summed weight (and the summed squared weight, which keeps the sandwich
exact): CES and CSAT take few values, so a 5,000-row fit becomes a fit on a few dozen rows, exactly.


Cross-validation lives in `validation`, dominance analysis in `dominance`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special, stats

FAMILIES = ("ordinal", "binary", "linear")
#: model family for each codebook outcome kind
FAMILY_OF_KIND = {"nps": "ordinal", "likert": "ordinal", "binary": "binary", "count": "linear",
                  "continuous": "linear"}
FAMILY_LABEL = {"ordinal": "ordinal logit (proportional odds)", "binary": "logistic regression",
                "linear": "linear regression (OLS)"}
#: Newton step size at which cross-validation fits stop: the estimates are then within ~1e-6 of the
#: MLE (quadratic convergence) and the fold metrics within ~1e-9 of those of fully converged fits
CV_TOL = 1e-3
# --------------------------------------------------------------------------------- helpers


def _as_2d(X) -> np.ndarray:
    X = np.asarray(X, dtype=float)
    if X.ndim == 1:
        X = X[:, None]
    return X


def _weights(w, n: int) -> np.ndarray:
    if w is None:
        return np.ones(n)
    w = np.asarray(w, dtype=float)
    if w.shape != (n,) or not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError(f"weights must be {n} finite non-negative numbers")
    return w


def row_codes(columns: list[np.ndarray]) -> np.ndarray:
    """One integer per row, equal exactly when the rows are equal on every column, ordered as the
    rows are lexicographically: mixed radix over each column's sorted distinct values, the combinations
    so far renumbered densely (same order) whenever the next column would overflow 62 bits — instead
    of a row-wise `np.unique(..., axis=0)` over an n × columns copy."""
    n = len(columns[0])
    key = np.zeros(n, dtype=np.int64)
    radix = 1
    for col in columns:
        inverse, codes = pd.factorize(col, sort=True)  # = np.unique's inverse, by hashing instead of sorting n rows
        if radix * len(codes) >= 2**62:  # too many combinations for one integer key: renumber those so far
            key, seen = pd.factorize(key, sort=True)
            radix = len(seen)
        key = key * len(codes) + inverse
        radix *= len(codes)
    return key


def collapse(columns: list[np.ndarray], w: np.ndarray):
    """Group identical rows of the given columns: (first row index of each group, group of each row,
    summed weight, summed squared weight). Exact for any likelihood that depends on a row only
    through these columns."""
    key = row_codes(columns)
    group, first = first_rows(key)
    return first, group, np.bincount(group, w), np.bincount(group, w * w)


def first_rows(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(group of each row, first row of each group), groups numbered in sorted key order: what
    `np.unique(key, return_index=True, return_inverse=True)` gives, by hashing instead of sorting."""
    group, uniques = pd.factorize(key, sort=True)
    seen = pd.Series(group).drop_duplicates().index.to_numpy()  # first appearance of each group
    first = np.empty(len(uniques), dtype=np.intp)
    first[group[seen]] = seen
    return group.astype(np.intp), first


# ----------------------------------------------------------------------------------- fits


@dataclass
class Fit:
    """A fitted loyalty model. `params` order: ordinal -> thresholds then slopes; binary and
    linear -> intercept then slopes."""

    family: str
    names: list[str]
    coef: np.ndarray  # slopes, one per predictor
    intercept: float  # binary / linear (0 for ordinal)
    thresholds: np.ndarray  # ordinal: theta_1..theta_{K-1}; empty otherwise
    levels: list  # ordinal / binary: the outcome levels, lowest first
    cov: np.ndarray
    cov_type: str
    loglik: float
    loglik_null: float
    nobs: int
    weight_sum: float
    iterations: int = 0
    converged: bool = True
    r2: float = float("nan")  # linear: (weighted) R²; others: McFadden pseudo-R²
    sigma: float = float("nan")  # linear: residual SD

    @property
    def param_names(self) -> list[str]:
        if self.family == "ordinal":
            lv = [str(v) for v in self.levels]
            return [f"{a}|{b}" for a, b in zip(lv[:-1], lv[1:])] + list(self.names)
        return ["Intercept"] + list(self.names)

    @property
    def params(self) -> pd.Series:
        head = self.thresholds if self.family == "ordinal" else np.array([self.intercept])
        return pd.Series(np.r_[head, self.coef], index=self.param_names)

    @property
    def bse(self) -> pd.Series:
        return pd.Series(np.sqrt(np.clip(np.diag(self.cov), 0, None)), index=self.param_names)

    @property
    def deviance(self) -> float:
        return -2 * self.loglik

    def linear_predictor(self, X) -> np.ndarray:
        """x'beta (+ intercept): higher means a higher (more loyal) outcome in every family."""
        return _as_2d(X) @ self.coef + self.intercept

    def predict_proba(self, X) -> np.ndarray:
        """ordinal: n x K category probabilities; binary: P(Y = positive level)."""
        eta = self.linear_predictor(X)
        if self.family == "binary":
            return special.expit(eta)
        if self.family == "ordinal":
            cum = special.expit(self.thresholds[None, :] - eta[:, None])
            cum = np.column_stack([np.zeros(len(eta)), cum, np.ones(len(eta))])
            return np.diff(cum, axis=1)
        raise ValueError("predict_proba is for ordinal and binary models")

    def predict(self, X) -> np.ndarray:
        """Expected outcome: linear -> fitted value; binary -> probability; ordinal -> mean level."""
        if self.family == "linear":
            return self.linear_predictor(X)
        if self.family == "binary":
            return self.predict_proba(X)
        return self.predict_proba(X) @ np.asarray(self.levels, dtype=float)

    def summary_frame(self) -> pd.DataFrame:
        est, se = self.params, self.bse
        z = est / se
        dist = stats.t(self.nobs - len(est)) if self.family == "linear" else stats.norm
        q = dist.ppf(0.975)
        return pd.DataFrame({"term": est.index, "estimate": est.values, "se": se.values,
                             "ci_low": est.values - q * se.values, "ci_high": est.values + q * se.values,
                             "p_value": 2 * dist.sf(np.abs(z.values))})


def _cum_logit_design(y, X, K):
    """d u / d params and d v / d params of every row, where u and v are the upper and lower bounds
    θ_y − x'β and θ_{y−1} − x'β of its category (constant: the model is linear in the parameters),
    and which rows have an upper (y < K−1) and a lower (y > 0) bound."""
    n, q = X.shape
    P = K - 1 + q
    A = np.zeros((n, P))
    B = np.zeros((n, P))
    rows = np.arange(n)
    up, lo = y <= K - 2, y >= 1
    A[rows[up], y[up]] = 1.0
    B[rows[lo], y[lo] - 1] = 1.0
    A[:, K - 1:] = -X
    B[:, K - 1:] = -X
    return A, B, up, lo


def _cum_logit_prob(u, v, up, lo):
    """F(u), F(v) and the category probability F(u) − F(v), computed on the side where it does not
    lose precision; rows without an upper (lower) bound have F(u) = 1 (F(v) = 0). Broadcasts."""
    Fu = np.where(up, special.expit(u), 1.0)
    Fv = np.where(lo, special.expit(v), 0.0)
    p = np.where(lo & (v > 0), special.expit(-v) - np.where(up, special.expit(-u), 0.0), Fu - Fv)
    return Fu, Fv, np.maximum(p, 1e-300)


def _cum_logit_curvature(Fu, Fv, p):
    """Per-row pieces of the score and Hessian of log p: score = su·a − sv·b and Hessian =
    α·aa' + β·bb' + γ·(ab' + ba'), with a, b the rows of the design (`_cum_logit_design`)."""
    fu, fv = Fu * (1 - Fu), Fv * (1 - Fv)
    su, sv = fu / p, fv / p
    alpha = fu * (1 - 2 * Fu) / p - su**2
    beta = -(fv * (1 - 2 * Fv) / p + sv**2)
    return su, sv, alpha, beta, su * sv


def _cum_logit_derivs(phi, y, X, w, K, derivs: bool = True):
    """log-likelihood and, with `derivs`, gradient, Hessian and per-row (unweighted) scores of the
    cumulative logit at phi = (θ, β); y holds codes 0..K-1."""
    up, lo = y <= K - 2, y >= 1
    eta = X @ phi[K - 1:]
    th = np.concatenate(([0.0], phi[:K - 1], [0.0]))  # open ends are masked by up / lo
    Fu, Fv, p = _cum_logit_prob(th[y + 1] - eta, th[y] - eta, up, lo)
    ll = float(w @ np.log(p))
    if not derivs:
        return ll, None, None, None
    A, B, _, _ = _cum_logit_design(y, X, K)
    su, sv, alpha, beta, gamma = _cum_logit_curvature(Fu, Fv, p)
    S = su[:, None] * A - sv[:, None] * B
    Bg = B * (w * gamma)[:, None]
    H = (A * (w * alpha)[:, None]).T @ A + (B * (w * beta)[:, None]).T @ B + A.T @ Bg + Bg.T @ A
    return ll, w @ S, H, S


def _null_loglik(counts: np.ndarray) -> float:
    share = counts / counts.sum()
    nz = counts > 0
    return float(counts[nz] @ np.log(share[nz]))


def _newton_cum_logit(y, X, w, K, start=None, tol=1e-7, max_iter=200, final_derivs: bool = True):
    """Newton-Raphson with step halving (keeps thresholds increasing and the log-likelihood from
    falling). Stops when a full step is below `tol`: with quadratic convergence the point reached is
    then accurate to about tol² (far below any reported digit). `final_derivs` = also return the
    Hessian and scores at the final point (needed for standard errors only)."""
    counts = np.bincount(y, w, minlength=K)
    if np.any(counts <= 0):
        raise ValueError("every outcome level needs positive weight (merge or drop empty levels)")
    q = X.shape[1]
    if start is None:
        cum = np.cumsum(counts)[:-1] / counts.sum()
        phi = np.concatenate((np.log(cum / (1 - cum)), np.zeros(q)))
    else:
        phi = np.asarray(start, dtype=float).copy()
    ll, g, H, S = _cum_logit_derivs(phi, y, X, w, K)
    converged = False
    it = 0
    for it in range(1, max_iter + 1):
        try:
            step = np.linalg.solve(-H, g)
        except np.linalg.LinAlgError:
            step = np.linalg.lstsq(-H, g, rcond=None)[0]
        t = 1.0
        for _ in range(60):
            new = phi + t * step
            if K <= 2 or np.all(np.diff(new[:K - 1]) > 0):
                ll_new = _cum_logit_derivs(new, y, X, w, K, derivs=False)[0]
                if ll_new >= ll - 1e-12 * abs(ll):
                    break
            t /= 2
        else:  # no step along the Newton direction helps: the optimum to machine precision
            converged = bool(np.max(np.abs(g)) < 1e-6 * max(1.0, abs(ll)))
            break
        phi, ll = new, ll_new
        converged = t == 1.0 and np.max(np.abs(step)) < tol
        if converged or it == max_iter:
            break
        ll, g, H, S = _cum_logit_derivs(phi, y, X, w, K)
    if final_derivs:
        ll, g, H, S = _cum_logit_derivs(phi, y, X, w, K)
    else:
        H = S = None
    return phi, ll, H, S, it, converged, counts


def _covariance(H, S, w2, cov_type: str | None) -> np.ndarray | None:
    if cov_type is None:
        return None
    info_inv = np.linalg.inv(-H)
    if cov_type == "model":
        return info_inv
    if cov_type == "robust":
        meat = (S * w2[:, None]).T @ S
        return info_inv @ meat @ info_inv
    raise ValueError(f"cov_type must be 'model' or 'robust', got {cov_type!r}")


def fit_ordinal_logit(y, X, weights=None, *, names=None, levels=None, cov_type: str = "model",
                      start=None, collapse_rows: bool = True, tol: float = 1e-7, max_iter: int = 200) -> Fit:
    """Proportional-odds cumulative logit, logit P(Y <= k) = theta_k - x'beta (R ``ordinal::clm``).

    y       outcome values (any ordered numbers or codes); `levels` gives their order (default:
            the sorted observed values; a level without respondents is an error).
    X       n x q predictors (no intercept column).
    weights survey weights (pseudo-likelihood); None = unweighted.
    cov_type "model" (inverse observed information, as clm) or "robust" (sandwich, for weights).
    """
    X = _as_2d(X)
    y = np.asarray(y)
    w = _weights(weights, len(y))
    lv = list(np.unique(y)) if levels is None else list(levels)
    if lv == list(range(len(lv))) and np.issubdtype(y.dtype, np.integer):
        code = y  # already codes 0..K-1
    else:
        code = pd.Index(lv).get_indexer(y)
    if np.any(code < 0) or np.any(code >= len(lv)):
        raise ValueError("y has values outside `levels`")
    return _fit_cum_logit("ordinal", code, X, w, lv, names, cov_type, start, collapse_rows, tol, max_iter)


def _fit_cum_logit(family, code, X, w, levels, names, cov_type, start, collapse_rows, tol=1e-7,
                   max_iter=200) -> Fit:
    n, q = X.shape
    names = list(names) if names is not None else [f"x{j + 1}" for j in range(q)]
    K = len(levels)
    w2 = w * w
    if collapse_rows:
        first, _, wg, w2g = collapse([code, *X.T], w)
        if len(first) < 0.7 * n:
            code, X, w, w2 = code[first], X[first], wg, w2g
    phi, ll, H, S, it, conv, counts = _newton_cum_logit(code, X, w, K, start=start, tol=tol, max_iter=max_iter,
                                                        final_derivs=cov_type is not None)
    cov = _covariance(H, S, w2, cov_type)
    ll0 = _null_loglik(counts)
    theta, beta = phi[:K - 1], phi[K - 1:]
    fit = Fit(family=family, names=names, coef=beta, intercept=0.0, thresholds=theta, levels=levels, cov=cov,
              cov_type=cov_type, loglik=ll, loglik_null=ll0, nobs=n, weight_sum=float(counts.sum()),
              iterations=it, converged=conv, r2=1 - ll / ll0 if ll0 < 0 else float("nan"))
    if family == "binary":  # logit P(Y = 1) = -theta + x'beta
        sign = np.r_[-1.0, np.ones(q)]
        fit.intercept, fit.thresholds = float(-theta[0]), np.array([])
        fit.cov = cov * np.outer(sign, sign) if cov is not None else None
    return fit


def fit_logistic(y, X, weights=None, *, names=None, positive=1, cov_type: str = "model", start=None,
                 collapse_rows: bool = True, tol: float = 1e-7, max_iter: int = 200) -> Fit:
    """Logistic regression of 1[y == positive] on X with an intercept (R ``glm(binomial)``)."""
    X = _as_2d(X)
    y = np.asarray(y)
    code = (y == positive).astype(int)
    if code.min() == code.max():
        raise ValueError("the binary outcome has only one value")
    w = _weights(weights, len(y))
    if start is not None:  # given as (intercept, slopes)
        start = np.r_[-start[0], start[1:]]
    return _fit_cum_logit("binary", code, X, w, [0, 1], names, cov_type, start, collapse_rows, tol, max_iter)


def fit_ols(y, X, weights=None, *, names=None, cov_type: str = "model") -> Fit:
    """(Weighted) least squares with an intercept. cov_type "model" (classical) or "robust" (HC1)."""
    X = _as_2d(X)
    y = np.asarray(y, dtype=float)
    n, q = X.shape
    w = _weights(weights, n)
    names = list(names) if names is not None else [f"x{j + 1}" for j in range(q)]
    Z = np.column_stack([np.ones(n), X])
    root = np.sqrt(w)
    coef, *_ = np.linalg.lstsq(Z * root[:, None], y * root, rcond=None)
    resid = y - Z @ coef
    sw = w.sum()
    ybar = w @ y / sw
    sse, sst = w @ resid**2, w @ (y - ybar) ** 2
    p = q + 1
    bread = np.linalg.inv((Z * w[:, None]).T @ Z)
    sigma2 = sse / (n - p)  # precision-weight convention (R lm, statsmodels WLS)
    if cov_type == "model":
        cov = sigma2 * bread
    elif cov_type == "robust":
        meat = (Z * (w * resid) [:, None] ** 2).T @ Z
        cov = bread @ meat @ bread * n / (n - p)
    else:
        raise ValueError(f"cov_type must be 'model' or 'robust', got {cov_type!r}")
    # Gaussian log-likelihood at the MLE of sigma (weights as frequencies), for LR tests
    ll = -0.5 * sw * (np.log(2 * np.pi * sse / sw) + 1)
    ll0 = -0.5 * sw * (np.log(2 * np.pi * sst / sw) + 1)
    return Fit(family="linear", names=names, coef=coef[1:], intercept=float(coef[0]), thresholds=np.array([]),
               levels=[], cov=cov, cov_type=cov_type, loglik=float(ll), loglik_null=float(ll0), nobs=n,
               weight_sum=float(sw), r2=float(1 - sse / sst), sigma=float(np.sqrt(sigma2)))


def standardized_ols(y, X, *, names=None) -> Fit:
    """OLS on z-scored outcome and predictors (R ``lm(scale(y) ~ scale(x1) + ...)``): the slopes
    are the standardized betas; R² is that of the raw model."""
    X = _as_2d(X)
    y = np.asarray(y, dtype=float)
    zx = (X - X.mean(axis=0)) / X.std(axis=0, ddof=1)
    zy = (y - y.mean()) / y.std(ddof=1)
    return fit_ols(zy, zx, names=names)


def fit_model(family: str, y, X, weights=None, **kw) -> Fit:
    """Dispatch on the family: "ordinal", "binary" (y coded 0/1) or "linear"."""
    if family == "ordinal":
        return fit_ordinal_logit(y, X, weights, **kw)
    if family == "binary":
        return fit_logistic(y, X, weights, **kw)
    if family == "linear":
        for key in ("start", "levels", "tol", "max_iter", "collapse_rows"):
            kw.pop(key, None)
        return fit_ols(y, X, weights, **kw)
    raise ValueError(f"family must be one of {FAMILIES}, got {family!r}")


def nested_test(small: Fit, large: Fit, *, added: list[int] | None = None) -> dict:
    """Test that the predictors in `large` but not in `small` add nothing.

    Unweighted (or frequency-weighted) fits: likelihood-ratio test, chi² on the number of added
    parameters (linear: the equivalent F test). Fits with a sandwich covariance ("robust", used with
    survey weights, where the likelihood ratio has no chi² distribution): Wald test of the added
    slopes with the robust covariance. `added` = positions of the added slopes in `large.names`
    (default: names not in `small`).
    """
    if added is None:
        added = [i for i, nm in enumerate(large.names) if nm not in small.names]
    df = len(added)
    delta_r2 = large.r2 - small.r2
    if large.cov_type == "robust":
        offset = len(large.params) - len(large.names)
        idx = [offset + i for i in added]
        b = large.params.values[idx]
        V = large.cov[np.ix_(idx, idx)]
        stat = float(b @ np.linalg.solve(V, b))
        return {"test": "Wald (robust)", "statistic": stat, "df": df, "p_value": float(stats.chi2.sf(stat, df)),
                "delta_r2": delta_r2}
    if large.family == "linear":
        sse_s = (1 - small.r2)
        sse_l = (1 - large.r2)
        df2 = large.nobs - len(large.params)
        F = ((sse_s - sse_l) / df) / (sse_l / df2)
        return {"test": "F", "statistic": float(F), "df": df, "p_value": float(stats.f.sf(F, df, df2)),
                "delta_r2": delta_r2}
    stat = max(2 * (large.loglik - small.loglik), 0.0)
    return {"test": "likelihood ratio", "statistic": float(stat), "df": df,
            "p_value": float(stats.chi2.sf(stat, df)), "delta_r2": delta_r2}
