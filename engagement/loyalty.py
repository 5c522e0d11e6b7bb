"""The loyalty study (notebook 20): does the Customer Effort Score (CES) or satisfaction (CSAT)
predict loyalty better, by how much, and how sure are we?

Inputs come only from the codebook: the predictors are the declared `scales` (CES and CSAT — named by
the notebook parameters, default "ces" and "csat" — and any other metric such as NPS when it is not
the outcome), the loyalty `outcomes` (nps / likert -> ordinal logit, binary -> logistic, count /
continuous -> OLS), the `controls`, `channels.last_interaction` and, when the persona study wrote
`personas.parquet`, the personas. A scale declared `higher_is_better: false` (the original 2010 CES,
"how much effort…") is reversed (min + max − x) so that higher always means a better experience; a
composite scale (`items`) is the mean of its items.

What "X% more accurate" means here (claim C13): the ratio of the out-of-sample Gini coefficient
(2·AUC − 1; Somers' D of the model's prediction with the outcome, i.e. 2·Harrell's C − 1 for ordered
and count outcomes) of a model on CES alone to a model on CSAT alone, both cross-validated on the
same folds. A ratio of 1.40 is "40% more accurate". The Gini is rank-based, defined for every outcome
kind, and does not reward a model for calibration it could have learned from the other. The ratio of
out-of-sample pseudo-R² (explained variance) is reported beside it: it is roughly the square of the
Gini ratio, so it makes any advantage look about twice as large — one reason the claim needs its
statistic stated.

Verdict rules, on the 95% interval [L, U] of the Gini ratio for the primary outcome:
  which predicts better: "ces" if L > 1, "csat" if U < 1, else "not distinguishable";
  C13 ("40% more accurate"): "supported" if L > 1 and U ≥ 1.40 (CES is better and a 40% advantage
  is within the interval); "contradicted" if U < 1.40 (a 40% advantage is excluded — whether CES is
  better by less, equal, or worse); otherwise (L ≤ 1 and U ≥ 1.40) "not distinguishable at this
  sample size".

Intervals for cross-validated metrics use the Nadeau–Bengio corrected resampled t (see
`loyalty_models`). On 40 simulated surveys of 5,000 its standard error of the CES − CSAT Gini
difference (0.0115) matched the spread of the estimate across surveys (0.0119); the naive fold
standard error (0.0031) was four times too small.
"""

from __future__ import annotations

import re

import functools
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy import stats

from . import plots
from .claims import claim_entry
from .codebook import Codebook, Outcome, Scale, code_key
from .config import DEFAULT_SEED
from .loyalty_models import (
    FAMILY_LABEL,
    FAMILY_OF_KIND,
    CVResult,
    concordance,
    cross_validate,
    dominance_analysis,
    fit_model,
    nested_test,
)
from .metrics import scale_values
from .results import PERSONA_FILE, WEIGHT, estimate
from .survey_stats import (
    Design,
    adjust_pvalues,
    correlation_with_ci,
    difference_in_proportions,
    single_threaded,
    weighted_mean,
    weighted_proportion,
)

SECTION = "loyalty"
CLAIMED_RATIO = 1.40
#: figures quoted with the CES claim (../shared/seed-facts.md, "Notes on the CES claim")
GARTNER_DISLOYAL_HIGH_EFFORT = 0.96
GARTNER_DISLOYAL_LOW_EFFORT = 0.09
GARTNER_REPURCHASE_LOW_EFFORT = 0.94


# ------------------------------------------------------------------------------ inputs


@dataclass
class Predictor:
    """A declared scale used as a predictor, oriented so that higher = better experience."""

    name: str
    label: str
    scale: Scale
    reversed: bool

    @property
    def columns(self) -> list[str]:
        return self.scale.columns

    def scores(self, df: pd.DataFrame, cb: Codebook) -> pd.Series:
        """The scale's values (a composite: the mean of its items, missing if any item is), reversed
        when higher is worse."""
        s = scale_values(df, cb, self.name)
        return self.scale.min + self.scale.max - s if self.reversed else s

    @property
    def box_size(self) -> int:
        return len(self.scale.top_box) if self.scale.top_box is not None else 2

    def best_box(self, oriented: pd.Series) -> pd.Series:
        """1 for the best `box_size` scale points (e.g. low effort), 0 otherwise, NaN if missing."""
        return (oriented >= self.scale.max - (self.box_size - 1) - 1e-9).astype(float).where(oriented.notna())

    def worst_box(self, oriented: pd.Series) -> pd.Series:
        return (oriented <= self.scale.min + (self.box_size - 1) + 1e-9).astype(float).where(oriented.notna())


@dataclass
class LoyaltyOutcome:
    outcome: Outcome

    @property
    def name(self) -> str:
        return self.outcome.name

    @property
    def label(self) -> str:
        return self.outcome.label or self.outcome.name

    @property
    def kind(self) -> str:
        return self.outcome.kind

    @property
    def family(self) -> str:
        return FAMILY_OF_KIND[self.kind]

    def values(self, df: pd.DataFrame) -> pd.Series:
        """Numeric outcome; a binary outcome is 1 = loyal (`positive`, default 1), 0 = not."""
        col = df[self.outcome.column]
        if self.kind == "binary":
            return self.outcome.binary_values(col)
        return pd.to_numeric(col, errors="coerce").astype(float)

    def bounds(self, y: pd.Series) -> tuple[float, float]:
        lo = self.outcome.min if self.outcome.min is not None else float(np.nanmin(y))
        hi = self.outcome.max if self.outcome.max is not None else float(np.nanmax(y))
        return lo, hi

    def loyal_definition(self) -> tuple[str, str] | None:
        """(loyal, disloyal) definitions in words, or None for counts and continuous outcomes."""
        if self.kind == "nps":
            return "promoter (9–10)", "detractor (0–6)"
        if self.kind == "likert":
            return "top-2 box", "bottom-2 box"
        if self.kind == "binary":
            pos = self.outcome.positive if self.outcome.positive is not None else 1
            return f"yes ({self.outcome.column} = {pos})", f"no ({self.outcome.column} ≠ {pos})"
        return None

    def loyal_flags(self, y: pd.Series) -> tuple[pd.Series, pd.Series] | None:
        """0/1 indicators of loyal and of disloyal (NaN where y is missing)."""
        ok = y.notna()
        if self.kind == "binary":
            return y, (1 - y).where(ok)
        if self.kind == "nps":
            lo, hi = self.bounds(y)
            return (y >= hi - 1).astype(float).where(ok), (y <= hi - 4).astype(float).where(ok)
        if self.kind == "likert":
            lo, hi = self.bounds(y)
            return (y >= hi - 1).astype(float).where(ok), (y <= lo + 1).astype(float).where(ok)
        return None


@dataclass
class Control:
    column: str
    categorical: bool


@dataclass
class LoyaltyInputs:
    predictors: list[Predictor]
    outcomes: list[LoyaltyOutcome]
    controls: list[Control]
    ces: Predictor | None
    csat: Predictor | None
    channel_column: str | None
    channel_labels: dict
    notes: list[str] = field(default_factory=list)

    def predictor(self, name: str) -> Predictor | None:
        return next((p for p in self.predictors if p.name == name), None)

    def predictors_for(self, outcome: LoyaltyOutcome) -> list[Predictor]:
        """Every declared scale except one measured by the outcome's own column."""
        return [p for p in self.predictors if outcome.outcome.column not in p.columns]


def loyalty_inputs(cb: Codebook, ces: str = "ces", csat: str = "csat") -> LoyaltyInputs:
    """Read the study's inputs from the codebook (never from column names in code)."""
    preds, notes = [], []
    for name, sc in cb.scales.items():
        p = Predictor(name=name, label=_short_label(name), scale=sc, reversed=not sc.higher_is_better)
        preds.append(p)
        if p.reversed:
            notes.append(f"{p.label} is declared higher-is-worse ({sc.min:g} = best … {sc.max:g} = worst); it is "
                         f"reversed ({sc.min:g} + {sc.max:g} − x) so that higher means a better experience for "
                         f"every predictor before the comparison.")
        if sc.items:
            notes.append(f"{p.label} is the mean of its {len(sc.items)} items ({', '.join(sc.items)}).")
    outcomes = [LoyaltyOutcome(o) for o in cb.outcomes]
    segs = {s.column for s in cb.segments}
    controls = [Control(c, categorical=c in segs or (cb.columns.get(c) is not None
                                                     and cb.columns[c].type in ("str", "category", "bool")))
                for c in cb.controls]
    ch = cb.channels
    return LoyaltyInputs(
        predictors=preds, outcomes=outcomes, controls=controls,
        ces=next((p for p in preds if p.name == ces), None),
        csat=next((p for p in preds if p.name == csat), None),
        channel_column=ch.last_interaction if ch else None,
        channel_labels=dict(ch.codes) if ch else {}, notes=notes)


def _short_label(name: str) -> str:
    return name.upper() if len(name) <= 5 else name.replace("_", " ").capitalize()


# ------------------------------------------------------------------------------ verdicts


def classify(ratio_low: float, ratio_high: float, ces: str = "CES", csat: str = "CSAT") -> tuple[str, str, str]:
    """The two verdicts from the 95% interval [L, U] of the CES ÷ CSAT accuracy ratio:
    (which predicts better: "ces" / "csat" / "not distinguishable",
     C13: "supported" / "contradicted" / "not distinguishable at this sample size", detail)."""
    L, U = ratio_low, ratio_high
    better = "ces" if L > 1 else "csat" if U < 1 else "not distinguishable"
    if L > 1 and U >= CLAIMED_RATIO:
        return better, "supported", f"{ces} predicts better and a 40% advantage is within the interval"
    if U < CLAIMED_RATIO:
        detail = (f"{ces} predicts better, but by less than 40%" if L > 1 else
                  f"{csat} predicts better" if U < 1 else "no detectable difference, and a 40% advantage is excluded")
        return better, "contradicted", detail
    return better, "not distinguishable at this sample size", "the interval covers both no difference and +40%"


