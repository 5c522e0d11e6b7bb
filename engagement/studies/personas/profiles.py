"""What each persona looks like: index scores and standardized differences of every feature,
generated names, the distinguishing features, stable numbering (by size, or matched to a previous
wave by the Hungarian algorithm), and the persona sizes with design-based intervals."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from ...results import estimate
from .features import FeatureEncoder, _weighted_moments, _weighted_mean_ignore_nan

def profile_table(values: pd.DataFrame, labels: np.ndarray, weights: np.ndarray, numbers: list[int],
                  enc: FeatureEncoder) -> pd.DataFrame:
    """One row per feature × persona: weighted mean, overall mean, index (persona ÷ overall × 100)
    and the standardized difference (persona − overall) ÷ overall SD."""
    rows = []
    for c in values.columns:
        x = values[c].to_numpy(float)
        overall, sd = _weighted_moments(x, weights)
        for p in numbers:
            m = labels == p
            mean = _weighted_mean_ignore_nan(x[m], weights[m])
            rows.append({"feature": c, "label": enc.labels.get(c, c), "kind": enc.kind(c), "persona": p,
                         "mean": mean, "overall": overall,
                         "index": 100 * mean / overall if overall > 0 else np.nan,
                         "std_diff": (mean - overall) / sd if sd > 0 else 0.0})
    return pd.DataFrame(rows)


def profile_vectors(profile: pd.DataFrame) -> dict[int, dict[str, float]]:
    return {int(p): dict(zip(g["feature"], g["mean"])) for p, g in profile.groupby("persona")}


def generate_names(profile: pd.DataFrame, numbers: list[int], threshold: float = 0.3) -> dict[int, str]:
    """A short descriptive name per persona from its most distinctive features: the two largest
    positive standardized differences and the largest negative one, each at least `threshold` SD.
    Channels a persona over-uses read "App & social users", other yes/no items by their label, other
    high features "high price"; low ones "low store use", "not senior citizen", "low tenure".
    Deterministic; duplicate names get the persona number appended."""
    if len(numbers) == 1:
        return {numbers[0]: "All customers"}

    def channel(r) -> bool:
        return r["kind"] == "binary" and r["label"].startswith("uses ")

    names = {}
    for p in numbers:
        g = profile[profile["persona"] == p].sort_values(["std_diff", "feature"], ascending=[False, True])
        highs = g[g["std_diff"] >= threshold].head(2)
        lows = g[g["std_diff"] <= -threshold].sort_values(["std_diff", "feature"]).head(1)
        users = [r["label"][5:] for _, r in highs.iterrows() if channel(r)]
        yes = [r["label"] for _, r in highs.iterrows() if r["kind"] == "binary" and not channel(r)]
        high = [r["label"] for _, r in highs.iterrows() if r["kind"] != "binary"]
        text = []
        if users:
            text.append(" & ".join(users) + " users")
        text += yes
        if high:
            text.append("high " + " & ".join(high))
        for _, r in lows.iterrows():
            text.append(f"low {r['label'][5:]} use" if channel(r) else f"not {r['label']}" if r["kind"] == "binary"
                        else f"low {r['label']}")
        name = ", ".join(text) or "Average profile"
        names[p] = name[0].upper() + name[1:]
    counts = pd.Series(list(names.values())).value_counts()
    return {p: (f"{n} ({p})" if counts[n] > 1 else n) for p, n in names.items()}


def distinguishing_features(profile: pd.DataFrame, threshold: float = 0.5, top: int = 5) -> pd.DataFrame:
    """Per persona, the features furthest from the average (|standardized difference| ≥ threshold)."""
    big = profile[profile["std_diff"].abs() >= threshold]
    big = big.assign(size=big["std_diff"].abs()).sort_values(["persona", "size"], ascending=[True, False])
    return big.groupby("persona").head(top).drop(columns="size").reset_index(drop=True)




def order_by_size(shares: np.ndarray, profile_means: np.ndarray) -> np.ndarray:
    """Class order: weighted share descending, ties broken by the class profile (lexicographic)."""
    keys = [(-round(float(s), 6), *np.round(profile_means[c], 6)) for c, s in enumerate(shares)]
    return np.array(sorted(range(len(shares)), key=lambda c: keys[c]))


def match_previous(current: dict[int, dict[str, float]], previous: dict[int, dict[str, float]],
                   scale: dict[str, float]) -> tuple[dict[int, int], pd.DataFrame]:
    """Match current personas to a previous wave's by the Hungarian algorithm on the root-mean-square
    standardized distance between profiles (features both waves share, each divided by its overall
    SD in the current wave). Returns current number -> previous number for the matched personas,
    and the cost table."""
    feats = sorted(set.intersection(*(set(v) for v in [*current.values(), *previous.values()])))
    feats = [f for f in feats if scale.get(f, 0) > 0]
    if not feats:
        return {}, pd.DataFrame()
    cur, prev = sorted(current), sorted(previous)
    A = np.array([[current[c][f] / scale[f] for f in feats] for c in cur])
    B = np.array([[previous[p][f] / scale[f] for f in feats] for p in prev])
    cost = np.sqrt(((A[:, None, :] - B[None, :, :]) ** 2).mean(axis=2))
    rows, cols = linear_sum_assignment(cost)
    mapping = {cur[i]: prev[j] for i, j in zip(rows, cols)}
    table = pd.DataFrame([{"persona_now": cur[i], "previous_persona": prev[j], "distance": cost[i, j]}
                          for i, j in zip(rows, cols)])
    return mapping, table


def persona_sizes(fit) -> pd.DataFrame:
    """Weighted share of each persona (modal assignment) with its design-based 95% interval (logit,
    as R's svyciprop), the unweighted count, and the model's own class share for comparison."""
    from ...survey_stats import weighted_proportion

    rows = []
    model_share = dict(zip(fit.class_numbers.tolist(), fit.lca.model.weights_.tolist()))
    for p in fit.numbers:
        r = weighted_proportion((fit.labels == p).astype(float), fit.design)
        rows.append({"persona": p, "name": fit.name(p), **estimate(r["estimate"], r["ci_low"], r["ci_high"],
                                                                   int(len(fit.labels))),
                     "n_persona": int((fit.labels == p).sum()), "model_share": model_share.get(p, np.nan)})
    return pd.DataFrame(rows)


@dataclass(frozen=True, eq=False)
class PersonaProfiles:
    """`describe(fit)`: who the personas are. `sizes`: one row per persona (weighted share with its
    95% interval, respondents, the model's own class share); `index_scores`: one row per feature ×
    persona (mean, overall mean, index, standardized difference); `distinguishing`: the features at
    least `threshold` SD from the average, per persona; `names`: persona number -> name."""

    sizes: pd.DataFrame
    index_scores: pd.DataFrame
    distinguishing: pd.DataFrame
    names: dict

    def to_frame(self) -> pd.DataFrame:
        return self.sizes


def describe(fit, threshold: float = 0.5, top: int = 5) -> PersonaProfiles:
    """Sizes, index scores and distinguishing features of a fitted persona solution (empty tables
    when the study was skipped)."""
    if fit.skipped:
        return PersonaProfiles(pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), {})
    dist = distinguishing_features(fit.profile, threshold, top) if fit.k > 1 else fit.profile.iloc[:0]
    dist = dist.assign(name=dist["persona"].map(fit.name))
    return PersonaProfiles(persona_sizes(fit), fit.profile, dist, dict(fit.names))
