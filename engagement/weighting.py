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
import io
import math
import warnings
from collections.abc import Hashable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from weightipy.internal.rim import Rake

from .codebook import code_key

__all__ = ["RakeResult", "rake_weights", "weight_diagnostics"]

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
    """

    weights: np.ndarray
    margins: dict[str, dict[Hashable, float]]
    iterations: int
    converged: bool
    max_margin_error: float
    calibration: np.ndarray
    calibration_columns: tuple[str, ...]
    base_weights: np.ndarray


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
    if not converged:
        warnings.warn(
            f"raking did not converge after {iterations} passes: largest margin error {max_error:.3g} "
            f"(share) exceeds tol={tol:g}",
            RuntimeWarning,
            stacklevel=2,
        )
    return RakeResult(
        weights=weights,
        margins=used_margins,
        iterations=iterations,
        converged=converged,
        max_margin_error=max_error,
        calibration=np.column_stack(dummy_columns),
        calibration_columns=tuple(dummy_names),
        base_weights=base,
    )


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