# ------------------------------------------------------------------------------ helpers


def _fmt(est, lo, hi, digits: int = 2, percent: bool = False) -> str:
    if est is None or not np.isfinite(est):
        return "–"
    if percent:
        return f"{100 * est:.{max(digits - 1, 0)}f}% ({100 * lo:.{max(digits - 1, 0)}f}–{100 * hi:.{max(digits - 1, 0)}f})"
    return f"{est:.{digits}f} ({lo:.{digits}f} to {hi:.{digits}f})"


def _fmt_p(p) -> str:
    if p is None or not np.isfinite(p):
        return "–"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def _zscore(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    m = w @ x / w.sum()
    sd = np.sqrt(w @ (x - m) ** 2 / w.sum())
    return (x - m) / sd if sd > 0 else x - m


def _merge_sparse_levels(y: np.ndarray, min_n: int) -> tuple[np.ndarray, list[str], list[str]]:
    """Ordinal codes 0..K−1 after merging levels with fewer than `min_n` respondents into their
    smaller neighbour (a level absent from a training fold has no threshold). Returns codes, level
    labels ("0–1" for a merged level) and notes."""
    values = np.unique(y)
    groups = [[v] for v in values]
    counts = [int((y == v).sum()) for v in values]
    notes = []
    while len(groups) > 2 and min(counts) < min_n:
        i = int(np.argmin(counts))
        if i == 0:
            j = 1
        elif i == len(groups) - 1:
            j = i - 1
        else:
            j = i - 1 if counts[i - 1] <= counts[i + 1] else i + 1
        a, b = sorted((i, j))
        groups[a] = groups[a] + groups[b]
        counts[a] += counts[b]
        del groups[b], counts[b]
    labels = [f"{_num(g[0])}–{_num(g[-1])}" if len(g) > 1 else _num(g[0]) for g in groups]
    merged = [lab for lab, g in zip(labels, groups) if len(g) > 1]
    if merged:
        notes.append(f"levels merged because fewer than {min_n} respondents gave them: {', '.join(merged)}")
    lookup = {v: k for k, g in enumerate(groups) for v in g}
    return np.array([lookup[v] for v in y]), labels, notes


def _num(v) -> str:
    return f"{v:g}" if isinstance(v, (float, np.floating)) else str(v)


@dataclass
class OutcomeData:
    """One outcome's analysis rows: y coded for its model family, predictors (z-scored), controls."""

    outcome: LoyaltyOutcome
    rows: np.ndarray  # positions in the study frame
    y: np.ndarray  # ordinal codes 0..K−1 / 0-1 / numbers
    levels: list[str]
    w: np.ndarray
    Z: pd.DataFrame  # z-scored predictors (columns = predictor names)
    C: pd.DataFrame  # control design (dummies), may have no columns
    notes: list[str]

    @property
    def n(self) -> int:
        return len(self.rows)

    def design(self, names: list[str], controls: bool = False) -> np.ndarray:
        parts = [self.Z[names].to_numpy(float)]
        if controls and self.C.shape[1]:
            parts.append(self.C.to_numpy(float))
        return np.column_stack(parts)



# ------------------------------------------------------------------------------ the study


class LoyaltyStudy:
    """All analyses of notebook 20 on one analysis table. Methods return display-ready tables and
    figures; `results()` gives the `loyalty` section of results.json."""

    def __init__(self, df: pd.DataFrame, cb: Codebook, *, ces: str = "ces", csat: str = "csat",
                 primary: str | None = None, design: Design | None = None, seed: int = DEFAULT_SEED,
                 min_level_n: int = 10):
        self.cb = cb
        self.df = df.reset_index(drop=True)
        self.inputs = loyalty_inputs(cb, ces, csat)
        self.seed = seed
        self.min_level_n = min_level_n
        w = self.df[WEIGHT].to_numpy(float) if WEIGHT in self.df else np.ones(len(self.df))
        self.design = design if design is not None else Design(w)
        self.weights = self.design.weights
        self.weighted = bool(np.ptp(self.weights) > 1e-9 * self.weights.mean())
        self.cov_type = "robust" if self.weighted else "model"
        self.scores = pd.DataFrame({p.name: p.scores(self.df, cb) for p in self.inputs.predictors}, index=self.df.index)
        self.primary = self._choose_primary(primary)
        self._data: dict[str, OutcomeData] = {}
        self.cv: dict[str, CVResult] = {}
        self.summary = pd.DataFrame()  # set by compare()
        self.diffs = pd.DataFrame()  # set by differences()
        self.verdict_info: dict = {}  # set by verdict()
        self.sections: dict = {}  # results of the displayed sections, for results.json

    # ---- set-up ----------------------------------------------------------------------------
    @property
    def skip_reason(self) -> str | None:
        if not self.inputs.outcomes:
            return "the codebook declares no loyalty `outcomes`."
        if not self.inputs.predictors:
            return "the codebook declares no `scales` (CES, CSAT or another metric) to predict loyalty with."
        if not any(self.inputs.predictors_for(o) for o in self.inputs.outcomes):
            return "every declared scale is itself the outcome; there is nothing to predict loyalty with."
        return None

    @property
    def comparison_skip_reason(self) -> str | None:
        missing = [n for n, p in (("CES", self.inputs.ces), ("CSAT", self.inputs.csat)) if p is None]
        if missing:
            return (f"the codebook declares no {' or '.join(missing)} scale, so CES cannot be compared with CSAT; "
                    "the other declared scales are compared instead.")
        return None

    def _choose_primary(self, primary: str | None) -> LoyaltyOutcome | None:
        outs = self.inputs.outcomes
        if not outs:
            return None
        if primary:
            found = next((o for o in outs if o.name == primary), None)
            if found is None:
                raise ValueError(f"primary_outcome {primary!r} is not one of the codebook outcomes "
                                 f"{[o.name for o in outs]}")
            return found
        # Gartner's loyalty outcome was a stated intention: the first likert outcome, else the first
        return next((o for o in outs if o.kind == "likert"), outs[0])

    def outcome_data(self, outcome: LoyaltyOutcome) -> OutcomeData:
        """Complete cases of the outcome, its predictors and the controls; predictors z-scored."""
        if outcome.name in self._data:
            return self._data[outcome.name]
        preds = self.inputs.predictors_for(outcome)
        y_all = outcome.values(self.df)
        ok = y_all.notna() & self.scores[[p.name for p in preds]].notna().all(axis=1)
        C = self.controls
        ok &= C.notna().all(axis=1)
        rows = np.flatnonzero(ok.to_numpy())
        w = self.weights[rows]
        y = y_all.to_numpy()[rows]
        notes: list[str] = []
        if outcome.family == "ordinal":
            y, levels, notes = _merge_sparse_levels(y, self.min_level_n)
        elif outcome.family == "binary":
            y, levels = y.astype(int), ["not", "loyal"]
        else:
            levels = []
        Z = pd.DataFrame({p.name: _zscore(self.scores[p.name].to_numpy(float)[rows], w) for p in preds})
        Cd = C.iloc[rows].reset_index(drop=True)
        Cd = Cd.loc[:, Cd.std() > 0] if Cd.shape[1] else Cd
        data = OutcomeData(outcome, rows, y, levels, w, Z, Cd, notes)
        self._data[outcome.name] = data
        return data

    @functools.cached_property
    def controls(self) -> pd.DataFrame:
        """The declared controls as model columns: dummies (first level dropped) for segments and
        text columns, numbers as they are; NaN where the control is missing."""
        parts = []
        for c in self.inputs.controls:
            col = self.df[c.column]
            if c.categorical or not pd.api.types.is_numeric_dtype(col):
                d = pd.get_dummies(col.astype("string"), prefix=c.column, drop_first=True, dtype=float)
                d[col.isna().to_numpy()] = np.nan
                parts.append(d)
            else:
                parts.append(pd.to_numeric(col, errors="coerce").rename(c.column).to_frame())
        return pd.concat(parts, axis=1) if parts else pd.DataFrame(index=self.df.index)

    def models_for(self, outcome: LoyaltyOutcome) -> dict[str, tuple[list[str], bool, str]]:
        """Model name -> (predictors, with controls?, label): every scale alone, CES + CSAT (or all
        scales when CES or CSAT is missing), and that model plus the declared controls."""
        preds = [p.name for p in self.inputs.predictors_for(outcome)]
        out = {p: ([p], False, f"{self.inputs.predictor(p).label} only") for p in preds}
        ces, csat = self.inputs.ces, self.inputs.csat
        if ces and csat and ces.name in preds and csat.name in preds:
            base, label = [ces.name, csat.name], f"{ces.label} + {csat.label}"
        elif len(preds) > 1:
            base, label = preds, " + ".join(self.inputs.predictor(p).label for p in preds)
        else:
            base, label = preds, out[preds[0]][2].replace(" only", "")
        if len(base) > 1:
            out["both"] = (base, False, label)
        if self.inputs.controls:
            out["both + controls"] = (base, True, f"{label} + controls")
        return out

    # ---- 1. descriptives -------------------------------------------------------------------
    def comparison_predictors(self) -> list[Predictor]:
        ces, csat = self.inputs.ces, self.inputs.csat
        return [p for p in (ces, csat) if p is not None] or self.inputs.predictors[:2]

    @single_threaded()
    def level_table(self, outcome: LoyaltyOutcome | None = None) -> pd.DataFrame:
        """Loyalty at each level of each compared predictor: weighted share loyal and disloyal (logit
        95% CI) — or the weighted mean for counts and continuous outcomes — with base n."""
        outcome = outcome or self.primary
        y = outcome.values(self.df)
        flags = outcome.loyal_flags(y)
        rows = []
        for p in self.comparison_predictors():
            lv = _levels(self.scores[p.name], p.scale)
            for level in sorted(lv.dropna().unique()):
                dom = (lv == level).to_numpy() & y.notna().to_numpy()
                if dom.sum() < 2:
                    continue
                row = {"outcome": outcome.name, "predictor": p.label, "level": level, "n": int(dom.sum())}
                if flags is not None:
                    for key, flag in zip(("loyal", "disloyal"), flags):
                        r = weighted_proportion(flag.fillna(0).to_numpy(), self.design, domain=dom)
                        row |= {key: r["estimate"], f"{key}_low": r["ci_low"], f"{key}_high": r["ci_high"]}
                m = weighted_mean(y.to_numpy(), self.design, domain=dom)
                row |= {"mean": m["estimate"], "mean_low": m["ci_low"], "mean_high": m["ci_high"]}
                rows.append(row)
        return pd.DataFrame(rows)

    @single_threaded()
    def effort_groups(self) -> pd.DataFrame:
        """The "96% vs 9%" comparison: share disloyal (and loyal) among customers in the worst and in
        the best box of each compared predictor (CES: high vs low effort), for every outcome with a
        loyal/disloyal definition; weighted shares with logit 95% CIs and the design-based difference."""
        rows = []
        for p in self.comparison_predictors():
            s = self.scores[p.name]
            worst, best = (p.worst_box(s) == 1).to_numpy(), (p.best_box(s) == 1).to_numpy()
            group = pd.Series(np.where(worst, "worst", np.where(best, "best", None)), dtype=object)
            words = (("high effort", "low effort") if p is self.inputs.ces else
                     ("dissatisfied", "satisfied") if p is self.inputs.csat else ("worst", "best"))
            lo_pts = f"{p.scale.min:g}–{p.scale.min + p.box_size - 1:g}"
            hi_pts = f"{p.scale.max - p.box_size + 1:g}–{p.scale.max:g}"
            for o in self.inputs.outcomes:
                flags = o.loyal_flags(o.values(self.df))
                if flags is None:
                    continue
                (loyal, disloyal), (ldef, ddef) = flags, o.loyal_definition()
                for key, flag, definition in (("disloyal", disloyal, ddef), ("loyal", loyal, ldef)):
                    vals = flag.to_numpy()
                    ok = ~np.isnan(vals)
                    if (worst & ok).sum() < 2 or (best & ok).sum() < 2:
                        continue
                    d = difference_in_proportions(vals, group, "worst", "best", self.design)
                    cw = weighted_proportion(np.nan_to_num(vals), self.design, domain=worst & ok)
                    cb_ = weighted_proportion(np.nan_to_num(vals), self.design, domain=best & ok)
                    rows.append({"predictor": p.label, "outcome": o.label, "share": key, "definition": definition,
                                 "worst_box": f"{p.label} {_orient_pts(p, lo_pts)} ({words[0]})",
                                 "best_box": f"{p.label} {_orient_pts(p, hi_pts)} ({words[1]})",
                                 "worst": cw["estimate"], "worst_low": cw["ci_low"], "worst_high": cw["ci_high"],
                                 "n_worst": cw["n"], "best": cb_["estimate"], "best_low": cb_["ci_low"],
                                 "best_high": cb_["ci_high"], "n_best": cb_["n"], "difference": d["estimate"],
                                 "diff_low": d["ci_low"], "diff_high": d["ci_high"], "p_value": d["p_value"]})
        return pd.DataFrame(rows)

    def effort_groups_display(self, table: pd.DataFrame) -> pd.DataFrame:
        """One row per outcome and share (disloyal, loyal); one column per box of each compared scale
        ("CES 1–3"), cells "53.0% (49.7–56.3), n = 1,159"; Gartner's figures beside CES."""
        if not len(table):
            return table
        kinds = {o.label: o.kind for o in self.inputs.outcomes}
        ces = self.inputs.ces.label if self.inputs.ces else None
        rows = []
        for (outcome, share), g in table.groupby(["outcome", "share"], sort=False):
            row = {"outcome": outcome, "share of": g["definition"].iloc[0]}
            for r in g.itertuples():
                for box in ("worst", "best"):
                    row[getattr(r, f"{box}_box")] = (f"{_fmt(getattr(r, box), getattr(r, f'{box}_low'), getattr(r, f'{box}_high'), 2, True)}"
                                                     f", n = {getattr(r, f'n_{box}'):,}")
            if ces and share == "disloyal":
                row["Gartner's figure"] = (f"{GARTNER_DISLOYAL_HIGH_EFFORT:.0%} vs {GARTNER_DISLOYAL_LOW_EFFORT:.0%} "
                                           "\"more disloyal\" (high vs low effort)")
            elif ces and kinds.get(outcome) == "likert":
                row["Gartner's figure"] = f"{GARTNER_REPURCHASE_LOW_EFFORT:.0%} of low-effort customers intend to repurchase"
            else:
                row["Gartner's figure"] = ""
            rows.append(row)
        return pd.DataFrame(rows)

    @single_threaded()
    def correlations(self) -> pd.DataFrame:
        """Spearman correlation of every predictor with every outcome, Fisher-z 95% CI (unweighted,
        `survey_stats.correlation_with_ci`), Holm-adjusted p across the table."""
        rows = []
        for o in self.inputs.outcomes:
            y = o.values(self.df).to_numpy()
            for p in self.inputs.predictors_for(o):
                r = correlation_with_ci(self.scores[p.name].to_numpy(), y, method="spearman")
                rows.append({"outcome": o.label, "predictor": p.label, "rho": r["estimate"], "ci_low": r["ci_low"],
                             "ci_high": r["ci_high"], "n": r["n"], "p_value": r["p_value"]})
        out = pd.DataFrame(rows)
        if len(out):
            out["p_holm"] = adjust_pvalues(out["p_value"].to_numpy(), "holm")
        return out

    # ---- 2. out-of-sample comparison -------------------------------------------------------
    @single_threaded()
    def compare(self, *, n_splits: int = 5, n_repeats: int = 10) -> pd.DataFrame:
        """Repeated stratified k-fold CV of every model for every outcome (same folds for all models
        of an outcome). Returns the tidy summary: outcome, model, metric, estimate, CI."""
        rows = []
        for i, o in enumerate(self.inputs.outcomes):
            if not self.inputs.predictors_for(o):
                continue
            d = self.outcome_data(o)
            models = self.models_for(o)
            designs = {m: d.design(preds, ctrl) for m, (preds, ctrl, _) in models.items()}
            cv = cross_validate(d.y, designs, o.family, d.w, n_splits=n_splits, n_repeats=n_repeats,
                                seed=self.seed + i)
            self.cv[o.name] = cv
            summ = cv.summary()
            summ.insert(0, "outcome", o.name)
            summ["label"] = summ["model"].map({m: lab for m, (_, _, lab) in models.items()})
            rows.append(summ)
        self.summary = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()
        return self.summary

    def _pair(self) -> tuple[str, str] | None:
        ces, csat = self.inputs.ces, self.inputs.csat
        return (ces.name, csat.name) if ces and csat else None

    @single_threaded()
    def differences(self) -> pd.DataFrame:
        """CES − CSAT paired out-of-sample differences per outcome and metric (corrected resampled t),
        Holm-adjusted across outcomes for each metric; plus the Gini and pseudo-R² ratios."""
        pair = self._pair()
        rows = []
        if pair is None:
            return pd.DataFrame()
        a, b = pair
        for o in self.inputs.outcomes:
            cv = self.cv.get(o.name)
            if cv is None or a not in cv.models or b not in cv.models:
                continue
            for metric in ("gini", "r2", "log_loss", "brier", "rmse"):
                if np.all(np.isnan(cv.values(a, metric))):
                    continue
                diff = cv.difference(a, b, metric)
                row = {"outcome": o.name, "label": o.label, "metric": metric, **diff, "n": cv.n,
                       "primary": o is self.primary}
                if metric in ("gini", "r2"):
                    rat = cv.ratio(a, b, metric)
                    row |= {"ratio": rat["estimate"], "ratio_low": rat["ci_low"], "ratio_high": rat["ci_high"]}
                rows.append(row)
        out = pd.DataFrame(rows)
        if len(out):
            out["p_holm"] = out.groupby("metric")["p_value"].transform(lambda p: adjust_pvalues(p.to_numpy(), "holm"))
        self.diffs = out
        return out

    def verdict(self) -> dict:
        """Which metric predicts the primary outcome better, and the verdict on C13 (rules in the
        module docstring), with the sentence for the report."""
        diffs = self.diffs
        if not len(diffs):
            return {}
        row = diffs[(diffs["primary"]) & (diffs["metric"] == "gini")]
        if not len(row):
            return {}
        r = row.iloc[0]
        L, U, R = r["ratio_low"], r["ratio_high"], r["ratio"]
        ces, csat = self.inputs.ces.label, self.inputs.csat.label
        if not np.isfinite(R):
            return {"better": "not estimable", "c13": "not estimable", "text": "not estimable (a Gini is ≤ 0)"}
        better, c13, detail = classify(L, U, ces, csat)
        cv = self.cv[self.primary.name]
        g_a = cv.summary().query("model == @self.inputs.ces.name and metric == 'gini'").iloc[0]
        g_b = cv.summary().query("model == @self.inputs.csat.name and metric == 'gini'").iloc[0]
        more = (R - 1) * 100
        r2 = self.diffs[(self.diffs["primary"]) & (self.diffs["metric"] == "r2")]
        r2_text = (f" Measured by explained variance (pseudo-R²) instead, the ratio would be "
                   f"{r2.iloc[0]['ratio']:.2f} ({r2.iloc[0]['ratio_low']:.2f}–{r2.iloc[0]['ratio_high']:.2f})."
                   if len(r2) and np.isfinite(r2.iloc[0]["ratio"]) else "")
        who = {"ces": ces, "csat": csat}.get(better, better)
        sentence = (
            f"On **{self.primary.label.lower()}**, a model on {ces} alone ranks customers with an out-of-sample "
            f"Gini of {_fmt(g_a.estimate, g_a.ci_low, g_a.ci_high)} against "
            f"{_fmt(g_b.estimate, g_b.ci_low, g_b.ci_high)} for {csat} alone "
            f"(cross-validated, {cv.n_repeats} × {cv.n_splits} folds, n = {cv.n:,}). "
            f"{ces} is **{R:.2f} times** as accurate (95% CI {L:.2f}–{U:.2f}; "
            f"{'+' if more >= 0 else '−'}{abs(more):.0f}%, where the claim says +40%). "
            f"Which predicts better: **{who}**. Gartner's \"40% more accurate\": **{c13}** ({detail})."
            + r2_text)
        self.verdict_info = {"better": better, "c13": c13, "text": f"{c13} ({detail})", "sentence": sentence,
                             "statistic": "ratio of out-of-sample Gini (CES only / CSAT only)",
                             "outcome": self.primary.name}
        return self.verdict_info

    def ratio_record(self) -> dict | None:
        diffs = self.diffs
        if not len(diffs):
            return None
        row = diffs[(diffs["primary"]) & (diffs["metric"] == "gini")]
        if not len(row):
            return None
        r = row.iloc[0]
        return estimate(r["ratio"], r["ratio_low"], r["ratio_high"], int(r["n"]),
                        statistic="ratio of out-of-sample Gini, CES only / CSAT only",
                        outcome=self.primary.name, method="repeated stratified k-fold CV; Nadeau–Bengio "
                        "corrected covariance, delta method on the log ratio")

    def comparison_display(self) -> pd.DataFrame:
        """One row per outcome × model: Gini, pseudo-R², AUC, log-loss / Brier (or RMSE), 95% CIs."""
        rows = []
        labels = {o.name: o.label for o in self.inputs.outcomes}
        for (o, m), g in self.summary.groupby(["outcome", "model"], sort=False):
            get = {r.metric: r for r in g.itertuples()}
            row = {"outcome": labels[o], "model": g["label"].iloc[0]}
            for metric, lab in (("gini", "Gini"), ("r2", "R² / pseudo-R²")):
                r = get.get(metric)
                row[lab] = _fmt(r.estimate, r.ci_low, r.ci_high, 3) if r is not None else "–"
            for metric, lab in (("log_loss", "log-loss"), ("brier", "Brier"), ("rmse", "RMSE")):
                r = get.get(metric)
                row[lab] = f"{r.estimate:.3f}" if r is not None else "–"
            rows.append(row)
        out = pd.DataFrame(rows)
        return out.loc[:, [c for c in out.columns if not (out[c] == "–").all()]]

    def differences_display(self) -> pd.DataFrame:
        diffs = self.diffs
        if not len(diffs):
            return diffs
        rows = []
        for o, g in diffs.groupby("label", sort=False):
            row = {"outcome": o}
            for r in g.itertuples():
                lab = {"gini": "Δ Gini", "r2": "Δ R² / pseudo-R²", "log_loss": "Δ log-loss", "brier": "Δ Brier",
                       "rmse": "Δ RMSE"}[r.metric]
                row[lab] = _fmt(r.estimate, r.ci_low, r.ci_high, 3)
                if r.metric == "gini":
                    row["Gini ratio"] = _fmt(r.ratio, r.ratio_low, r.ratio_high, 2)
                    row["p (Holm)"] = _fmt_p(r.p_holm)
                if r.metric == "r2":
                    row["R² ratio"] = _fmt(r.ratio, r.ratio_low, r.ratio_high, 2)
            rows.append(row)
        return pd.DataFrame(rows)

    # ---- 3. incremental validity and importance --------------------------------------------
    @single_threaded()
    def incremental(self) -> pd.DataFrame:
        """Full-sample unique contribution of each scale: ΔR² (OLS) or Δ McFadden pseudo-R² when it is
        added to the model with the other scales, with a likelihood-ratio test (Wald test with a
        sandwich covariance when the data are weighted). Holm-adjusted across the table."""
        rows = []
        for o in self.inputs.outcomes:
            d = self.outcome_data(o)
            base = self.models_for(o).get("both", (None,))[0]
            if not base or len(base) < 2:
                continue
            full = fit_model(o.family, d.y, d.design(base), d.w, names=base, cov_type=self.cov_type)
            for p in base:
                others = [q for q in base if q != p]
                small = fit_model(o.family, d.y, d.design(others), d.w, names=others, cov_type=self.cov_type)
                t = nested_test(small, full, added=[base.index(p)])
                rows.append({"outcome": o.label, "added": self.inputs.predictor(p).label,
                             "to model with": " + ".join(self.inputs.predictor(q).label for q in others),
                             "R² without": small.r2, "R² with": full.r2, "ΔR²": t["delta_r2"], "test": t["test"],
                             "statistic": t["statistic"], "df": t["df"], "p_value": t["p_value"], "n": d.n})
        out = pd.DataFrame(rows)
        if len(out):
            out["p_holm"] = adjust_pvalues(out["p_value"].to_numpy(), "holm")
        return out

    @single_threaded()
    def dominance(self, n_boot: int = 200) -> pd.DataFrame:
        """General dominance (Shapley/LMG share of R² / McFadden pseudo-R²) of the declared scales for
        every outcome with two or more of them, percentile bootstrap 95% CIs."""
        rows = []
        for i, o in enumerate(self.inputs.outcomes):
            preds = [p.name for p in self.inputs.predictors_for(o)]
            if len(preds) < 2 or len(preds) > 8:
                continue
            d = self.outcome_data(o)
            res = dominance_analysis(o.family, d.y, d.design(preds), preds, d.w, n_boot=n_boot,
                                     seed=self.seed + 100 + i)
            res.insert(0, "outcome", o.label)
            res["predictor"] = [self.inputs.predictor(p).label for p in preds]
            res["n"] = d.n
            rows.append(res)
        return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()

    @single_threaded()
    def key_drivers(self, drivers: list[str], n_boot: int = 0) -> pd.DataFrame:
        """Key-driver quad map table for declared driver items on the primary outcome: importance =
        general-dominance share of pseudo-R², performance = weighted mean on a 0–100 scale."""
        o = self.primary
        y_all = o.values(self.df)
        X = self.df[drivers].apply(pd.to_numeric, errors="coerce")
        ok = (y_all.notna() & X.notna().all(axis=1)).to_numpy()
        w = self.weights[ok]
        y = y_all.to_numpy()[ok]
        if o.family == "ordinal":
            y, _, _ = _merge_sparse_levels(y, self.min_level_n)
        Z = np.column_stack([_zscore(X[c].to_numpy(float)[ok], w) for c in drivers])
        dom = dominance_analysis(o.family, y, Z, drivers, w, n_boot=n_boot, seed=self.seed + 7)
        perf = []
        for c in drivers:
            spec = self.cb.columns.get(c)
            lo = spec.min if spec and spec.min is not None else float(X[c].min())
            hi = spec.max if spec and spec.max is not None else float(X[c].max())
            m = weighted_mean(((X[c] - lo) / (hi - lo) * 100).to_numpy(), self.design)
            perf.append((m["estimate"], m["ci_low"], m["ci_high"]))
        dom["performance"], dom["performance_ci_low"], dom["performance_ci_high"] = map(list, zip(*perf))
        # the codebook's wording of each item, shortened for the chart ("Rating: X (1-5)" -> "X")
        dom["label"] = [re.sub(r"^Rating:\s*|\s*\([^)]*\)$", "", self.cb.columns[c].label) if c in self.cb.columns
                        and self.cb.columns[c].label else c for c in drivers]
        imp_mid, perf_mid = dom["share"].mean(), float(np.mean(perf))
        dom["quadrant"] = [
            ("fix first" if p < perf_mid else "keep up") if s >= imp_mid else ("low priority" if p < perf_mid else
                                                                               "possible overkill")
            for s, p in zip(dom["share"], dom["performance"])]
        dom["n"] = int(ok.sum())
        return dom

    # ---- 4. shape and heterogeneity --------------------------------------------------------
    @single_threaded()
    def shape_tests(self) -> pd.DataFrame:
        """Is the effect of each compared predictor linear, or is there a threshold? Likelihood-ratio
        (or robust Wald) test of a model with one parameter per level against the straight line, and
        the adjacent-level step with the largest rise in the share loyal (or the mean)."""
        o = self.primary
        d = self.outcome_data(o)
        y_vals = o.values(self.df)
        flags = o.loyal_flags(y_vals)
        target = flags[0] if flags is not None else y_vals
        rows = []
        for p in self.comparison_predictors():
            if p.name not in d.Z:
                continue
            lv = _levels(self.scores[p.name], p.scale).to_numpy()[d.rows]
            values = np.unique(lv)
            if len(values) < 3:
                continue
            dummies = (lv[:, None] == values[None, 1:]).astype(float)
            X = np.column_stack([d.Z[p.name].to_numpy(), dummies[:, 1:]])  # linear + deviations
            names = ["linear", *[f"L{v:g}" for v in values[2:]]]
            small = fit_model(o.family, d.y, X[:, :1], d.w, names=names[:1], cov_type=self.cov_type)
            big = fit_model(o.family, d.y, X, d.w, names=names, cov_type=self.cov_type)
            t = nested_test(small, big, added=list(range(1, X.shape[1])))
            level_all = _levels(self.scores[p.name], p.scale)
            steps = []
            for a, b in zip(values[:-1], values[1:]):
                grp = pd.Series(np.where(level_all == b, "b", np.where(level_all == a, "a", None)), dtype=object)
                fn = difference_in_proportions if flags is not None else _diff_means
                try:
                    steps.append((a, b, fn(target.to_numpy(), grp, "b", "a", self.design)))
                except ValueError:
                    continue
            row = {"predictor": p.label, "outcome": o.label, "test": t["test"], "statistic": t["statistic"],
                   "df": t["df"], "p_value": t["p_value"], "largest_step": "–", "step": np.nan, "step_low": np.nan,
                   "step_high": np.nan, "n": d.n}
            if steps:
                a, b, best = max(steps, key=lambda s: s[2]["estimate"])
                row |= {"largest_step": f"{a:g} → {b:g}", "step": best["estimate"], "step_low": best["ci_low"],
                        "step_high": best["ci_high"]}
            rows.append(row)
        out = pd.DataFrame(rows)
        if len(out):
            out["p_holm"] = adjust_pvalues(out["p_value"].to_numpy(), "holm")
        return out

    @single_threaded()
    def heterogeneity(self, groups: pd.Series, *, what: str, min_n: int = 50) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Do CES and CSAT matter differently by group (channel of last interaction, persona)?

        Per group with at least `min_n` respondents: the primary outcome's CES + CSAT model fitted in
        the group (per-SD coefficients, 95% CI). Interaction tests on the pooled model
        y ~ CES + CSAT + group + CES×group + CSAT×group: one test per scale (LR, or robust Wald when
        weighted), Holm-adjusted within the call. Returns (per-group table, tests)."""
        o = self.primary
        d = self.outcome_data(o)
        pair = [p.name for p in self.comparison_predictors() if p.name in d.Z]
        g = groups.reset_index(drop=True).iloc[d.rows].reset_index(drop=True)
        counts = g.value_counts()
        keep_levels = [lv for lv in counts.index if counts[lv] >= min_n]
        keep = g.isin(keep_levels).to_numpy()
        rows = []
        for lv in sorted(keep_levels, key=str):
            m = (g == lv).to_numpy()
            if o.family != "linear" and len(np.unique(d.y[m])) < 2:
                continue
            yy = d.y[m]
            if o.family == "ordinal":
                yy = np.unique(yy, return_inverse=True)[1]
            try:
                fit = fit_model(o.family, yy, d.design(pair)[m], d.w[m], names=pair, cov_type=self.cov_type)
            except (ValueError, np.linalg.LinAlgError):
                continue
            sf = fit.summary_frame().set_index("term")
            for p in pair:
                rows.append({what: lv, "predictor": self.inputs.predictor(p).label, "coef": sf.loc[p, "estimate"],
                             "ci_low": sf.loc[p, "ci_low"], "ci_high": sf.loc[p, "ci_high"], "n": int(m.sum())})
        tests = []
        if len(keep_levels) >= 2:
            yk = d.y[keep]
            if o.family == "ordinal":
                yk = np.unique(yk, return_inverse=True)[1]
            gk = g[keep].astype(str)
            G = pd.get_dummies(gk, drop_first=True, dtype=float).to_numpy()
            Xb = d.design(pair)[keep]
            inter = {p: Xb[:, [j]] * G for j, p in enumerate(pair)}
            X_full = np.column_stack([Xb, G, *inter.values()])
            names = [*pair, *[f"g{j}" for j in range(G.shape[1])],
                     *[f"{p}:g{j}" for p in pair for j in range(G.shape[1])]]
            full = fit_model(o.family, yk, X_full, d.w[keep], names=names, cov_type=self.cov_type)
            for j, p in enumerate(pair):
                idx = [i for i, nm in enumerate(names) if nm.startswith(f"{p}:")]
                rest = [i for i in range(len(names)) if i not in idx]
                small = fit_model(o.family, yk, X_full[:, rest], d.w[keep], names=[names[i] for i in rest],
                                  cov_type=self.cov_type)
                t = nested_test(small, full, added=idx)
                tests.append({"by": what, "interaction": f"{self.inputs.predictor(p).label} × {what}",
                              "test": t["test"], "statistic": t["statistic"], "df": t["df"],
                              "p_value": t["p_value"], "groups": len(keep_levels), "n": int(keep.sum())})
        tests = pd.DataFrame(tests)
        if len(tests):
            tests["p_holm"] = adjust_pvalues(tests["p_value"].to_numpy(), "holm")
        return pd.DataFrame(rows), tests

    def channel_groups(self) -> pd.Series | None:
        col = self.inputs.channel_column
        if not col or col not in self.df:
            return None
        labels = {code_key(k): v for k, v in self.inputs.channel_labels.items()}
        return self.df[col].map(lambda v: None if pd.isna(v) else labels.get(code_key(v), str(v)))

    def persona_groups(self, output_dir: str | Path) -> pd.Series | None:
        """Each respondent's persona (its name when the persona study gave one) from the persona
        study's `personas.parquet` in the run folder; None when it is absent."""
        path = Path(output_dir) / PERSONA_FILE
        if not path.exists():
            return None
        per = pd.read_parquet(path)
        idc = self.cb.id_column
        if idc not in per or "persona" not in per or idc not in self.df:
            return None
        label = per["persona_name"] if "persona_name" in per else per["persona"]
        lookup = dict(zip(per[idc].astype(str), label))
        return self.df[idc].astype(str).map(lookup)

    # ---- 5. power --------------------------------------------------------------------------
    @single_threaded()
    def power(self, *, sizes: list[int] | None = None, reps: int = 20, cv_repeats: int = 2, n_splits: int = 5,
              max_n: int = 20_000, population_n: int = 10_000) -> tuple[pd.DataFrame, dict]:
        """How many respondents to tell CES and CSAT apart at the observed difference (80% power)?

        1. Analytic: the observed CES − CSAT Gini difference d and its corrected SE s at n give
           n80 = n·((z₀.₉₇₅ + z₀.₈)·s/d)² (the SE shrinks as 1/√n); `sizes` default to 0.5, 1 and 2 ×
           n80 (capped at `max_n`).
        2. Simulated (engagement.simulate): the simulator's loadings on CES and CSAT are split, keeping
           their sum, so that its population Gini difference on the outcome of the same kind equals
           d (secant steps on simulated populations of `population_n`, or 2.5 × the largest size,
           drawn with common random numbers). From the last population, `reps` samples of each size
           are drawn with replacement and the study's own test is run on each (CES-only vs CSAT-only
           CV, `cv_repeats` × `n_splits` folds; significant when the corrected 95% interval of the
           difference excludes 0 on the observed side). Power = share significant, Wilson 95% CI.
        """
        from .simulate import SimulationParams, default_codebook, simulate_survey

        o = self.primary
        pair = self._pair()
        cv = self.cv.get(o.name) if o else None
        if pair is None or cv is None:
            return pd.DataFrame(), {"skipped": True, "reason": "CES and CSAT were not both compared"}
        diff = cv.difference(*pair, "gini")
        d_obs, se_obs, n_obs = diff["estimate"], diff["se"], cv.n
        z = stats.norm.ppf(0.975) + stats.norm.ppf(0.80)
        n80 = float(n_obs * (z * se_obs / d_obs) ** 2) if d_obs != 0 else float("inf")
        info = {"difference": d_obs, "se": se_obs, "n": n_obs, "n80_analytic": n80, "outcome": o.name}
        if sizes is None or len(sizes) == 0:
            base = n80 if np.isfinite(n80) else 4 * max_n
            sizes = sorted({int(min(max(_nice(base * f), 100), max_n)) for f in (0.5, 1.0, 2.0)})
        sizes = [int(n) for n in sizes]
        sim_col = {oc["kind"]: oc["column"] for oc in reversed(default_codebook()["outcomes"])}.get(o.kind)
        table = pd.DataFrame({"n": sizes, "power_analytic": [_analytic_power(d_obs, se_obs, n_obs, n) for n in sizes]})
        if reps <= 0 or sim_col is None:
            info |= {"simulated": False, "reason": "power_reps = 0" if reps <= 0 else
                     f"the simulator has no {o.kind} outcome"}
            return table, info
        fam = FAMILY_OF_KIND[o.kind]
        defaults = SimulationParams()
        total = defaults.effect_effort + defaults.effect_satisfaction
        n_pop = int(max(population_n, 2.5 * max(sizes)))
        clean = dict(n=n_pop, seed=self.seed + 9, speeder_rate=0, straightliner_rate=0, attention_fail_rate=0,
                     duplicate_rate=0, item_missing_rate=0, skew_sample=False)

        def population(delta: float):
            sim, _, _ = simulate_survey(SimulationParams(effect_effort=total / 2 + delta,
                                                         effect_satisfaction=total / 2 - delta, **clean))
            y = sim[sim_col].to_numpy(float)
            ces, csat = sim["ces"].to_numpy(float), sim["csat"].to_numpy(float)
            d = (2 * concordance(ces, y) - 1) - (2 * concordance(csat, y) - 1)
            return d, y, ces, csat

        points = [(0.0, population(0.0)), ((defaults.effect_effort - defaults.effect_satisfaction) / 2, None)]
        points[1] = (points[1][0], population(points[1][0]))
        for _ in range(3):  # secant steps; the last population drawn is the one sampled
            (x0, p0), (x1, p1) = points[-2], points[-1]
            if abs(p1[0] - d_obs) < 0.25 * se_obs or p1[0] == p0[0]:
                break
            x2 = float(np.clip(x1 + (d_obs - p1[0]) * (x1 - x0) / (p1[0] - p0[0]), -total / 2, total / 2))
            points.append((x2, population(x2)))
        delta, (d_sim, y_pop, ces_pop, csat_pop) = points[-1]
        info |= {"simulated": True, "effect_effort": total / 2 + delta, "effect_satisfaction": total / 2 - delta,
                 "simulated_difference": d_sim, "population_n": n_pop, "outcome_simulated": sim_col}
        rng = np.random.default_rng(self.seed + 11)
        sign = 1.0 if d_obs >= 0 else -1.0
        rows = []
        for n in sizes:
            hits = 0
            for r in range(reps):
                idx = rng.integers(0, n_pop, n)
                y = y_pop[idx]
                if fam == "ordinal":
                    y, _, _ = _merge_sparse_levels(y, self.min_level_n)
                ones = np.ones(n)
                designs = {"ces": _zscore(ces_pop[idx], ones)[:, None], "csat": _zscore(csat_pop[idx], ones)[:, None]}
                res = cross_validate(y, designs, fam, n_splits=n_splits, n_repeats=cv_repeats,
                                     seed=self.seed + r).difference("ces", "csat", "gini")
                hits += bool(res["ci_low"] > 0) if sign > 0 else bool(res["ci_high"] < 0)
            lo_ci, hi_ci = _wilson(hits, reps)
            rows.append({"n": n, "power_simulated": hits / reps, "ci_low": lo_ci, "ci_high": hi_ci, "reps": reps})
        return table.merge(pd.DataFrame(rows), on="n"), info

    # ---- recording -------------------------------------------------------------------------
    def results(self) -> dict:
        """The `loyalty` section of results.json: per-outcome metrics, the ratio, the verdicts, the
        C13 claims entry and whatever the displayed sections recorded."""
        summary, diffs, verdict = self.summary, self.diffs, self.verdict_info
        outs = []
        for o in self.inputs.outcomes:
            if o.name not in self.cv:
                continue
            cv = self.cv[o.name]
            d = self.outcome_data(o)
            s = summary[summary["outcome"] == o.name]
            models = []
            for m, (preds, ctrl, label) in self.models_for(o).items():
                sm = s[s["model"] == m]
                models.append({"model": m, "label": label, "predictors": preds, "controls": ctrl,
                               "metrics": {r.metric: estimate(r.estimate, r.ci_low, r.ci_high, cv.n)
                                           for r in sm.itertuples()}})
            entry = {"name": o.name, "label": o.label, "kind": o.kind, "model": FAMILY_LABEL[o.family],
                     "n": cv.n, "primary": o is self.primary, "levels": d.levels, "notes": d.notes, "models": models}
            if len(diffs):
                dd = diffs[diffs["outcome"] == o.name]
                entry["ces_minus_csat"] = {r.metric: {"estimate": r.estimate, "ci_low": r.ci_low, "ci_high": r.ci_high,
                                                      "p_value": r.p_value, "p_holm": r.p_holm} for r in dd.itertuples()}
                g = dd[dd["metric"] == "gini"]
                if len(g):
                    r = g.iloc[0]
                    entry["ratio_gini"] = estimate(r["ratio"], r["ratio_low"], r["ratio_high"], cv.n)
                    entry["better"] = ("ces" if r["ratio_low"] > 1 else "csat" if r["ratio_high"] < 1
                                       else "not distinguishable")
                rr = dd[dd["metric"] == "r2"]
                if len(rr):
                    r = rr.iloc[0]
                    entry["ratio_r2"] = estimate(r["ratio"], r["ratio_low"], r["ratio_high"], cv.n)
            outs.append(entry)
        cv0 = next(iter(self.cv.values()), None)
        out = {
            "outcomes": outs,
            "primary_outcome": self.primary.name if self.primary else None,
            "predictors": [{"name": p.name, "label": p.label, "columns": p.columns, "reversed": p.reversed}
                           for p in self.inputs.predictors],
            "notes": self.inputs.notes,
            "weighted": self.weighted,
            "cv": {"folds": cv0.n_splits, "repeats": cv0.n_repeats, "seed": self.seed,
                   "interval": "Nadeau–Bengio corrected resampled t"} if cv0 else None,
            **self.sections,
        }
        ratio = self.ratio_record()
        if ratio is not None:
            out["ratio"] = ratio
            out["verdict"] = verdict
            out["claims"] = [claim_entry("C13", ratio["estimate"], ratio["ci_low"], ratio["ci_high"], ratio["n"],
                                         statistic=ratio["statistic"], outcome=ratio["outcome"],
                                         study_verdict=verdict.get("c13"), better=verdict.get("better"),
                                         unit="ratio")]
        return out


# --------------------------------------------------------------------------- small helpers


def _levels(scores: pd.Series, scale: Scale) -> pd.Series:
    """Scale points for by-level tables: the score itself when it takes few values, else the score
    rounded to the nearest scale point (composites)."""
    if scores.dropna().nunique() <= 11:
        return scores
    return np.floor(scores + 0.5).clip(scale.min, scale.max)


def _orient_pts(p: Predictor, pts: str) -> str:
    """Oriented scale points in the raw wording (a reversed scale's best box is its lowest raw points)."""
    if not p.reversed:
        return pts
    a, b = (float(x) for x in pts.split("–"))
    lo, hi = p.scale.min + p.scale.max - b, p.scale.min + p.scale.max - a
    return f"{lo:g}–{hi:g} (raw)"


def _diff_means(y, group, a, b, design):
    from .survey_stats import difference_in_means

    return difference_in_means(y, group, a, b, design)


def _nice(x: float) -> float:
    """Round to two significant digits."""
    if not np.isfinite(x) or x <= 0:
        return x
    mag = 10 ** np.floor(np.log10(x) - 1)
    return float(np.round(x / mag) * mag)


def _analytic_power(d: float, se: float, n_obs: int, n: int) -> float:
    if not np.isfinite(se) or se <= 0:
        return float("nan")
    se_n = se * np.sqrt(n_obs / n)
    z = stats.norm.ppf(0.975)
    return float(stats.norm.cdf(abs(d) / se_n - z) + stats.norm.cdf(-abs(d) / se_n - z))


def _wilson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    if n == 0:
        return float("nan"), float("nan")
    z = stats.norm.ppf((1 + level) / 2)
    p = k / n
    den = 1 + z**2 / n
    mid = (p + z**2 / (2 * n)) / den
    half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / den
    return float(max(mid - half, 0.0)), float(min(mid + half, 1.0))


# ---------------------------------------------------------------------------------- charts


def _fig(height: float):
    fig, ax = plt.subplots(figsize=(plots.FIG_WIDTH, height))
    return fig, ax


def _done(fig, ax, title: str, n: float, note: str | None = None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fig.tight_layout()
    plots.finish(ax, title, n, note)
    plt.close(fig)
    return fig


def ratio_chart(diffs: pd.DataFrame, study: LoyaltyStudy) -> plt.Figure:
    """The chart that answers the question: CES / CSAT ratio of out-of-sample Gini per outcome with
    95% CIs, against 1 (equally accurate) and 1.40 (the claim)."""
    g = diffs[diffs["metric"] == "gini"].reset_index(drop=True)
    fig, ax = _fig(1.2 + 0.55 * len(g))
    pos = np.arange(len(g))
    colors = [plots.PALETTE[0] if p else plots.PALETTE[7] for p in g["primary"]]
    for i, r in g.iterrows():
        ax.errorbar([r["ratio"]], [i], xerr=[[r["ratio"] - r["ratio_low"]], [r["ratio_high"] - r["ratio"]]],
                    fmt="o", color=colors[i], capsize=3, lw=1.6, ms=6)
    ax.axvline(1.0, color="#444444", lw=1, ls="--")
    ax.axvline(CLAIMED_RATIO, color=plots.PALETTE[1], lw=1.4)
    ax.text(1.0, -0.75, " equally accurate", fontsize=8, color="#444444", va="center")
    ax.text(CLAIMED_RATIO, -0.75, " claim: 40% more accurate", fontsize=8, color=plots.PALETTE[1], va="center")
    ax.set_yticks(pos, [f"{lab}{' (primary)' if p else ''}" for lab, p in zip(g["label"], g["primary"])])
    ax.set_ylim(len(g) - 0.5, -1.2)
    lo = min(0.8, float(g["ratio_low"].min()) - 0.05)
    hi = max(1.5, float(g["ratio_high"].max()) + 0.05)
    ax.set_xlim(lo, hi)
    ces, csat = study.inputs.ces.label, study.inputs.csat.label
    ax.set_xlabel(f"out-of-sample Gini of {ces} alone ÷ Gini of {csat} alone (95% CI)")
    return _done(fig, ax, f"Does {ces} predict loyalty 40% more accurately than {csat}?", int(g["n"].max()),
                 "Repeated stratified cross-validation; intervals corrected for overlapping folds.")


def level_chart(levels: pd.DataFrame, study: LoyaltyStudy) -> plt.Figure:
    """Share loyal (or mean outcome) by level of each compared predictor, 95% CI."""
    o = study.primary
    defs = o.loyal_definition()
    key = "loyal" if defs is not None and "loyal" in levels else "mean"
    preds = list(dict.fromkeys(levels["predictor"]))
    fig, axes = plt.subplots(1, len(preds), figsize=(plots.FIG_WIDTH, 3.2), sharey=True, squeeze=False)
    axes = axes[0]
    scale = 100 if key == "loyal" else 1
    for ax, p, color in zip(axes, preds, plots.PALETTE):
        t = levels[levels["predictor"] == p]
        ax.errorbar(t["level"].to_numpy(float), t[key].to_numpy() * scale,
                    yerr=np.vstack([(t[key] - t[f"{key}_low"]).to_numpy(), (t[f"{key}_high"] - t[key]).to_numpy()]) * scale,
                    color=color, marker="o", capsize=3)
        pred = next(q for q in study.inputs.predictors if q.label == p)
        ax.set_xlabel(f"{p} ({'reversed, ' if pred.reversed else ''}higher = better)")
        ax.set_xticks(t["level"].to_numpy(float))
    axes[0].set_ylabel(f"% {defs[0]}" if key == "loyal" else f"mean {o.label}")
    title = f"Where does loyalty drop? {o.label} by level"
    return _done(fig, axes[0], title, int(levels.groupby("predictor")["n"].sum().max()),
                 "Weighted; 95% CI (logit for shares).")


def dominance_chart(dom: pd.DataFrame) -> plt.Figure:
    outcomes = list(dict.fromkeys(dom["outcome"]))
    preds = list(dict.fromkeys(dom["predictor"]))
    fig, ax = _fig(1.0 + 0.28 * len(outcomes) * len(preds))
    height = 0.8 / len(preds)
    for j, p in enumerate(preds):
        t = dom[dom["predictor"] == p].set_index("outcome").reindex(outcomes)
        pos = np.arange(len(outcomes)) + (j - (len(preds) - 1) / 2) * height
        ax.barh(pos, t["share"] * 100, height=height, color=plots.PALETTE[j % len(plots.PALETTE)], label=p,
                xerr=np.vstack([(t["share"] - t["share_ci_low"]).clip(lower=0).to_numpy() * 100,
                                (t["share_ci_high"] - t["share"]).clip(lower=0).to_numpy() * 100]), capsize=2)
    ax.set_yticks(np.arange(len(outcomes)), outcomes)
    ax.invert_yaxis()
    ax.set_xlabel("% of explained variation (general dominance, 95% bootstrap CI)")
    ax.legend(fontsize=8, loc="best")
    return _done(fig, ax, "Which metric carries the explained loyalty?", int(dom["n"].max()),
                 "Shapley/LMG shares of R² (OLS) or McFadden pseudo-R² (logit models).")


def heterogeneity_chart(table: pd.DataFrame, what: str, outcome_label: str, family: str) -> plt.Figure:
    unit = {"ordinal": "log-odds of a higher answer per +1 SD (95% CI)",
            "binary": "log-odds of loyal per +1 SD (95% CI)"}.get(family, "change in the outcome per +1 SD (95% CI)")
    groups = list(dict.fromkeys(table[what]))
    preds = list(dict.fromkeys(table["predictor"]))
    fig, ax = _fig(1.0 + 0.22 * len(groups) * len(preds))
    step = 0.8 / len(preds)
    for j, p in enumerate(preds):
        t = table[table["predictor"] == p].set_index(what).reindex(groups)
        pos = np.arange(len(groups)) + (j - (len(preds) - 1) / 2) * step
        ax.errorbar(t["coef"].to_numpy(), pos, xerr=np.vstack([(t["coef"] - t["ci_low"]).to_numpy(),
                                                             (t["ci_high"] - t["coef"]).to_numpy()]), fmt="o",
                    color=plots.PALETTE[j], capsize=2, label=p, ms=4)
    ax.axvline(0, color="#444444", lw=0.8)
    ax.set_yticks(np.arange(len(groups)), [str(g) for g in groups])
    ax.invert_yaxis()
    ax.set_xlabel(unit)
    ax.legend(fontsize=8, loc="best")
    return _done(fig, ax, f"Do effort and satisfaction matter equally in every {what}?", int(table.groupby(what)["n"].first().sum()),
                 f"Outcome: {outcome_label}; CES and CSAT in one model per {what}.")


def quad_map(drivers: pd.DataFrame, outcome_label: str) -> plt.Figure:
    fig, ax = _fig(4.2)
    ax.scatter(drivers["performance"], drivers["share"] * 100, color=plots.PALETTE[0])
    for r in drivers.itertuples():
        ax.annotate(str(getattr(r, "label", r.predictor)), (r.performance, r.share * 100), fontsize=8, xytext=(3, 3),
                    textcoords="offset points")
    ax.axvline(drivers["performance"].mean(), color="#888888", lw=0.8, ls="--")
    ax.axhline(drivers["share"].mean() * 100, color="#888888", lw=0.8, ls="--")
    ax.set_xlabel("performance (weighted mean, 0–100)")
    ax.set_ylabel("importance (% of explained loyalty)")
    return _done(fig, ax, "Which drivers to fix first?", int(drivers["n"].max()), f"Outcome: {outcome_label}.")


# --------------------------------------------------------------------------- codebook drivers


def driver_columns(cb: Codebook, df: pd.DataFrame) -> list[str]:
    """Driver items for the quad map: the codebook's `drivers` list when its schema has one."""
    cols = list(getattr(cb, "drivers", None) or [])
    return [c for c in cols if c in df.columns]


# ------------------------------------------------------------------ notebook sections (display)
# Each function shows one section of notebook 20 (tables, charts, notes — or a skip note) and keeps
# its numbers in `study.sections` for results.json. The notebook only calls these.


def _show():
    from IPython.display import display

    from .nb import show_markdown, show_table, skip_note

    return display, show_markdown, show_table, skip_note


def _skip(study: LoyaltyStudy, key: str, title: str, reason: str) -> None:
    _, _, _, skip_note = _show()
    if reason == study.skip_reason and key != "inputs":  # said in full under "What is compared"
        reason = "the study has no inputs in this codebook (see the first section)."
    study.sections[key] = skip_note(title, reason)


def _records(df: pd.DataFrame) -> list[dict]:
    return df.to_dict(orient="records") if len(df) else []


def show_inputs(study: LoyaltyStudy) -> None:
    """What the study compares: predictors (with reversals), outcomes and their models, controls."""
    display, show_markdown, show_table, _ = _show()
    if study.skip_reason:
        _skip(study, "inputs", "Loyalty study", study.skip_reason)
        return
    rows = [{"role": "predictor", "name": p.label, "columns": ", ".join(p.columns),
             "scale": f"{p.scale.min:g}–{p.scale.max:g}", "note": "reversed (higher was worse)" if p.reversed else ""}
            for p in study.inputs.predictors]
    rows += [{"role": "outcome" + (" (primary)" if o is study.primary else ""), "name": o.label,
              "columns": o.outcome.column, "scale": o.kind, "note": FAMILY_LABEL[o.family]}
             for o in study.inputs.outcomes]
    rows += [{"role": "control", "name": c.column, "columns": c.column, "scale": "categorical" if c.categorical
              else "numeric", "note": ""} for c in study.inputs.controls]
    show_table(pd.DataFrame(rows), caption="Inputs declared in the codebook")
    notes = list(study.inputs.notes)
    if study.comparison_skip_reason:
        notes.append(study.comparison_skip_reason[0].upper() + study.comparison_skip_reason[1:])
    if study.weighted:
        notes.append("Estimates are weighted by the survey weights; model tests use sandwich (robust) covariances.")
    for note in notes:
        show_markdown(f"- {note}")


def show_answer(study: LoyaltyStudy, *, n_splits: int = 5, n_repeats: int = 10) -> None:
    """Run the cross-validated comparison and show the answer: verdict sentence and ratio chart."""
    display, show_markdown, show_table, _ = _show()
    if study.skip_reason:
        _skip(study, "answer", "CES vs CSAT", study.skip_reason)
        return
    study.compare(n_splits=n_splits, n_repeats=n_repeats)
    study.differences()
    if study.comparison_skip_reason:
        _skip(study, "answer", "CES vs CSAT", study.comparison_skip_reason)
        return
    v = study.verdict()
    show_markdown(v["sentence"])
    display(ratio_chart(study.diffs, study))
    show_markdown(
        f"*How to read it.* Each model is fitted on {n_splits - 1}/{n_splits} of the respondents and scored on the "
        f"other 1/{n_splits}, for each of the {n_splits} parts and {n_repeats} times over with different splits. The Gini (2·AUC − 1; for ordered outcomes Somers' D, "
        "2·Harrell's C − 1) measures how well a model ranks customers from least to most loyal. The ratio CES ÷ "
        "CSAT is the \"X times as accurate\" figure; 1.40 is the claim. Intervals allow for the overlap between "
        "cross-validation folds (Nadeau–Bengio correction); an interval computed as if the folds were independent "
        "would be about four times too narrow.")


def show_levels(study: LoyaltyStudy) -> None:
    """Loyalty at each level of CES and CSAT, the high- vs low-effort comparison, correlations."""
    display, show_markdown, show_table, _ = _show()
    if study.skip_reason:
        _skip(study, "descriptives", "Loyalty by level", study.skip_reason)
        return
    levels = study.level_table()
    if len(levels):
        display(level_chart(levels, study))
    groups = study.effort_groups()
    if len(groups):
        show_table(study.effort_groups_display(groups),
                   caption="Disloyal and loyal customers in the worst and the best answers of each scale "
                           "(weighted %, 95% CI, base n)")
    corr = study.correlations()
    if len(corr):
        show_table(pd.DataFrame({
            "outcome": corr["outcome"], "scale": corr["predictor"],
            "Spearman ρ (95% CI)": [_fmt(r, lo, hi) for r, lo, hi in zip(corr["rho"], corr["ci_low"], corr["ci_high"])],
            "n": corr["n"], "p (Holm)": [_fmt_p(p) for p in corr["p_holm"]]}),
            caption="Rank correlation with each loyalty outcome (unweighted, Fisher-z interval)")
    study.sections["descriptives"] = {"levels": _records(levels), "worst_vs_best": _records(groups),
                                      "correlations": _records(corr)}


def show_comparison(study: LoyaltyStudy) -> None:
    """Every outcome and model: out-of-sample metrics, and the paired CES − CSAT differences."""
    display, show_markdown, show_table, _ = _show()
    if study.skip_reason or not len(study.summary):
        _skip(study, "comparison", "Out-of-sample comparison", study.skip_reason or "nothing was compared")
        return
    show_table(study.comparison_display(), caption="Out-of-sample accuracy, mean over folds (95% CI)")
    if len(study.diffs):
        show_table(study.differences_display(),
                   caption=f"{study.inputs.ces.label} − {study.inputs.csat.label}: paired differences over the same "
                           "folds (95% CI); ratios of fold-mean Gini and pseudo-R²; p Holm-adjusted across outcomes")
        show_markdown(
            "Positive Δ Gini / Δ R² and negative Δ log-loss / Δ Brier / Δ RMSE favour CES. The R² ratio is "
            "roughly the square of the Gini ratio, so it makes any gap look about twice as large: the Gini ratio "
            "is the statistic judged against the claim. \"R² / pseudo-R²\" is R² for OLS outcomes and McFadden's "
            "pseudo-R² for logit models (1 − out-of-sample log-likelihood ÷ that of the training shares).")
    notes = [f"{o.label}: {n}" for o in study.inputs.outcomes if o.name in study._data
             for n in study._data[o.name].notes]
    for note in notes:
        show_markdown(f"- {note}")


def show_importance(study: LoyaltyStudy, *, n_boot: int = 200, drivers: list[str] | None = None) -> None:
    """Incremental validity (each scale added to the others), dominance analysis, key-driver map."""
    display, show_markdown, show_table, _ = _show()
    if study.skip_reason:
        _skip(study, "importance", "Incremental validity and importance", study.skip_reason)
        return
    inc = study.incremental()
    if len(inc):
        show_table(pd.DataFrame({
            "outcome": inc["outcome"], "adding": inc["added"], "to": inc["to model with"],
            "R² / pseudo-R² without → with": [f"{a:.3f} → {b:.3f}" for a, b in zip(inc["R² without"], inc["R² with"])],
            "Δ": inc["ΔR²"].round(4), "test": inc["test"],
            "statistic (df)": [f"{s:.1f} ({d})" for s, d in zip(inc["statistic"], inc["df"])],
            "p (Holm)": [_fmt_p(p) for p in inc["p_holm"]], "n": inc["n"]}),
            caption="Incremental validity: does each scale add to the other? (full sample)")
    else:
        _skip(study, "incremental", "Incremental validity", "fewer than two scales to compare.")
    dom = study.dominance(n_boot=n_boot)
    if len(dom):
        display(dominance_chart(dom))
        show_table(pd.DataFrame({
            "outcome": dom["outcome"], "scale": dom["predictor"],
            "share of explained (95% CI)": [_fmt(a, b, c, 2, True) for a, b, c in
                                            zip(dom["share"], dom["share_ci_low"], dom["share_ci_high"])],
            "R² units (95% CI)": [_fmt(a, b, c, 3) for a, b, c in zip(dom["dominance"], dom["ci_low"], dom["ci_high"])],
            "n": dom["n"]}), caption=f"General dominance (Shapley/LMG), percentile bootstrap ({n_boot} replicates)")
    study.sections["incremental"] = _records(inc)
    study.sections["dominance"] = _records(dom)
    if drivers:
        kd = study.key_drivers(drivers, n_boot=n_boot)
        display(quad_map(kd, study.primary.label))
        show_table(pd.DataFrame({
            "driver": kd["label"],
            "importance: share of explained loyalty (95% CI)": [
                _fmt(a, b, c, 2, percent=True) for a, b, c in zip(kd["share"], kd["share_ci_low"], kd["share_ci_high"])],
            "performance 0–100 (95% CI)": [
                _fmt(a, b, c, 1) for a, b, c in zip(kd["performance"], kd["performance_ci_low"], kd["performance_ci_high"])],
            "quadrant": kd["quadrant"], "n": kd["n"]}),
            caption=f"Key drivers: importance (general dominance, bootstrap {n_boot} replicates) × performance (weighted mean)")
        study.sections["key_drivers"] = _records(kd)
    else:
        _skip(study, "key_drivers", "Key-driver quad map",
              "the codebook declares no driver items (attribute ratings such as delivery speed or ease of "
              "navigation) to place on an importance × performance map.")


def show_shape(study: LoyaltyStudy) -> None:
    """Is there an effort threshold? Non-linearity tests and the largest step between levels."""
    display, show_markdown, show_table, _ = _show()
    if study.skip_reason:
        _skip(study, "shape", "Shape of the effect", study.skip_reason)
        return
    shp = study.shape_tests()
    if not len(shp):
        _skip(study, "shape", "Shape of the effect", "no compared scale has three or more levels.")
        return
    share = study.primary.loyal_flags(study.primary.values(study.df)) is not None
    unit = "pts" if share else ""
    k = 100 if share else 1
    show_table(pd.DataFrame({
        "scale": shp["predictor"], "outcome": shp["outcome"],
        "levels vs straight line": [f"{t}: {s:.1f} on {d} df" for t, s, d in zip(shp["test"], shp["statistic"], shp["df"])],
        "p (Holm)": [_fmt_p(p) for p in shp["p_holm"]], "largest step": shp["largest_step"],
        f"rise {unit} (95% CI)": [_fmt(k * a, k * b, k * c, 1) for a, b, c in
                                   zip(shp["step"], shp["step_low"], shp["step_high"])], "n": shp["n"]}),
        caption="Does loyalty rise in a straight line with each scale point, or jump at a threshold?")
    nonlinear = shp[shp["p_holm"] < 0.05]["predictor"].tolist()
    show_markdown(
        (f"The straight line is rejected for {', '.join(nonlinear)}: the levels chart above shows where the curve "
         "bends." if nonlinear else
         f"For every scale a straight line{'' if study.primary.family == 'linear' else ' on the logit scale'} fits "
         "the levels (no significant departure): loyalty rises steadily, with no single threshold, although the "
         "largest step is shown."))
    study.sections["shape"] = _records(shp)


def show_heterogeneity(study: LoyaltyStudy, output_dir: str | Path, *, min_n: int = 50) -> None:
    """Differences by channel of last interaction and by persona (when the persona study ran)."""
    display, show_markdown, show_table, _ = _show()
    if study.skip_reason:
        _skip(study, "heterogeneity", "Heterogeneity", study.skip_reason)
        return
    out = {}
    for what, groups, reason in (
            ("channel", study.channel_groups(),
             "the codebook declares no `channels.last_interaction` column."),
            ("persona", study.persona_groups(output_dir),
             f"no {PERSONA_FILE} in the run folder (the persona study has not run) or it lacks id / persona.")):
        if groups is None:
            _skip(study, f"by_{what}", f"By {what}", reason)
            out[what] = study.sections.pop(f"by_{what}")
            continue
        table, tests = study.heterogeneity(groups, what=what, min_n=min_n)
        if not len(table):
            _skip(study, f"by_{what}", f"By {what}", f"no {what} has {min_n} or more respondents.")
            out[what] = study.sections.pop(f"by_{what}")
            continue
        display(heterogeneity_chart(table, what, study.primary.label, study.primary.family))
        if len(tests):
            show_table(pd.DataFrame({
                "interaction": tests["interaction"], "test": tests["test"],
                "statistic (df)": [f"{s:.1f} ({d})" for s, d in zip(tests["statistic"], tests["df"])],
                "p (Holm)": [_fmt_p(p) for p in tests["p_holm"]], "groups": tests["groups"], "n": tests["n"]}),
                caption=f"Does the effect of each scale differ by {what}? (groups with ≥ {min_n} respondents)")
            sig = tests[tests["p_holm"] < 0.05]["interaction"].tolist()
            show_markdown(f"Significant after Holm correction: {', '.join(sig)}." if sig else
                          f"No effect differs significantly by {what} after Holm correction.")
        out[what] = {"groups": _records(table), "tests": _records(tests)}
    study.sections["heterogeneity"] = out


def show_power(study: LoyaltyStudy, *, reps: int = 20, sizes: list[int] | None = None, cv_repeats: int = 2) -> None:
    """Sample size needed to tell CES and CSAT apart at the observed difference."""
    display, show_markdown, show_table, _ = _show()
    if study.skip_reason or study.comparison_skip_reason or not len(study.diffs):
        _skip(study, "power", "Power", study.skip_reason or study.comparison_skip_reason or "no comparison ran")
        return
    table, info = study.power(reps=reps, sizes=sizes or None, cv_repeats=cv_repeats)
    n80 = info["n80_analytic"]
    n80_text = f"about {_nice(n80):,.0f}" if np.isfinite(n80) and n80 < 1e7 else "far more than any survey"
    show_markdown(
        f"Observed {study.inputs.ces.label} − {study.inputs.csat.label} Gini difference on "
        f"{study.primary.label.lower()}: {info['difference']:+.3f} (SE {info['se']:.3f}, n = {info['n']:,}). "
        f"Respondents needed for 80% power to detect a difference of this size: **{n80_text}** "
        "(analytic: the corrected SE shrinks as 1/√n).")
    disp = table.copy()
    cols = {"n": "respondents", "power_analytic": "power (analytic)"}
    if info.get("simulated"):
        disp["power (simulated, 95% CI)"] = [_fmt(a, b, c, 2, True) for a, b, c in
                                             zip(table["power_simulated"], table["ci_low"], table["ci_high"])]
        disp = disp.drop(columns=["power_simulated", "ci_low", "ci_high", "reps"])
        show_markdown(
            f"Simulated check with `engagement.simulate`: loyalty loadings set to effort {info['effect_effort']:.3f} / "
            f"satisfaction {info['effect_satisfaction']:.3f}, which give a population difference of "
            f"{info['simulated_difference']:+.3f} on the simulated {info['outcome_simulated']} outcome; {reps} samples "
            f"per size, each tested like the survey but with {cv_repeats} × 5-fold instead of the survey's "
            f"{study.cv[study.primary.name].n_repeats} × {study.cv[study.primary.name].n_splits}-fold CV (a slightly "
            "less powerful test, so the simulated power errs low).")
    else:
        show_markdown(f"_Simulated power not run ({info.get('reason', '')})._")
    show_table(disp.rename(columns=cols), caption="Power to distinguish CES from CSAT (two-sided 5% test)",
               percent=["power (analytic)"])
    study.sections["power"] = {"table": _records(table), **info}


def record_study(study: LoyaltyStudy, output_dir: str | Path) -> None:
    """Write the `loyalty` section of results.json."""
    from .results import record

    if study.skip_reason:
        record(output_dir, SECTION, {"skipped": True, "reason": study.skip_reason, **study.sections})
    else:
        record(output_dir, SECTION, study.results())
