"""Personas × the other studies: the codebook's experience and loyalty measures by persona
(design-based estimates, a Wald test that all personas are equal, persona-versus-rest contrasts),
channel use and preference by persona (weighted crosstabs, Rao–Scott F, Cramér's V), and the
segment mix of each persona."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ...codebook import Codebook, code_key, code_keys
from ...results import estimate
from ...survey_stats import _domain_means

if TYPE_CHECKING:
    from .fit import PersonaFit



@dataclass
class Measure:
    """An experience or loyalty measure compared across personas: `values` per respondent (NaN when
    missing); kind "share" (0/1, shown in %), "mean", or "nps" (100 × (promoter − detractor), whose
    mean is the Net Promoter Score)."""

    key: str
    label: str
    kind: str
    values: np.ndarray

    def fmt(self, v: float) -> str:
        if v is None or not np.isfinite(v):
            return "–"
        return f"{v:.0%}" if self.kind == "share" else f"{v:+.0f}" if self.kind == "nps" else f"{v:.2f}"


def _nps_points(x: np.ndarray) -> np.ndarray:
    return np.where(np.isnan(x), np.nan, 100.0 * ((x >= 9).astype(float) - (x <= 6).astype(float)))


def outcome_measures(df: pd.DataFrame, cb: Codebook) -> list[Measure]:
    """The codebook's `scales` (CES, CSAT, NPS, …: means; NPS as the score) and its loyalty `outcomes`
    (binary: share with the `positive` value; nps: the score; likert, count, continuous: means)."""
    from ...metrics import scale_values

    out, used = [], set()
    for name, sc in cb.scales.items():
        if not all(c in df for c in sc.columns):
            continue
        x = pd.to_numeric(scale_values(df, cb, name), errors="coerce").to_numpy(float)
        short = name.upper() if len(name) <= 4 else name.replace("_", " ")
        if name.lower() == "nps" or (sc.min == 0 and sc.max == 10 and "nps" in (sc.label + name).lower()):
            out.append(Measure(name, "NPS (score, −100…100)", "nps", _nps_points(x)))
        else:
            out.append(Measure(name, f"{short} (mean, {sc.min:g}–{sc.max:g})", "mean", x))
        used.update(sc.columns)
    for o in cb.outcomes:
        if o.column in used or o.column not in df:
            continue
        label = o.label or o.name.replace("_", " ")
        raw = df[o.column]
        if o.kind == "binary":
            # judged once per distinct answer (a per-row code_key took 3.5 s at a million)
            rows, distinct = pd.factorize(raw)
            x = np.append(o.binary_values(pd.Series(distinct, dtype=object)).to_numpy(float), np.nan)[rows]
            out.append(Measure(o.name, f"{label} (%)", "share", x))
        elif o.kind == "nps":
            out.append(Measure(o.name, f"{label}: NPS", "nps", _nps_points(pd.to_numeric(raw, errors="coerce").to_numpy(float))))
        else:
            out.append(Measure(o.name, f"{label} (mean)", "mean", pd.to_numeric(raw, errors="coerce").to_numpy(float)))
        used.add(o.column)
    return out


def equal_means_test(y: np.ndarray, labels: np.ndarray, groups: list, design) -> dict:
    """Design-based Wald test that the mean of y is equal in every group (k − 1 contrasts against
    the last group, the covariance of the domain means from the design's linearization):
    F = W / (k − 1) on (k − 1, n − 1) degrees of freedom, as R's regTermTest on svyglm."""
    from scipy import stats

    answered = ~np.isnan(y)
    est, scores = zip(*[_domain_means(y, answered & (labels == g), design) for g in groups])
    V = design.covariance(np.column_stack(scores))
    k = len(groups)
    C = np.hstack([np.eye(k - 1), -np.ones((k - 1, 1))])
    diff = C @ np.concatenate(est)
    W = float(diff @ np.linalg.solve(C @ V @ C.T, diff))
    n = int(answered.sum())
    F = W / (k - 1)
    return {"f_statistic": F, "ndf": k - 1, "ddf": n - 1, "p_value": float(stats.f.sf(F, k - 1, n - 1)), "n": n}


def measures_by_persona(fit: PersonaFit, alpha: float = 0.05, correction: str = "holm") -> pd.DataFrame:
    """Each measure by persona: weighted estimate with its design-based 95% interval (logit for
    shares, Wald for means and NPS) and n; the Wald F test of equality across personas
    (`correction` over the measures); and whether each persona differs from all the others
    (design-based difference, corrected within the measure): "▲" above, "▼" below."""
    from ...survey_stats import adjust_pvalues
    from ...survey_stats import difference_in_means, weighted_mean, weighted_proportion

    rows, tests = [], []
    for m in outcome_measures(fit.df, fit.cb):
        y = m.values
        if np.isnan(y).all():
            continue
        test = equal_means_test(y, fit.labels, fit.numbers, fit.design) if fit.k > 1 else {}
        tests.append(test.get("p_value", np.nan))
        vs_rest = []
        for p in fit.numbers:
            dom = fit.labels == p
            r = (weighted_proportion(y, fit.design, domain=dom) if m.kind == "share"
                 else weighted_mean(y, fit.design, domain=dom))
            d = difference_in_means(y, dom, True, False, fit.design) if fit.k > 1 else {"p_value": np.nan, "estimate": 0}
            vs_rest.append(d)
            rows.append({"measure": m.label, "key": m.key, "kind": m.kind, "persona": p, "name": fit.name(p),
                         **estimate(r["estimate"], r["ci_low"], r["ci_high"], r["n"]),
                         "diff_vs_rest": d["estimate"], "p_vs_rest": d["p_value"], **{k: test.get(k) for k in
                                                                                      ("f_statistic", "ndf", "ddf", "p_value")}})
        adj = adjust_pvalues([d["p_value"] for d in vs_rest], correction)
        for row, pa in zip(rows[-len(fit.numbers):], adj):
            row["p_vs_rest_adjusted"] = pa
            row["marker"] = ("▲" if row["diff_vs_rest"] > 0 else "▼") if np.isfinite(pa) and pa < alpha else ""
        r = (weighted_proportion(y, fit.design) if m.kind == "share" else weighted_mean(y, fit.design))
        rows.append({"measure": m.label, "key": m.key, "kind": m.kind, "persona": 0, "name": "All customers",
                     **estimate(r["estimate"], r["ci_low"], r["ci_high"], r["n"]), "marker": ""})
    out = pd.DataFrame(rows)
    if len(out) and fit.k > 1:
        adj = dict(zip(out["measure"].unique(), adjust_pvalues(tests, correction)))
        out["p_adjusted"] = out["measure"].map(adj)
        out["significant"] = out["p_adjusted"] < alpha
    return out


def channel_tables(fit: PersonaFit, alpha: float = 0.05, correction: str = "holm", stage: str = "purchase"):
    """Channel use (each usage column) and the preferred channel at `stage` by persona: weighted
    crosstabs with the Rao–Scott F test (corrected over the channel measures), Cramér's V and
    column-proportion letters (`channels.crosstab`)."""
    from ...crosstabs import crosstab
    from ...survey_stats import adjust_pvalues

    ch = fit.cb.channels
    if ch is None or fit.k < 2:
        return None, {}
    data = fit.df.assign(persona=fit.labels)
    labels = {p: f"P{p}" for p in fit.numbers}
    tabs = {}
    for name, col in ch.usage.items():
        if col in data:
            tabs[f"uses {name}"] = crosstab(data, col, "persona", fit.design, alpha, row_labels={1: "used", 0: "not used"},
                                            column_labels=labels)
    if stage in ch.stages and ch.stages[stage] in data and ch.codes:
        tabs[f"preferred {stage} channel"] = crosstab(data, ch.stages[stage], "persona", fit.design, alpha,
                                                      row_labels=ch.codes, column_labels=labels, collapse_sparse=True)
    if not tabs:
        return None, {}
    adj = adjust_pvalues([t.test["p_value"] for t in tabs.values()], correction)
    tests = pd.DataFrame([{"measure": m, "f_statistic": t.test["f_statistic"], "ndf": t.test["ndf"], "ddf": t.test["ddf"],
                           "p_value": t.test["p_value"], "p_adjusted": p, "significant": bool(p < alpha),
                           "cramers_v": t.test["weighted_cramers_v"], "n": t.test["n"]}
                          for (m, t), p in zip(tabs.items(), adj)])
    return tests, tabs


def _segment_shares(fit: PersonaFit, mask: np.ndarray) -> list[tuple[str, str, float, float]]:
    """(segment label, level label, persona share, overall share) for the codebook's segments."""
    out = []
    w = fit.weights
    for seg in fit.cb.segments:
        if seg.column not in fit.df:
            continue
        keys = code_keys(fit.df[seg.column])
        labels = {code_key(k): v for k, v in (seg.labels or {}).items()}
        levels = list(labels) if labels else sorted(keys.dropna().unique())
        # each level's weight as one grouped sum over integer codes, not a string compare per level
        codes, distinct = pd.factorize(keys)
        at = {lv: i for i, lv in enumerate(distinct)}
        ok = codes >= 0
        total, inside = np.bincount(codes[ok], weights=w[ok]), np.bincount(codes[ok & mask], weights=w[ok & mask],
                                                                            minlength=len(distinct))
        for lv in levels:
            i = at.get(lv)
            out.append((seg.label or seg.column, str(labels.get(lv, lv)),
                        float((inside[i] if i is not None else 0.0) / w[ok & mask].sum()) if (ok & mask).any() else np.nan,
                        float((total[i] if i is not None else 0.0) / w[ok].sum())))
    return out


@dataclass(frozen=True, eq=False)
class ChannelComparison:
    """`compare_channels(fit)`: `tests` has one row per channel measure (Rao–Scott F, corrected p,
    Cramér's V, n); `tables` maps each measure to its weighted crosstab (`channels.crosstab`)."""

    tests: pd.DataFrame | None
    tables: dict = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        return self.tests if self.tests is not None else pd.DataFrame()


def compare_channels(fit: PersonaFit, alpha: float = 0.05, correction: str = "holm",
                     stage: str = "purchase") -> ChannelComparison:
    """Channel use and the preferred channel at `stage` by persona (see `channel_tables`)."""
    if fit.skipped:
        return ChannelComparison(None)
    tests, tables = channel_tables(fit, alpha, correction, stage)
    return ChannelComparison(tests, tables)


def compare_measures(fit: PersonaFit, alpha: float = 0.05, correction: str = "holm") -> pd.DataFrame:
    """Experience and loyalty by persona, one row per measure × persona (see `measures_by_persona`);
    empty when the codebook declares no scales or outcomes, or the study was skipped."""
    if fit.skipped:
        return pd.DataFrame()
    return measures_by_persona(fit, alpha, correction)
