"""Is there a persona structure at all? A verdict the summary can carry — "clear", "weak" or
"none" — with its evidence, so that weakly separated segments are not presented as firm.

* **none**: the rule chose one persona (no solution with two or more passes it).
* **clear**: personas chosen, and every piece of evidence is strong: relative entropy (how clearly
  customers are classified) ≥ 0.8, bootstrap stability from independent starts (mean ARI) ≥ 0.8,
  agreement with k-means ≥ 0.5 (ARI; a different method finds a similar grouping), and the typing
  tool types every persona correctly for at least 70% of its members (cross-validated).
* **weak**: personas chosen by the rule, but at least one piece of evidence falls short; the
  sentence names which. Report such personas as tentative: "no clear structure".

The thresholds are conventions of latent class practice (entropy ≥ 0.8 is "good" classification;
ARI ≥ 0.8 "stable"), stated here before seeing data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from .fit import PersonaFit
    from .typing_tool import TypingToolResult

CLEAR_ENTROPY = 0.8
CLEAR_STABILITY = 0.8
CLEAR_KMEANS_ARI = 0.5
CLEAR_TYPING_ACCURACY = 0.7


@dataclass(frozen=True)
class Structure:
    """`assess_structure(fit, typing)`: `verdict` "clear" / "weak" / "none", a plain `sentence`, and
    the `evidence` (entropy, stability, k-means agreement, typing accuracy per persona, …)."""

    verdict: str
    sentence: str
    evidence: dict = field(default_factory=dict)
    checks: tuple = ()  # (criterion, value, threshold, passes)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(list(self.checks), columns=["criterion", "value", "threshold", "passes"])


def _finite(x) -> float | None:
    return float(x) if x is not None and np.isfinite(x) else None


def typing_accuracy_by_persona(typing: TypingToolResult | None) -> dict[int, float]:
    """Cross-validated share of each persona's members the typing tool puts back in it."""
    if typing is None or getattr(typing, "confusion", None) is None:  # none, or NotEstimated
        return {}
    conf = typing.confusion
    return {int(p): float(conf.loc[p, p] / conf.loc[p].sum()) if p in conf.columns else 0.0 for p in conf.index}


def stability_by_persona(fit: PersonaFit) -> dict[int, float]:
    """Mean share of each persona's members that a bootstrap refit keeps together (label-matched)."""
    if fit.bootstrap is None:
        return {}
    means = np.nanmean(fit.bootstrap.agreement, axis=0)
    return {int(fit.class_numbers[c]): float(means[c]) for c in range(len(means))}


def assess_structure(fit: PersonaFit, typing: TypingToolResult | None = None) -> Structure:
    """The structure verdict of a persona solution and its evidence (see the module docstring)."""
    if fit.skipped:
        return Structure("none", f"Personas were not analysed: {fit.skipped}", {"k": 0})
    row = fit.table.loc[fit.table["k"] == fit.k].iloc[0]
    typing_by = typing_accuracy_by_persona(typing)
    evidence = {
        "k": int(fit.k),
        "relative_entropy": _finite(row["relative_entropy"]),
        "stability_ari": _finite(fit.stability),
        "stability_by_persona": {str(p): v for p, v in stability_by_persona(fit).items()},
        "kmeans_ari": _finite(fit.kmeans_ari),
        "typing_accuracy": (None if getattr(typing, "tool", None) is None
                            else float(typing.tool.accuracy["cv_accuracy"])),
        "typing_accuracy_by_persona": {str(p): v for p, v in typing_by.items()},
        "best_loglik_share": _finite(row.get("best_loglik_share")),
        "cap_binds": bool(fit.cap_binds),
        "bic_best_k": int(fit.bic_best_k),
    }
    if fit.k == 1:
        best = fit.table.loc[fit.table["bic"].idxmin()]
        return Structure("none", "No clear persona structure: no solution with two or more personas passes the "
                         f"rule (lowest BIC at k = {int(best['k'])}); the customers are best described as one group.",
                         evidence)
    checks = [("relative entropy", evidence["relative_entropy"], CLEAR_ENTROPY),
              ("bootstrap stability (mean ARI, independent starts)", evidence["stability_ari"], CLEAR_STABILITY),
              ("agreement with k-means (ARI)", evidence["kmeans_ari"], CLEAR_KMEANS_ARI)]
    checks += [(f"typing accuracy, persona {p}", v, CLEAR_TYPING_ACCURACY) for p, v in typing_by.items()]
    checks = [(c, v, t, v is not None and v >= t) for c, v, t in checks]
    weak = [f"{c} {v:.2f} < {t:.2f}" if v is not None else f"{c} not computed" for c, v, t, ok in checks if not ok]
    if weak:
        return Structure("weak", f"No clear persona structure: the {fit.k} personas are tentative "
                         f"({'; '.join(weak)}). Treat them as a working description, not as firm segments.",
                         evidence, tuple(checks))
    return Structure("clear", f"Clear persona structure: {fit.k} personas, classified clearly (entropy "
                     f"{evidence['relative_entropy']:.2f}), stable under resampling (ARI {evidence['stability_ari']:.2f}), "
                     f"found again by k-means (ARI {evidence['kmeans_ari']:.2f}) and typed correctly for at least "
                     f"{min(typing_by.values()) if typing_by else float('nan'):.0%} of every persona's members.",
                     evidence, tuple(checks))
