"""Number formatting shared by the loyalty study's verdict text and report tables."""

from __future__ import annotations

import numpy as np
import pandas as pd


def fmt_ci(est, lo, hi, digits: int = 2, percent: bool = False) -> str:
    """"0.41 (0.38 to 0.44)", or "41.0% (38.0–44.0)" with `percent`; "–" when not finite."""
    if est is None or not np.isfinite(est):
        return "–"
    if percent:
        return f"{100 * est:.{max(digits - 1, 0)}f}% ({100 * lo:.{max(digits - 1, 0)}f}–{100 * hi:.{max(digits - 1, 0)}f})"
    return f"{est:.{digits}f} ({lo:.{digits}f} to {hi:.{digits}f})"


def fmt_p(p) -> str:
    if p is None or not np.isfinite(p):
        return "–"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def nice(x: float) -> float:
    """Round to two significant digits."""
    if not np.isfinite(x) or x <= 0:
        return x
    mag = 10 ** np.floor(np.log10(x) - 1)
    return float(np.round(x / mag) * mag)


def records(df: pd.DataFrame) -> list[dict]:
    return df.to_dict(orient="records") if len(df) else []


def unless_not_estimated(fn):
    """Decorator for section and figure functions: a `NotEstimated` first argument is returned as it
    is, so the notebook's show cell displays its reason instead of failing."""
    import functools

    from ...degrade import NotEstimated

    @functools.wraps(fn)
    def wrapper(result, *args, **kwargs):
        if isinstance(result, NotEstimated):
            return result
        return fn(result, *args, **kwargs)

    return wrapper
