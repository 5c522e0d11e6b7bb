"""Raking (iterative proportional fitting) to population margins, and weight diagnostics.

The IPF itself is done by weightipy.  What this module adds is what a survey analysis
needs around it: strict checks that the sample and the margins describe the same
categories, base (design) weights, a convergence verdict against an absolute margin
tolerance, and the margin-dummy matrix that `survey_stats.Design` uses to make standard
errors reflect the raking (GREG linearization, as R's ``survey::rake`` does).

Conventions follow R's ``rake(design, ..., population = N * share)`` with N = n: the
final weights sum to the number of respondents n.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import math
import warnings
from collections.abc import Hashable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import expit
from weightipy.internal.rim import Rake

from .codebook import code_key

__all__ = [
    "CalibrationDidNotConverge",
    "RakeResult",
    "calibrate_to_codebook",
    "calibrate_weights",
    "logit_calibration",
    "rake_weights",
    "trim_weights",
    "weight_diagnostics",
]


class CalibrationDidNotConverge(RuntimeError):
    """The weights do not meet the margins (raking or bounded calibration did not converge), and
    the codebook asks for an error rather than flagged estimates."""

# Shares of one margin may miss 1 by this much (rounded codebook shares); they are then
# rescaled to sum to exactly 1 so that every margin totals n.
_SHARE_SUM_TOLERANCE = 1e-6


@dataclass(frozen=True, eq=False)
class RakeResult:
    """Outcome of `rake_weights`.

    weights              final weights, in data row order, summing to n.
    margins              the population shares used, per raking variable (rescaled to sum to 1).
    iterations           full IPF passes (one pass adjusts every margin once, in order).
    converged            every achieved margin total is within ``tol * n`` of its target.
    max_margin_error     largest |achieved - target| share over all margins and levels.
    calibration          n x p matrix: intercept, then for each margin the dummies of all
                         levels but the first.  Residualizing linearized scores on it gives
                         the raking-adjusted variance (see `survey_stats.Design`).
    calibration_columns  names of those p columns, e.g. ``"gender=Male"``.
    base_weights         the weights raking started from (ones when none were given).
    calibrated_weights   the calibrated weights before trimming, when ``weights`` were trimmed
                         (`trim_weights`); None otherwise.  `survey_stats.Design` uses them for
                         the variance as R does after ``trimWeights``.
    flag                 set when the calibration did not converge: every estimate from the
                         design carries it (`survey_stats.Design.flag`).
    method               "raking" or "logit" (bounded calibration).
    trimmed              number of weights trimmed to a bound (0 without trimming).
    """

    weights: np.ndarray
    margins: dict[str, dict[Hashable, float]]
    iterations: int
    converged: bool
    max_margin_error: float
    calibration: np.ndarray
    calibration_columns: tuple[str, ...]
    base_weights: np.ndarray
    calibrated_weights: np.ndarray | None = None
    flag: str | None = None
    method: str = "raking"
    trimmed: int = 0


def _canonical_shares(column: str, shares: Mapping[Hashable, float]) -> dict[str, tuple[Hashable, float]]:
    """Validate one margin; return {canonical level: (level as given, share rescaled to sum 1)}."""
    if not shares:
        raise ValueError(f"margin for {column!r} has no levels")
    out: dict[str, tuple[Hashable, float]] = {}
    for level, share in shares.items():
        key = code_key(level)
        if key in out:
            raise ValueError(f"margin for {column!r} lists level {level!r} twice (as {out[key][0]!r} and {level!r})")
        share = float(share)
        if not math.isfinite(share) or share < 0:
            raise ValueError(
                f"margin for {column!r}: share of level {level!r} must be a finite number >= 0, got {share}"
            )
        out[key] = (level, share)
    total = sum(s for _, s in out.values())
    if abs(total - 1.0) > _SHARE_SUM_TOLERANCE:
        raise ValueError(f"margin for {column!r}: shares sum to {total:.10g}, expected 1")
    return {k: (level, s / total) for k, (level, s) in out.items()}


def _canonical_column(df: pd.DataFrame, column: str) -> np.ndarray:
    """The raking variable as canonical level text; missing values are an error."""
    if column not in df.columns:
        raise ValueError(f"raking variable {column!r} is not a column of the data")
    values = df[column]
    n_missing = int(values.isna().sum())
    if n_missing:
        raise ValueError(
            f"raking variable {column!r} has {n_missing} missing value(s); impute or drop them before raking"
        )
    codes, uniques = pd.factorize(values)
    keys = np.array([code_key(u) for u in uniques], dtype=object)
    return keys[codes]


def _base_weights(df: pd.DataFrame, base_weight: str | np.ndarray | pd.Series | None) -> np.ndarray:
    if base_weight is None:
        return np.ones(len(df))
    if isinstance(base_weight, str):
        if base_weight not in df.columns:
            raise ValueError(f"base weight column {base_weight!r} is not a column of the data")
        base = df[base_weight].to_numpy(dtype=float)
    else:
        base = np.asarray(base_weight, dtype=float)
    if base.shape != (len(df),):
        raise ValueError(f"base_weight has shape {base.shape}, expected ({len(df)},)")
    if not np.all(np.isfinite(base)) or np.any(base <= 0):
        raise ValueError("base weights must be finite and > 0")
    return base


def rake_weights(
    df: pd.DataFrame,
    margins: Mapping[str, Mapping[Hashable, float]],
    base_weight: str | np.ndarray | pd.Series | None = None,
    max_iter: int = 1000,
    tol: float = 1e-13,
) -> RakeResult:
    """Rake weights so that the weighted share of every level of every margin hits its target.

    ``margins`` maps a column to {level: population share}; levels are matched to the data
    by value, so ``0``/``"0"``/``0.0`` are the same level.  ``base_weight`` (a column name
    or an array in row order) seeds the IPF; the result is scaled to sum to n.

    Raises ValueError naming the column (and level) when a raking variable has missing
    values, a data level has no share, a level with a positive share has no respondents,
    a level with respondents has share 0, or the shares of a margin do not sum to 1.
    A margin level with share 0 and no respondents is accepted and ignored.

    ``converged`` is True when every achieved margin total is within ``tol * n`` of its
    target; a RuntimeWarning is issued when it is not.
    """
    if not margins:
        raise ValueError("margins is empty: nothing to rake to")
    n = len(df)
    if n == 0:
        raise ValueError("cannot rake an empty data frame")
    base = _base_weights(df, base_weight)

    # weightipy works on a frame of its own: raking variable i is column f"v{i}" (so no
    # user column name can collide with its weight column), coded as canonical level text.
    frame: dict[str, np.ndarray] = {}
    targets: list[dict[str, dict[str, float]]] = []
    used_margins: dict[str, dict[Hashable, float]] = {}
    dummy_columns: list[np.ndarray] = [np.ones(n)]
    dummy_names: list[str] = ["(Intercept)"]
    for i, (column, shares) in enumerate(margins.items()):
        canon = _canonical_shares(column, shares)
        keys = _canonical_column(df, column)
        observed = pd.Series(keys).value_counts()
        for key, count in observed.items():
            if key not in canon:
                raise ValueError(
                    f"raking variable {column!r}: level {key!r} occurs in the data ({count} rows) "
                    "but has no population share in margins"
                )
            if canon[key][1] == 0:
                raise ValueError(
                    f"raking variable {column!r}: level {canon[key][0]!r} has {count} respondents "
                    "but a population share of 0; drop those respondents instead"
                )
        for key, (level, share) in canon.items():
            if share > 0 and key not in observed.index:
                raise ValueError(
                    f"raking variable {column!r}: margin level {level!r} (share {share:g}) has no respondents"
                )
        populated = [key for key in canon if key in observed.index]
        frame[f"v{i}"] = keys
        # weightipy wants percentages per level; it turns them into totals pct/100 * n.
        targets.append({f"v{i}": {key: 100.0 * canon[key][1] for key in populated}})
        used_margins[column] = {level: share for level, share in canon.values()}
        for key in populated[1:]:
            dummy_columns.append((keys == key).astype(float))
            dummy_names.append(f"{column}={canon[key][0]}")

    # weightipy's public entry point (``weightipy.weight`` with a ``Rim`` scheme) always
    # starts the IPF from weights of 1 and has no base-weight argument, so its IPF engine
    # ``Rake`` is used directly and seeded with the base weights.  weightipy has no absolute
    # tolerance either: it stops when the change in the weights between passes shrinks by
    # less than the fraction ``convcrit``.  With ``convcrit=0`` it iterates for as long as
    # that change still shrinks, i.e. to floating-point precision for a feasible problem;
    # whether that met ``tol`` is then checked on the achieved margins below.
    engine = Rake(pd.DataFrame(frame), targets, "weight", max_iterations=max_iter, convcrit=0.0)
    engine.dataframe["weight"] = base
    with contextlib.redirect_stdout(io.StringIO()):  # weightipy prints its convergence notes
        counter = engine.start()
    weights = engine.dataframe["weight"].to_numpy(dtype=float, copy=True)
    # ``counter`` is the pass at whose start weightipy saw no further improvement, so
    # counter - 1 passes ran (all max_iter when it never stopped early).
    iterations = counter - 1 if counter < max_iter else max_iter

    max_error = 0.0
    for target in targets:
        ((name, percents),) = target.items()
        for key, pct in percents.items():
            achieved = weights[frame[name] == key].sum() / n
            max_error = max(max_error, abs(achieved - pct / 100.0))
    converged = max_error <= tol
    flag = None
    if not converged:
        flag = (f"raking did not converge after {iterations} passes: largest margin error {max_error:.3g} "
                f"(share) exceeds tol={tol:g}; standard errors assume margins the weights do not meet")
        warnings.warn(flag, RuntimeWarning, stacklevel=2)
    return RakeResult(
        weights=weights,
        margins=used_margins,
        iterations=iterations,
        converged=converged,
        max_margin_error=max_error,
        calibration=np.column_stack(dummy_columns),
        calibration_columns=tuple(dummy_names),
        base_weights=base,
        flag=flag,
    )


def _calibration_targets(result: RakeResult) -> np.ndarray:
    """Population totals of the calibration columns (intercept n, then n * share of each dummy's
    level), in the order of ``result.calibration_columns``."""
    n = result.weights.size
    totals = [float(n)]
    for name in result.calibration_columns[1:]:
        column, level_text = name.split("=", 1)
        shares = result.margins[column]
        (share,) = [s for level, s in shares.items() if str(level) == level_text]
        totals.append(n * share)
    return np.array(totals)


def _logit_g(eta_x: np.ndarray, lower: float, upper: float) -> tuple[np.ndarray, np.ndarray]:
    """g-weights of R's ``cal.logit`` and their derivative, at u = X eta: g runs from ``lower``
    (u -> -inf) to ``upper`` (u -> +inf), with g(0) = 1.  R's closed form
    (L (U-1) + U (1-L) e^{Au}) / (U-1 + (1-L) e^{Au}) is written as L + (U - L) q with
    q = expit(A u + log((1-L)/(U-1))), which does not overflow."""
    a = (upper - lower) / ((upper - 1) * (1 - lower))
    q = expit(a * eta_x + math.log((1 - lower) / (upper - 1)))
    return lower + (upper - lower) * q, (upper - lower) * a * q * (1 - q)


def logit_calibration(
    df: pd.DataFrame,
    margins: Mapping[str, Mapping[Hashable, float]],
    bounds: tuple[float, float],
    base_weight: str | np.ndarray | pd.Series | None = None,
    max_iter: int = 100,
    tol: float = 1e-13,
) -> RakeResult:
    """Bounded calibration to the margins with the logit distance (R: ``calibrate(design,
    ~margins, population, calfun = "logit", bounds = c(lower, upper))``): w = d g with every
    g-weight g = w / d strictly inside (lower, upper), lower < 1 < upper, and the weighted margins
    equal to the targets.  The base weights d are first scaled to sum to n (so the bounds are
    relative to a mean weight of 1).  Newton's method as R's ``grake`` (step halving when a step
    leaves the domain); converged when every calibration total is within ``tol * n`` of its
    target (R: ``epsilon``, relative to 1 + the target).  Bounds too tight for the margins make
    the problem infeasible: then ``converged`` is False and ``flag`` says so.
    """
    lower, upper = (float(b) for b in bounds)
    if not (0 <= lower < 1 < upper) or not math.isfinite(upper):
        raise ValueError(f"calibration bounds must satisfy 0 <= lower < 1 < upper < inf, got {bounds!r}")
    base = _base_weights(df, base_weight)
    # the margin checks and the calibration matrix of rake_weights, without running its IPF to the end
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        skeleton = rake_weights(df, margins, base_weight=base, max_iter=1)
    n = base.size
    d = base * n / base.sum()
    x = skeleton.calibration
    targets = _calibration_targets(skeleton)
    eta = np.zeros(x.shape[1])
    g, dg = _logit_g(x @ eta, lower, upper)
    iterations = 0
    while True:
        misfit = targets - x.T @ (d * g)
        if np.max(np.abs(misfit)) <= tol * n or iterations >= max_iter:
            break
        jacobian = x.T @ ((d * dg)[:, None] * x)
        if not np.all(np.isfinite(jacobian)):
            break
        step = np.linalg.pinv(jacobian, rcond=256 * np.finfo(float).eps) @ misfit  # R: MASS::ginv
        eta = eta + step
        g, dg = _logit_g(x @ eta, lower, upper)
        halvings = 0
        while not (np.all(np.isfinite(g)) and np.all(np.isfinite(dg))) and halvings < 50:
            step, halvings = step / 2, halvings + 1
            eta = eta - step
            g, dg = _logit_g(x @ eta, lower, upper)
        iterations += 1
    weights = d * g
    max_error = float(np.max(np.abs(targets - x.T @ weights)) / n)
    converged = max_error <= tol
    flag = None
    if not converged:
        flag = (f"bounded (logit) calibration with bounds ({lower:g}, {upper:g}) did not converge after "
                f"{iterations} Newton steps: largest margin error {max_error:.3g} (share); the bounds may be "
                "too tight for the margins, and standard errors assume margins the weights do not meet")
        warnings.warn(flag, RuntimeWarning, stacklevel=2)
    return RakeResult(
        weights=weights,
        margins=skeleton.margins,
        iterations=iterations,
        converged=converged,
        max_margin_error=max_error,
        calibration=x,
        calibration_columns=skeleton.calibration_columns,
        base_weights=d,
        flag=flag,
        method="logit",
    )


def trim_weights(
    weights: np.ndarray, lower: float | None = None, upper: float | None = None, strict: bool = False
) -> tuple[np.ndarray, int]:
    """Trim weights to [lower, upper] and share what was cut equally among the weights that were
    inside (R: ``trimWeights(design, upper, lower, strict)``): the total is unchanged.  Without
    ``strict`` one pass is made, so a redistributed weight may end up just past a bound (as in R);
    with ``strict`` the trimming repeats until every weight is within the bounds.  Returns the new
    weights and the number of weights set to a bound."""
    w = np.asarray(weights, dtype=float).copy()
    lo = -np.inf if lower is None else float(lower)
    hi = np.inf if upper is None else float(upper)
    if lo >= hi:
        raise ValueError(f"trimming bounds must satisfy lower < upper, got ({lower}, {upper})")
    if hi * w.size < w.sum() or lo * w.size > w.sum():
        raise ValueError(f"trimming bounds ({lower}, {upper}) cannot hold weights that sum to {w.sum():g}")
    trimmed = np.zeros(w.size, dtype=bool)
    for _ in range(10_000):
        outside = (w < lo) | (w > hi)
        if not outside.any():
            break
        trimmed |= outside
        new = np.clip(w, lo, hi)
        new[~outside] += (w - new).sum() / np.sum(~outside)
        w = new
        if not strict:
            break
    return w, int(trimmed.sum())


def calibrate_weights(
    df: pd.DataFrame,
    margins: Mapping[str, Mapping[Hashable, float]],
    base_weight: str | np.ndarray | pd.Series | None = None,
    method: str = "raking",
    bounds: tuple[float, float] | None = None,
    trim: tuple[float | None, float | None] | None = None,
    trim_strict: bool = False,
    on_nonconvergence: str = "flag",
) -> RakeResult:
    """Calibrated weights with the guard rails of the codebook's ``weighting`` section.

    method="raking" (`rake_weights`) or "logit" (`logit_calibration`, needs ``bounds``); then
    optional trimming to ``trim`` = (lower, upper) on the scale of the final weights (mean 1),
    `trim_weights`.  When the calibration does not converge: ``on_nonconvergence="error"`` raises
    `CalibrationDidNotConverge`; "flag" returns the weights with ``flag`` set, which every estimate
    from `survey_stats.Design.from_rake` then carries.
    """
    if on_nonconvergence not in ("error", "flag"):
        raise ValueError(f"on_nonconvergence must be 'error' or 'flag', got {on_nonconvergence!r}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # reported below, as an error or a flag
        if method == "raking":
            result = rake_weights(df, margins, base_weight=base_weight)
        elif method == "logit":
            if bounds is None:
                raise ValueError("logit calibration needs bounds (lower, upper) on the g-weights")
            result = logit_calibration(df, margins, bounds, base_weight=base_weight)
        else:
            raise ValueError(f"calibration method must be 'raking' or 'logit', got {method!r}")
    if not result.converged:
        if on_nonconvergence == "error":
            raise CalibrationDidNotConverge(result.flag)
        warnings.warn(result.flag, RuntimeWarning, stacklevel=2)
    if trim is not None and any(b is not None for b in trim):
        trimmed, count = trim_weights(result.weights, trim[0], trim[1], strict=trim_strict)
        if count:
            result = dataclasses.replace(result, weights=trimmed, calibrated_weights=result.weights, trimmed=count)
    return result


def calibrate_to_codebook(df: pd.DataFrame, cb, base_weight=None) -> RakeResult:
    """`calibrate_weights` with the settings of the codebook's ``weighting`` section."""
    spec = cb.weighting
    trim = (spec.trim_lower, spec.trim_upper) if (spec.trim_lower, spec.trim_upper) != (None, None) else None
    return calibrate_weights(df, cb.margins, base_weight=base_weight, method=spec.method,
                             bounds=tuple(spec.bounds) if spec.bounds else None, trim=trim,
                             trim_strict=spec.trim_strict, on_nonconvergence=spec.on_nonconvergence)


def weight_diagnostics(w: np.ndarray | pd.Series) -> dict[str, float]:
    """Summary of a weight vector: spread, Kish effective sample size and design effect.

    kish_ess = (sum w)^2 / sum w^2 and kish_deff = n / kish_ess (the variance inflation of
    a mean due to unequal weights alone); sd uses n - 1.
    """
    w = np.asarray(w, dtype=float)
    if w.ndim != 1 or w.size == 0:
        raise ValueError("weights must be a non-empty 1-d array")
    if not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
        raise ValueError("weights must be finite, >= 0 and not all zero")
    n = w.size
    ess = w.sum() ** 2 / np.sum(w**2)
    return {
        "n": n,
        "sum": float(w.sum()),
        "min": float(w.min()),
        "max": float(w.max()),
        "mean": float(w.mean()),
        "sd": float(w.std(ddof=1)) if n > 1 else float("nan"),
        "kish_ess": float(ess),
        "kish_deff": float(n / ess),
        "ratio_max_min": float(w.max() / w.min()) if w.min() > 0 else float("inf"),
    }
