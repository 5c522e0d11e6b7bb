"""Choosing the number of personas: bootstrap stability, the k-means comparison, and the rule."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score

from .lca import LCAFit, LCAInput, _single_threaded, _subset, fit_lca, map_fits

@dataclass(frozen=True, eq=False)
class BootstrapStability:
    """Bootstrap stability of one k: `aris[r]` is the adjusted Rand index between the full-sample
    classification and the classification by the model refitted on resample r; `agreement[r, c]`
    is the share of latent class c's members that the refit puts in the class matched to c
    (Hungarian matching on the cross-tabulation of the two classifications)."""

    k: int
    aris: np.ndarray
    agreement: np.ndarray
    starts: int

    @property
    def mean(self) -> float:
        """Mean ARI; a resample whose refit failed counts as 0 (not reproduced)."""
        return float(np.nan_to_num(self.aris, nan=0.0).mean())


def matched_agreement(reference: np.ndarray, other: np.ndarray, k: int) -> np.ndarray:
    """Share of each reference class's members found in the `other` class matched to it (Hungarian
    matching that maximises the respondents on the diagonal): labels are arbitrary in every refit."""
    table = np.zeros((k, k))
    np.add.at(table, (reference, other), 1)
    rows, cols = linear_sum_assignment(-table)
    match = dict(zip(rows, cols))
    sizes = table.sum(axis=1)
    return np.array([table[c, match[c]] / sizes[c] if sizes[c] else np.nan for c in range(k)])


@_single_threaded
def bootstrap_stability(data: LCAInput, full: LCAFit, weights: np.ndarray, reps: int, seed: int,
                        starts: int = 3, tol: float = 1e-4, n_jobs: int | None = None) -> BootstrapStability:
    """Refit the k-class model on each of `reps` bootstrap resamples (rows drawn with replacement,
    keeping their weights; seeded by (seed, k, rep)) from `starts` independent k-means++ starts —
    never from the full-sample partition, which would make any solution look stable — and compare
    the refit's classification of every respondent with the full-sample one. The refits run in
    `n_jobs` threads (`lca.map_fits`)."""
    n = len(weights)
    tasks = []
    for r in range(reps):
        rng = np.random.default_rng([seed, full.k, r])
        rows = rng.integers(0, n, n)
        tasks.append((data, rows, weights, full.k, starts, int(rng.integers(2**31 - 1)), tol))
    aris, agreement = np.empty(reps), np.empty((reps, full.k))
    for r, labels in enumerate(map_fits(_refit_labels, tasks, n_jobs)):
        if labels is None:  # a resample that cannot be fitted counts as not reproduced
            aris[r], agreement[r] = np.nan, np.nan
            continue
        aris[r] = adjusted_rand_score(full.labels, labels)
        agreement[r] = matched_agreement(full.labels, labels, full.k)
    return BootstrapStability(full.k, aris, agreement, starts)


def _refit_labels(data: LCAInput, rows: np.ndarray, weights: np.ndarray, k: int, starts: int, seed: int,
                  tol: float) -> np.ndarray | None:
    """Every respondent's class under the model refitted on the resample `rows` (None: it cannot be fitted)."""
    try:
        return fit_lca(_subset(data, rows), k, weights[rows], n_init=starts, seed=seed, tol=tol).model.predict(data.X)
    except (np.linalg.LinAlgError, ValueError, FloatingPointError):
        return None


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

