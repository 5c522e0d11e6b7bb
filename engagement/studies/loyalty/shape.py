"""The shape of the effect (is there a threshold, or a straight line?) and its heterogeneity by
channel of last interaction and by persona."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ...degrade import CannotEstimate
from ...results import PERSONA_FILE
from ...survey_stats import adjust_pvalues, difference_in_means, difference_in_proportions, single_threaded
from .inputs import LoyaltyData, merge_sparse_levels, scale_levels
from .models import fit_model, nested_test


@dataclass(frozen=True)
class Heterogeneity:
    """Per-group effects (`groups`: one row per group and scale, per-SD coefficient with 95% CI) and
    the pooled interaction tests (`tests`, Holm-adjusted) for one grouping (`what`)."""

    what: str
    groups: pd.DataFrame
    tests: pd.DataFrame
    min_n: int

    def to_frame(self) -> pd.DataFrame:
        return self.groups


@single_threaded()
def shape_of_effect(data: LoyaltyData) -> pd.DataFrame:
    """Is the effect of each compared predictor linear, or is there a threshold? Likelihood-ratio
    (or robust Wald) test of a model with one parameter per level against the straight line, and
    the adjacent-level step with the largest rise in the share loyal (or the mean)."""
    data.require_inputs()
    o = data.primary
    data.require_usable(o)
    d = data.outcome_data(o)
    y_vals = o.values(data.df)
    flags = o.loyal_flags(y_vals)
    target = flags[0] if flags is not None else y_vals
    rows, skipped = [], []
    for p in data.comparison_predictors():
        if p.name not in d.Z:
            continue
        lv = scale_levels(data.scores[p.name], p.scale).to_numpy()[d.rows]
        # a level given by fewer than min_level_n respondents has no estimable step of its own (one
        # respondent at the lowest level made the model singular): pool it into its smaller neighbour
        codes, labels, pooled = merge_sparse_levels(lv, data.min_level_n)
        if len(labels) < 3:
            skipped.append(f"{p.label} has fewer than three levels with {data.min_level_n} or more respondents")
            continue
        values, at = np.unique(lv, return_index=True)
        group_of = {v: labels[codes[i]] for v, i in zip(values, at)}
        dummies = (codes[:, None] == np.arange(1, len(labels))[None, :]).astype(float)
        X = np.column_stack([d.Z[p.name].to_numpy(), dummies[:, 1:]])  # linear + deviations
        names = ["linear", *[f"L{lab}" for lab in labels[2:]]]
        small = fit_model(o.family, d.y, X[:, :1], d.w, names=names[:1], cov_type=data.cov_type)
        big = fit_model(o.family, d.y, X, d.w, names=names, cov_type=data.cov_type)
        t = nested_test(small, big, added=list(range(1, X.shape[1])))
        level_all = scale_levels(data.scores[p.name], p.scale).map(group_of)
        steps = []
        for a, b in zip(labels[:-1], labels[1:]):
            grp = pd.Series(pd.Categorical(np.where(level_all == b, "b", np.where(level_all == a, "a", None)),
                                           categories=["a", "b"]))  # compared by code, not per string
            fn = difference_in_proportions if flags is not None else difference_in_means
            try:
                steps.append((a, b, fn(target.to_numpy(), grp, "b", "a", data.design)))
            except ValueError:
                continue
        row = {"predictor": p.label, "outcome": o.label, "test": t["test"], "statistic": t["statistic"],
               "df": t["df"], "p_value": t["p_value"], "largest_step": "–", "step": np.nan, "step_low": np.nan,
               "step_high": np.nan, "n": d.n}
        if steps:
            a, b, best = max(steps, key=lambda s: s[2]["estimate"])
            row |= {"largest_step": f"{a} → {b}", "step": best["estimate"], "step_low": best["ci_low"],
                    "step_high": best["ci_high"]}
        if pooled:
            row["pooled"] = f"{p.label}: {pooled[0]}"
        rows.append(row)
    out = pd.DataFrame(rows)
    if not len(out):
        raise CannotEstimate("; ".join(skipped) + "." if skipped else "no compared scale has three or more levels.")
    out["p_holm"] = adjust_pvalues(out["p_value"].to_numpy(), "holm")
    return out


@single_threaded()
def heterogeneity(data: LoyaltyData, groups: pd.Series, *, what: str, min_n: int = 50) -> Heterogeneity:
    """Do CES and CSAT matter differently by group (channel of last interaction, persona)?

    Per group with at least `min_n` respondents: the primary outcome's CES + CSAT model fitted in
    the group (per-SD coefficients, 95% CI). Interaction tests on the pooled model
    y ~ CES + CSAT + group + CES×group + CSAT×group: one test per scale (LR, or robust Wald when
    weighted), Holm-adjusted within the call."""
    data.require_inputs()
    o = data.primary
    data.require_usable(o)
    d = data.outcome_data(o)
    pair = [p.name for p in data.comparison_predictors() if p.name in d.Z]
    g = groups.reset_index(drop=True).iloc[d.rows].reset_index(drop=True)
    counts = g.value_counts()
    keep_levels = [lv for lv in counts.index if counts[lv] >= min_n]
    keep = g.isin(keep_levels).to_numpy()
    rows = []
    X_pair = d.design(pair)  # once, not per group
    for lv in sorted(keep_levels, key=str):
        m = (g == lv).to_numpy()
        if o.family != "linear" and len(np.unique(d.y[m])) < 2:
            continue
        yy = d.y[m]
        if o.family == "ordinal":
            yy = np.unique(yy, return_inverse=True)[1]
        try:
            fit = fit_model(o.family, yy, X_pair[m], d.w[m], names=pair, cov_type=data.cov_type)
        except (ValueError, np.linalg.LinAlgError):
            continue
        sf = fit.summary_frame().set_index("term")
        for p in pair:
            rows.append({what: lv, "predictor": data.inputs.predictor(p).label, "coef": sf.loc[p, "estimate"],
                         "ci_low": sf.loc[p, "ci_low"], "ci_high": sf.loc[p, "ci_high"], "n": int(m.sum())})
    tests = []
    if len(keep_levels) >= 2:
        yk = d.y[keep]
        if o.family == "ordinal":
            yk = np.unique(yk, return_inverse=True)[1]
        gk = g[keep].astype(str)
        G = pd.get_dummies(gk, drop_first=True, dtype=float).to_numpy()
        Xb = X_pair[keep]
        k = G.shape[1]
        # scales, group dummies, scale × group: built in one n × (2 + 3k) array, pieces not kept
        X_full = np.column_stack([Xb, G, *(Xb[:, [j]] * G for j in range(len(pair)))])
        del G, Xb, X_pair
        names = [*pair, *[f"g{j}" for j in range(k)], *[f"{p}:g{j}" for p in pair for j in range(k)]]
        full = fit_model(o.family, yk, X_full, d.w[keep], names=names, cov_type=data.cov_type)
        for j, p in enumerate(pair):
            idx = [i for i, nm in enumerate(names) if nm.startswith(f"{p}:")]
            rest = [i for i in range(len(names)) if i not in idx]
            small = fit_model(o.family, yk, X_full[:, rest], d.w[keep], names=[names[i] for i in rest],
                              cov_type=data.cov_type)
            t = nested_test(small, full, added=idx)
            tests.append({"by": what, "interaction": f"{data.inputs.predictor(p).label} × {what}",
                          "test": t["test"], "statistic": t["statistic"], "df": t["df"],
                          "p_value": t["p_value"], "groups": len(keep_levels), "n": int(keep.sum())})
    tests = pd.DataFrame(tests)
    if len(tests):
        tests["p_holm"] = adjust_pvalues(tests["p_value"].to_numpy(), "holm")
    return Heterogeneity(what=what, groups=pd.DataFrame(rows), tests=tests, min_n=min_n)


def by_channel(data: LoyaltyData, *, min_n: int = 50) -> Heterogeneity:
    """`heterogeneity` by the channel of the last service interaction (`channels.last_interaction`)."""
    groups = data.channel_groups()
    if groups is None:
        raise CannotEstimate("the codebook declares no `channels.last_interaction` column.")
    return _estimated(heterogeneity(data, groups, what="channel", min_n=min_n))


def by_persona(data: LoyaltyData, output_dir: str | Path, *, min_n: int = 50) -> Heterogeneity:
    """`heterogeneity` by persona, read from the persona study's file in the run folder."""
    groups = data.persona_groups(output_dir)
    if groups is None:
        raise CannotEstimate(f"no {PERSONA_FILE} in the run folder (the persona study has not run) or it lacks "
                             "id / persona.")
    return _estimated(heterogeneity(data, groups, what="persona", min_n=min_n))


def _estimated(het: Heterogeneity) -> Heterogeneity:
    if not len(het.groups):
        raise CannotEstimate(f"no {het.what} has {het.min_n} or more respondents.")
    return het
