"""Model fitting, cross-validation and importance for the loyalty study (see `engagement.loyalty`).

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

Out-of-sample comparison: repeated stratified k-fold cross-validation; every model is scored on
the same held-out respondents, so differences between models are paired by fold. Intervals for a
fold-averaged metric and for paired differences use the corrected resampled t of Nadeau & Bengio
(2003, Machine Learning 52:239-281; Bouckaert & Frank 2004): the variance of the fold values is
multiplied by (1/J + n_test/n_train) instead of 1/J, because the J = k x r fold results share
training data and are far from independent; the naive 1/J interval is several times too narrow.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from math import factorial

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
METRICS = ("r2", "nagelkerke", "auc", "gini", "log_loss", "brier", "rmse")
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
    """One integer per row, equal exactly when the rows are equal on every column (mixed radix over
    each column's distinct values; dense group numbers when that would overflow)."""
    n = len(columns[0])
    key = np.zeros(n, dtype=np.int64)
    radix = 1
    for col in columns:
        codes, inverse = np.unique(col, return_inverse=True)
        if radix * len(codes) >= 2**62:  # too many combinations for one integer key
            _, inverse = np.unique(np.column_stack(columns), axis=0, return_inverse=True)
            return inverse.ravel().astype(np.int64)
        key = key * len(codes) + inverse
        radix *= len(codes)
    return key


def collapse(columns: list[np.ndarray], w: np.ndarray):
    """Group identical rows of the given columns: (first row index of each group, group of each row,
    summed weight, summed squared weight). Exact for any likelihood that depends on a row only
    through these columns."""
    key = row_codes(columns)
    _, first, group = np.unique(key, return_index=True, return_inverse=True)
    return first, group, np.bincount(group, w), np.bincount(group, w * w)


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


# ------------------------------------------------------------------------------ metrics


def concordance(score, y, weights=None, max_cells: int = 4_000_000) -> float:
    """Weighted concordance (Harrell's C) of a score with an ordered outcome: the probability that,
    of two respondents with different outcomes, the one with the higher outcome has the higher
    score (ties in score count 1/2). For a 0/1 outcome this is the AUC (= sklearn roc_auc_score).
    Pairs are weighted by the product of the two survey weights."""
    score = np.asarray(score, dtype=float)
    y = np.asarray(y, dtype=float)
    w = _weights(weights, len(y))
    ys, yc = np.unique(y, return_inverse=True)
    ss, sc = np.unique(score, return_inverse=True)
    if len(ys) < 2:
        return float("nan")
    if len(ss) * len(ys) > max_cells:  # very many distinct scores: coarsen to quantile ranks
        bins = max(max_cells // len(ys), 2)
        sc = np.minimum((stats.rankdata(score) - 1) * bins // len(score), bins - 1).astype(int)
        ss = np.arange(bins)
    T = np.bincount(sc * len(ys) + yc, w, minlength=len(ss) * len(ys)).reshape(len(ss), len(ys))
    # C2[i, j] = total weight with score index <= i and outcome index <= j
    C2 = T.cumsum(0).cumsum(1)
    pad = np.zeros((len(ss) + 1, len(ys) + 1))
    pad[1:, 1:] = C2
    lower_both = pad[:-1, :-1]  # score < i, outcome < j
    lower_y = np.r_[0.0, T.sum(0).cumsum()][None, :-1]  # outcome < j (any score)
    same_s_lower_y = np.column_stack([np.zeros(len(ss)), T.cumsum(1)[:, :-1]])  # score == i, outcome < j
    conc = np.sum(T * lower_both)
    ties = np.sum(T * same_s_lower_y)
    pairs = np.sum(T * lower_y)
    return float((conc + 0.5 * ties) / pairs)


def _metrics_fold(family: str, fit: Fit, X_test, y_test, w_test, y_train, w_train) -> dict:
    """Out-of-sample metrics on one held-out fold. The rows may be respondents or collapsed cells;
    the weights must then sum to the number of respondents in the fold (each respondent counts as
    one observation in the Cox–Snell / Nagelkerke formulas)."""
    w = w_test
    eta = fit.linear_predictor(X_test)
    out = dict.fromkeys(METRICS, np.nan)
    auc = concordance(eta, y_test, w)
    out["auc"], out["gini"] = auc, 2 * auc - 1
    N = w.sum()
    if family == "linear":
        mean_train = w_train @ y_train / w_train.sum()
        sse = w @ (y_test - eta) ** 2
        out["r2"] = 1 - sse / (w @ (y_test - mean_train) ** 2)
        out["rmse"] = np.sqrt(sse / N)
        return out
    if family == "binary":
        p1 = special.expit(eta)
        p_obs = np.where(y_test == 1, p1, 1 - p1)
        base = w_train @ y_train / w_train.sum()
        p_null = np.where(y_test == 1, base, 1 - base)
        out["brier"] = w @ (p1 - y_test) ** 2 / N
    else:
        P = fit.predict_proba(X_test)
        K = P.shape[1]
        onehot = np.zeros_like(P)
        onehot[np.arange(len(y_test)), y_test] = 1.0
        p_obs = P[np.arange(len(y_test)), y_test]
        share = np.bincount(y_train, w_train, minlength=K) / w_train.sum()
        p_null = share[y_test]
        out["brier"] = w @ ((P - onehot) ** 2).sum(axis=1) / N
    ll = w @ np.log(np.clip(p_obs, 1e-15, 1))
    ll0 = w @ np.log(np.clip(p_null, 1e-15, 1))
    out["log_loss"] = -ll / N
    out["r2"] = 1 - ll / ll0
    cox_snell = 1 - np.exp(2 * (ll0 - ll) / N)
    out["nagelkerke"] = cox_snell / (1 - np.exp(2 * ll0 / N))
    return out


# ---------------------------------------------------------------------- cross-validation


def stratified_folds(strata, n_splits: int, n_repeats: int, seed: int) -> np.ndarray:
    """(n_repeats, n) fold numbers: in each repeat, every stratum is shuffled and dealt round the
    folds from a random starting fold, so each fold gets its share of every stratum."""
    strata = np.asarray(strata)
    _, code = np.unique(strata, return_inverse=True)
    rng = np.random.default_rng(seed)
    n = len(code)
    folds = np.empty((n_repeats, n), dtype=int)
    order = np.argsort(code, kind="stable")
    starts = np.r_[0, np.flatnonzero(np.diff(code[order])) + 1]
    sizes = np.diff(np.r_[starts, n])
    for r in range(n_repeats):
        perm = np.argsort(code + rng.random(n))  # rows grouped by stratum, random order within
        rank = np.arange(n) - np.repeat(starts, sizes)
        offset = np.repeat(rng.integers(0, n_splits, len(sizes)), sizes)
        folds[r, perm] = (rank + offset) % n_splits
    return folds


def outcome_strata(y, family: str, bins: int = 5) -> np.ndarray:
    """Strata for the folds: the outcome level (ordinal, binary) or its quantile bin (linear)."""
    y = np.asarray(y)
    if family != "linear":
        return y
    ranks = stats.rankdata(y, method="average")
    return np.minimum(((ranks - 1) * bins // len(y)).astype(int), bins - 1)


@dataclass
class CVResult:
    """Fold-level out-of-sample metrics of several models scored on the same folds."""

    family: str
    metrics: dict[str, dict[str, np.ndarray]]  # model -> metric -> value on each fold, (repeat, fold) order
    n_train: float  # mean training-set size
    n_test: float  # mean test-set size
    n: int
    n_splits: int
    n_repeats: int
    seed: int

    @property
    def models(self) -> list[str]:
        return list(self.metrics)

    @property
    def folds(self) -> pd.DataFrame:
        """Tidy table: repeat, fold, model and one column per metric."""
        J = self.n_splits * self.n_repeats
        return pd.concat([pd.DataFrame({"repeat": np.repeat(np.arange(self.n_repeats), self.n_splits),
                                        "fold": np.tile(np.arange(self.n_splits), self.n_repeats),
                                        "model": [m] * J, **vals}) for m, vals in self.metrics.items()],
                         ignore_index=True)

    def values(self, model: str, metric: str) -> np.ndarray:
        """The metric on each of the J = k·r folds, in (repeat, fold) order."""
        return self.metrics[model][metric]

    def summary(self, level: float = 0.95) -> pd.DataFrame:
        """Each model's mean out-of-sample metric with its corrected resampled-t interval."""
        rows = []
        for m in self.models:
            for metric in METRICS:
                v = self.values(m, metric)
                if np.all(np.isnan(v)):
                    continue
                rows.append({"model": m, "metric": metric,
                             **corrected_t_interval(v, self.n_train, self.n_test, level)})
        return pd.DataFrame(rows)

    def difference(self, a: str, b: str, metric: str, level: float = 0.95) -> dict:
        """Paired difference a − b of a metric across the same folds (corrected resampled t)."""
        return corrected_t_interval(self.values(a, metric) - self.values(b, metric), self.n_train,
                                    self.n_test, level)

    def ratio(self, a: str, b: str, metric: str, level: float = 0.95) -> dict:
        """Ratio of fold-averaged metrics a / b with a delta-method interval on the log scale."""
        return corrected_ratio_interval(self.values(a, metric), self.values(b, metric), self.n_train,
                                        self.n_test, level)


class _Patterns:
    """The distinct rows of a design matrix, found once, so that each fold's fit runs on cells —
    (outcome level × pattern) for logit models, patterns with summed weight, weighted sum of y and of
    y² for OLS — instead of on respondents. Exact: the likelihoods depend on a row only through its cell."""

    def __init__(self, X: np.ndarray, y: np.ndarray, K: int | None):
        self.X = X
        key = row_codes(list(X.T))
        _, first, self.code = np.unique(key, return_index=True, return_inverse=True)
        self.unique = X[first]
        self.P = len(first)
        self.K = K
        if K is None:  # linear: sufficient statistics per pattern
            self.useful = self.P < 0.5 * len(X)
            self.key = self.code
        else:
            self.useful = self.P * K < 0.5 * len(X)
            self.key = y * self.P + self.code

    def cells(self, w_part: np.ndarray):
        """(outcome codes, pattern rows, summed weights) of the cells with weight in `w_part` (the
        weights times a 0/1 fold indicator)."""
        wsum = np.bincount(self.key, w_part, minlength=self.K * self.P)
        nz = np.flatnonzero(wsum)
        return nz // self.P, self.unique[nz % self.P], wsum[nz]


def _grouped_ols(pat: _Patterns, y: np.ndarray, w_part: np.ndarray) -> Fit:
    """OLS from per-pattern sums (identical to the row-level fit; X is constant within a pattern)."""
    W = np.bincount(pat.code, w_part, minlength=pat.P)
    keep = W > 0
    Sy = np.bincount(pat.code, w_part * y, minlength=pat.P)[keep]
    Z = np.column_stack([np.ones(keep.sum()), pat.unique[keep]])
    Wk = W[keep]
    coef = np.linalg.lstsq((Z * Wk[:, None]).T @ Z, Z.T @ Sy, rcond=None)[0]
    return Fit(family="linear", names=[f"x{j + 1}" for j in range(pat.X.shape[1])], coef=coef[1:],
               intercept=float(coef[0]), thresholds=np.array([]), levels=[], cov=None, cov_type="none",
               loglik=float("nan"), loglik_null=float("nan"), nobs=int(keep.sum()), weight_sum=float(Wk.sum()))


def cross_validate(y, designs: dict[str, np.ndarray], family: str, weights=None, *, n_splits: int = 5,
                   n_repeats: int = 10, seed: int = 0, strata=None) -> CVResult:
    """Repeated stratified k-fold CV of one model per design matrix, all on the same folds.

    y: ordinal -> integer codes 0..K−1 (every code must occur); binary -> 0/1; linear -> numbers.
    designs: model name -> n x q predictor matrix (no intercept column).
    """
    if family not in FAMILIES:
        raise ValueError(f"family must be one of {FAMILIES}, got {family!r}")
    y = np.asarray(y)
    n = len(y)
    w = _weights(weights, n)
    if family != "linear":
        y = y.astype(int)
    strata = outcome_strata(y, family) if strata is None else strata
    fold_ids = stratified_folds(strata, n_splits, n_repeats, seed)
    K = int(y.max()) + 1 if family == "ordinal" else 2
    levels = list(range(K))
    pats = {name: _Patterns(_as_2d(X), y, None if family == "linear" else K) for name, X in designs.items()}
    J = n_splits * n_repeats
    metrics = {name: {m: np.full(J, np.nan) for m in METRICS} for name in designs}
    sizes = np.zeros((J, 2))
    starts: dict[str, np.ndarray | None] = {}
    for r in range(n_repeats):
        for k in range(n_splits):
            j = r * n_splits + k
            test = fold_ids[r] == k
            train = ~test
            n_te = int(test.sum())
            sizes[j] = n - n_te, n_te
            w_train, w_test = w * train, w * test
            y_tr, w_tr = y[train], w[train]
            for name, pat in pats.items():
                X = pat.X
                if family == "linear":
                    fit = _grouped_ols(pat, y, w_train) if pat.useful else fit_ols(y_tr, X[train], w_tr)
                else:
                    yc, Xc, wc = pat.cells(w_train) if pat.useful else (y_tr, X[train], w_tr)
                    if family == "ordinal":
                        fit = fit_ordinal_logit(yc, Xc, wc, levels=levels, start=starts.get(name),
                                                collapse_rows=False, tol=CV_TOL, cov_type=None)
                        starts[name] = np.concatenate((fit.thresholds, fit.coef))
                    else:
                        fit = fit_logistic(yc, Xc, wc, start=starts.get(name), collapse_rows=False, tol=CV_TOL,
                                           cov_type=None)
                        starts[name] = np.concatenate(([fit.intercept], fit.coef))
                if pat.useful and family != "linear":
                    yt, Xt, wt = pat.cells(w_test)
                else:
                    yt, Xt, wt = y[test], X[test], w[test]
                wt = wt * (n_te / wt.sum())  # weights sum to the fold's respondents
                for m, v in _metrics_fold(family, fit, Xt, yt, wt, y_tr, w_tr).items():
                    metrics[name][m][j] = v
    return CVResult(family=family, metrics=metrics, n_train=float(sizes[:, 0].mean()),
                    n_test=float(sizes[:, 1].mean()), n=n, n_splits=n_splits, n_repeats=n_repeats, seed=seed)


def corrected_t_interval(values, n_train: float, n_test: float, level: float = 0.95) -> dict:
    """Mean of J fold results with the Nadeau–Bengio corrected resampled-t interval and p-value
    (H0: mean 0): Var = (1/J + n_test/n_train)·s², t on J − 1 df."""
    v = np.asarray(values, dtype=float)
    J = len(v)
    mean = float(v.mean())
    s2 = float(v.var(ddof=1)) if J > 1 else float("nan")
    se = float(np.sqrt((1 / J + n_test / n_train) * s2))
    q = float(stats.t.ppf((1 + level) / 2, J - 1))
    t = mean / se if se > 0 else float("nan")
    return {"estimate": mean, "se": se, "ci_low": mean - q * se, "ci_high": mean + q * se,
            "p_value": float(2 * stats.t.sf(abs(t), J - 1)) if se > 0 else float("nan"), "df": J - 1}


def corrected_ratio_interval(a, b, n_train: float, n_test: float, level: float = 0.95) -> dict:
    """mean(a) / mean(b) of paired fold results; interval exp(log R ± t·se), se from the delta method
    on the Nadeau–Bengio-corrected covariance of the two fold means. Needs both means > 0."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    J = len(a)
    ma, mb = a.mean(), b.mean()
    out = {"estimate": float("nan"), "se_log": float("nan"), "ci_low": float("nan"), "ci_high": float("nan")}
    if ma <= 0 or mb <= 0 or J < 2:
        return out
    S = np.cov(np.vstack([a, b]), ddof=1) * (1 / J + n_test / n_train)
    var_log = S[0, 0] / ma**2 + S[1, 1] / mb**2 - 2 * S[0, 1] / (ma * mb)
    se = float(np.sqrt(max(var_log, 0.0)))
    q = float(stats.t.ppf((1 + level) / 2, J - 1))
    r = ma / mb
    return {"estimate": float(r), "se_log": se, "ci_low": float(r * np.exp(-q * se)),
            "ci_high": float(r * np.exp(q * se))}


# -------------------------------------------------------------------- dominance analysis


def general_dominance(r2: dict[tuple, float], p: int) -> np.ndarray:
    """Shapley / LMG decomposition: each predictor's weighted average increase in R² when it joins a
    subset of the others (weights |S|!(p−|S|−1)!/p!). `r2` maps every sorted tuple of column indices
    to its R² (the empty tuple -> 0); the values may be arrays (one per bootstrap replicate), giving
    an array of shape (p, ...). The parts sum to the full model's R²."""
    out = [0.0] * p
    for j in range(p):
        others = [i for i in range(p) if i != j]
        for size in range(p):
            wt = factorial(size) * factorial(p - size - 1) / factorial(p)
            for S in combinations(others, size):
                out[j] = out[j] + wt * (r2[tuple(sorted((*S, j)))] - r2[S])
    return np.array(out, dtype=float)


def _cell_matrix(group: np.ndarray, n_groups: int):
    """Sparse (groups x rows) 0/1 matrix that sums rows into their group."""
    from scipy import sparse

    return sparse.csr_matrix((np.ones(len(group)), (group, np.arange(len(group)))), shape=(n_groups, len(group)))


class _SubsetR2:
    """R² (linear) or McFadden pseudo-R² of every subset of predictors, on a fixed set of (y, x) cells,
    for the full-sample weights and for a matrix of bootstrap weights (cells x replicates).

    Logit models: each subset is fitted once on the full sample; a replicate takes one Newton step from
    that estimate, for all replicates at once (the gradient and Hessian are linear in the weights).
    This is the one-step bootstrap (Andrews 2002, Econometrica 70:119): its replicates differ from full
    refits by O(n^-1) — on the default survey by < 1e-5 in every interval end (tested)."""

    def __init__(self, family: str, y: np.ndarray, X: np.ndarray, w: np.ndarray):
        self.family, self.y, self.X = family, y, X
        self.p = X.shape[1]
        self.subsets = [S for k in range(1, self.p + 1) for S in combinations(range(self.p), k)]
        self.full: dict[tuple, float] = {(): 0.0}
        self.parts: dict[tuple, dict] = {}
        if family == "linear":
            D = np.column_stack([y, X])
            self.D2 = (D[:, :, None] * D[:, None, :]).reshape(len(y), -1)
            self.D = D
            for S, r in self._linear(w[:, None]).items():
                self.full[S] = float(r[0])
            return
        K = int(y.max()) + 1 if family == "ordinal" else 2
        for S in self.subsets:
            first, g, wS, _ = collapse([y, *X[:, list(S)].T], w)
            yS, XS = y[first], X[first][:, list(S)]
            phi, ll, H, Sc, *_, counts = _newton_cum_logit(yS, XS, wS, K)
            self.full[S] = 1 - ll / _null_loglik(counts)
            A, Bm, up, lo = _cum_logit_design(yS, XS, K)
            self.parts[S] = {"M": _cell_matrix(g, len(first)), "y": yS, "A": A, "B": Bm, "up": up, "lo": lo,
                             "phi": phi, "score": Sc, "hess": _cum_logit_cell_hessians(phi, yS, XS, K), "K": K}

    def _linear(self, W: np.ndarray) -> dict[tuple, np.ndarray]:
        sw = W.sum(axis=0)
        mean = (self.D.T @ W) / sw  # (p+1) x B
        second = ((self.D2.T @ W) / sw).T.reshape(W.shape[1], self.p + 1, self.p + 1)
        C = second - mean.T[:, :, None] * mean.T[:, None, :]
        out = {}
        for S in self.subsets:
            idx = [1 + j for j in S]
            c = C[:, 0, idx]
            beta = np.linalg.solve(C[:, idx][:, :, idx], c[:, :, None])[:, :, 0]
            out[S] = np.sum(c * beta, axis=1) / C[:, 0, 0]
        return out

    def boot(self, W: np.ndarray) -> dict[tuple, np.ndarray]:
        """R² of every subset for each column of cell weights W (cells x replicates)."""
        out: dict[tuple, np.ndarray] = {(): np.zeros(W.shape[1])}
        if self.family == "linear":
            return out | self._linear(W)
        for S, part in self.parts.items():
            WS = np.asarray(part["M"] @ W)  # subset cells x B
            K, phi = part["K"], part["phi"]
            G = part["score"].T @ WS  # P x B
            P = len(phi)
            H = (part["hess"].T @ WS).T.reshape(-1, P, P)
            Phi = phi[:, None] + np.linalg.solve(-H, G.T[:, :, None])[:, :, 0].T
            counts = np.stack([WS[part["y"] == k].sum(axis=0) for k in range(K)])  # K x B
            share = counts / counts.sum(axis=0)
            ll0 = np.sum(np.where(counts > 0, counts * np.log(np.where(share > 0, share, 1)), 0.0), axis=0)
            out[S] = 1 - _cum_logit_loglik_batch(Phi, part, WS) / ll0
        return out


def _cum_logit_cell_hessians(phi, y, X, K) -> np.ndarray:
    """Each row's (unweighted) Hessian of log p at phi, flattened: n x P². The Hessian of a weighted
    log-likelihood is the weighted sum of these rows."""
    A, B, up, lo = _cum_logit_design(y, X, K)
    _, _, alpha, beta, gamma = _cum_logit_curvature(*_cum_logit_prob(A @ phi, B @ phi, up, lo))
    outer = lambda L, R: (L[:, :, None] * R[:, None, :]).reshape(len(y), -1)  # noqa: E731
    return alpha[:, None] * outer(A, A) + beta[:, None] * outer(B, B) + gamma[:, None] * (outer(A, B) + outer(B, A))


def _cum_logit_loglik_batch(Phi: np.ndarray, part: dict, W: np.ndarray) -> np.ndarray:
    """log-likelihood for each column of parameters Phi (P x B) with weights W (cells x B)."""
    _, _, p = _cum_logit_prob(part["A"] @ Phi, part["B"] @ Phi, part["up"][:, None], part["lo"][:, None])
    return np.sum(W * np.log(p), axis=0)


def dominance_analysis(family: str, y, X, names: list[str], weights=None, *, n_boot: int = 200,
                       seed: int = 0, level: float = 0.95) -> pd.DataFrame:
    """General dominance (Shapley/LMG) of R² (linear) or McFadden pseudo-R² (ordinal, binary; Azen &
    Traxel 2009) with percentile bootstrap intervals (respondents resampled with replacement;
    n_boot = 0 gives point estimates only).

    Columns: predictor, dominance (its share of R² in R² units), share (of the full R²), ci_low,
    ci_high (of dominance), share_ci_low, share_ci_high."""
    X = _as_2d(X)
    y = np.asarray(y)
    n, p = X.shape
    w = _weights(weights, n)
    if family != "linear":
        y = y.astype(int)
    # identical (y, x) rows collapsed once; a bootstrap replicate only changes the cell weights
    first, group, wg, _ = collapse([y, *X.T], w)
    yg, Xg = y[first], X[first]
    table = _SubsetR2(family, yg, Xg, wg)
    est = general_dominance(table.full, p)
    total = table.full[tuple(range(p))]
    res = pd.DataFrame({"predictor": names, "dominance": est, "share": est / total})
    if n_boot <= 0:
        return res.assign(ci_low=np.nan, ci_high=np.nan, share_ci_low=np.nan, share_ci_high=np.nan)
    rng = np.random.default_rng(seed)
    W = np.empty((len(first), n_boot))  # cells x replicates
    for b in range(n_boot):  # respondents drawn with replacement
        idx = rng.integers(0, n, n)
        W[:, b] = np.bincount(group[idx], w[idx], minlength=len(first))
    if family != "linear":
        K = int(yg.max()) + 1
        present = np.stack([W[yg == k].sum(axis=0) for k in range(K)]) > 0
        W = W[:, present.all(axis=0)]  # a replicate that lost an outcome level is left out
    boot = general_dominance(table.boot(W), p).T  # replicates x p
    alpha = (1 - level) / 2
    lo, hi = np.nanquantile(boot, [alpha, 1 - alpha], axis=0)
    shares = boot / boot.sum(axis=1, keepdims=True)
    slo, shi = np.nanquantile(shares, [alpha, 1 - alpha], axis=0)
    return res.assign(ci_low=lo, ci_high=hi, share_ci_low=slo, share_ci_high=shi)
