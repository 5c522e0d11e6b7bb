"""Out-of-sample comparison for the loyalty study: concordance, fold metrics, repeated stratified
k-fold cross-validation.

Every model is scored on
the same held-out respondents, so differences between models are paired by fold. Intervals for a
fold-averaged metric and for paired differences use the corrected resampled t of Nadeau & Bengio
(2003, Machine Learning 52:239-281; Bouckaert & Frank 2004): the variance of the fold values is
multiplied by (1/J + n_test/n_train) instead of 1/J, because the J = k x r fold results share
training data and are far from independent; the naive 1/J interval is several times too narrow.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special, stats

from .models import CV_TOL, FAMILIES, Fit, _as_2d, _weights, fit_logistic, fit_ols, fit_ordinal_logit, row_codes

METRICS = ("r2", "nagelkerke", "auc", "gini", "log_loss", "brier", "rmse")


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
