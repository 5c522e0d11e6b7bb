"""Choosing the number of personas: bootstrap stability, the k-means comparison, and the rule."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score

from .lca import LCAFit, LCAInput, _single_threaded, _subset, fit_lca

@_single_threaded
def bootstrap_stability(data: LCAInput, full: LCAFit, weights: np.ndarray, reps: int, seed: int,
                        tol: float = 1e-4) -> np.ndarray:
    """ARI between the full-sample classification and the classification of the same respondents by
    a k-class model refitted on each of `reps` bootstrap resamples (rows drawn with replacement,
    keeping their weights; seeded by (seed, k, rep)). Each refit starts twice — from the full-sample
    partition and from a fresh k-means++ partition — and keeps the better likelihood, so that a
    resample which favours a different solution is found, while a start that merely fails to find
    the optimum is not mistaken for instability."""
    n = len(weights)
    out = np.empty(reps)
    for r in range(reps):
        rng = np.random.default_rng([seed, full.k, r])
        rows = rng.integers(0, n, n)
        refit = fit_lca(_subset(data, rows), full.k, weights[rows], n_init=2, seed=int(rng.integers(2**31 - 1)),
                        tol=tol, init_labels=(full.labels[rows],))
        out[r] = adjusted_rand_score(full.labels, refit.model.predict(data.X))
    return out


@_single_threaded
def kmeans_labels(Z: np.ndarray, k: int, weights: np.ndarray, seed: int, n_init: int = 10) -> np.ndarray:
    """k-means on the standardized features (missing values at the weighted mean), survey-weighted."""
    if k == 1:
        return np.zeros(len(Z), dtype=int)
    return KMeans(k, n_init=n_init, random_state=seed).fit_predict(Z, sample_weight=weights)


def selection_rule_text(min_share: float, min_stability: float, min_entropy: float) -> str:
    return (f"A number of personas k is admissible when its smallest persona holds at least {min_share:.0%} "
            f"of the weighted sample, its bootstrap stability (mean adjusted Rand index of refitted "
            f"solutions) is at least {min_stability:.2f} and its relative entropy (how clearly customers "
            f"are classified) is at least {min_entropy:.2f}; k = 1 is always admissible. The chosen k is "
            f"the admissible k with the lowest BIC.")


def choose_k(table: pd.DataFrame, min_share: float, min_stability: float, min_entropy: float,
             stability=None) -> tuple[int, pd.DataFrame]:
    """Apply the rule (see `selection_rule_text`) to the k-selection table (columns k, bic, min_share,
    relative_entropy, stability). Stability that is still missing (NaN) is computed on demand by
    `stability(k) -> array of ARIs`, only for the k the rule has to check: candidates are taken in
    order of BIC, so the stability of a k whose BIC is above the chosen one's never changes the
    decision. Adds `admissible` (True / False / None when not checked), `verdict` and `chosen`."""
    table = table.copy().reset_index(drop=True)
    for col in ("stability", "stability_p10"):
        if col not in table:
            table[col] = np.nan

    def failures(row) -> list[str]:
        why = []
        if row["k"] > 1:
            if row["min_share"] < min_share:
                why.append(f"smallest persona {row['min_share']:.1%} < {min_share:.0%}")
            if row["relative_entropy"] < min_entropy:
                why.append(f"entropy {row['relative_entropy']:.2f} < {min_entropy:.2f}")
            if np.isfinite(row["stability"]) and row["stability"] < min_stability:
                why.append(f"stability {row['stability']:.2f} < {min_stability:.2f}")
        return why

    chosen = None
    for i in table.sort_values(["bic", "k"]).index:
        row = table.loc[i]
        if failures(row):
            continue
        if row["k"] > 1 and not np.isfinite(row["stability"]) and np.isfinite(min_stability):
            if stability is None:
                continue
            aris = np.asarray(stability(int(row["k"])), float)
            table.loc[i, ["stability", "stability_p10"]] = [aris.mean(), np.quantile(aris, 0.1)]
            if failures(table.loc[i]):
                continue
        chosen = int(row["k"])
        break
    chosen = 1 if chosen is None else chosen
    bic_chosen = float(table.loc[table["k"] == chosen, "bic"].iloc[0])
    admissible, verdicts = [], []
    for _, row in table.iterrows():
        why = failures(row)
        unchecked = row["k"] > 1 and not np.isfinite(row["stability"]) and np.isfinite(min_stability)
        if row["k"] == chosen:
            admissible.append(True)
            verdicts.append("chosen")
        elif why:
            admissible.append(False)
            verdicts.append("fails: " + "; ".join(why))
        elif unchecked:
            admissible.append(None)
            verdicts.append("stability not needed: BIC above the chosen k's" if row["bic"] > bic_chosen
                            else "stability not computed")
        else:
            admissible.append(True)
            verdicts.append("admissible, higher BIC")
    table["admissible"] = admissible
    table["verdict"] = verdicts
    table["chosen"] = table["k"] == chosen
    return chosen, table

