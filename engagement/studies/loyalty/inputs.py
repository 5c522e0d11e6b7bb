"""The loyalty study's inputs: what the codebook declares, prepared once per analysis table.

`prepare(df, cb, design=...)` reads the predictors (the declared `scales`, oriented so that higher is
a better experience; composites are the mean of their items), the loyalty `outcomes` (nps / likert ->
ordinal logit, binary -> logistic, count / continuous -> OLS), the `controls` and the channel of last
interaction from the codebook (never from column names in code), and returns a `LoyaltyData` that
every analysis verb of the study takes as its first argument.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ...codebook import Codebook, Outcome, Scale, code_key, map_distinct
from ...config import DEFAULT_SEED
from ...degrade import CannotEstimate
from ...metrics import scale_values
from ...results import PERSONA_FILE, WEIGHT
from ...survey_stats import Design
from .models import FAMILY_OF_KIND
from .table import persona_labels

SECTION = "loyalty"
#: fewest complete respondents for any loyalty model
MIN_RESPONDENTS = 30
CLAIMED_RATIO = 1.40
#: figures quoted with the CES claim (../shared/seed-facts.md, "Notes on the CES claim")
GARTNER_DISLOYAL_HIGH_EFFORT = 0.96
GARTNER_DISLOYAL_LOW_EFFORT = 0.09
GARTNER_REPURCHASE_LOW_EFFORT = 0.94


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
        if self.kind == "binary":  # code_key once per distinct answer, not per respondent
            codes, uniques = pd.factorize(col)
            coded = self.outcome.binary_values(pd.Series(uniques, dtype=object)).to_numpy()
            return pd.Series(np.where(codes >= 0, coded[codes], np.nan), index=col.index, dtype=float)
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


def _zscore(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    m = w @ x / w.sum()
    sd = np.sqrt(w @ (x - m) ** 2 / w.sum())
    return (x - m) / sd if sd > 0 else x - m


def merge_sparse_levels(y: np.ndarray, min_n: int) -> tuple[np.ndarray, list[str], list[str]]:
    """Ordinal codes 0..K−1 after merging levels with fewer than `min_n` respondents into their
    smaller neighbour (a level absent from a training fold has no threshold). Returns codes, level
    labels ("0–1" for a merged level) and notes."""
    values, counts = np.unique(y, return_counts=True)
    groups = [[v] for v in values]
    counts = [int(c) for c in counts]
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
    code_of_value = np.array([k for k, g in enumerate(groups) for _ in g])  # groups hold `values` in order
    return code_of_value[np.searchsorted(values, y)], labels, notes


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


@dataclass(frozen=True)
class LoyaltyData:
    """The analysis table with everything the loyalty verbs share: the codebook's inputs, the survey
    design, the oriented predictor scores and the primary outcome. Made by `prepare`; per-outcome
    complete-case data are built on first use and cached."""

    df: pd.DataFrame
    cb: Codebook
    inputs: LoyaltyInputs
    design: Design
    scores: pd.DataFrame
    primary: LoyaltyOutcome | None
    seed: int = DEFAULT_SEED
    min_level_n: int = 10
    #: above this many respondents, models and resampling run on a stratified sample (`sample`)
    max_fit_n: int | None = 20_000
    fit_sample: object | None = None  # the `sample.FitSample` this table is, when it is one
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def weights(self) -> np.ndarray:
        return self.design.weights

    @property
    def weighted(self) -> bool:
        return bool(np.ptp(self.weights) > 1e-9 * self.weights.mean())

    @property
    def cov_type(self) -> str:
        """Sandwich covariances with survey weights, model-based ones without."""
        return "robust" if self.weighted else "model"

    @property
    def skip_reason(self) -> str | None:
        """Why the study cannot run on this codebook, or None."""
        if not self.inputs.outcomes:
            return "the codebook declares no loyalty `outcomes`."
        if not self.inputs.predictors:
            return "the codebook declares no `scales` (CES, CSAT or another metric) to predict loyalty with."
        if not any(self.inputs.predictors_for(o) for o in self.inputs.outcomes):
            return "every declared scale is itself the outcome; there is nothing to predict loyalty with."
        return None

    @property
    def comparison_skip_reason(self) -> str | None:
        """Why CES cannot be compared with CSAT (one of them is not declared), or None."""
        missing = [n for n, p in (("CES", self.inputs.ces), ("CSAT", self.inputs.csat)) if p is None]
        if missing:
            return (f"the codebook declares no {' or '.join(missing)} scale, so CES cannot be compared with CSAT; "
                    "the other declared scales are compared instead.")
        return None

    def require_inputs(self) -> None:
        """Raise `CannotEstimate` with the reason when the study has no inputs."""
        if self.skip_reason:
            raise CannotEstimate(self.skip_reason)

    @property
    def outcome_columns(self) -> set[str]:
        """Every loyalty outcome's column."""
        return {o.outcome.column for o in self.inputs.outcomes}

    def drivers_for(self, outcome: LoyaltyOutcome) -> list[Predictor]:
        """Scales that may explain `outcome` in an importance analysis: not the outcome itself, and
        no other loyalty outcome either (NPS is an outcome, not a driver of repurchase)."""
        return [p for p in self.inputs.predictors_for(outcome) if not set(p.columns) & self.outcome_columns]

    def unusable(self, outcome: LoyaltyOutcome, min_per_class: int = 5) -> str | None:
        """Why `outcome` cannot be modelled on this table (too few respondents, one class), or None.
        `min_per_class`: respondents needed in the smaller class of a binary outcome (one per fold)."""
        if not self.inputs.predictors_for(outcome):
            return "no scale other than the outcome itself to predict it with"
        d = self.outcome_data(outcome)
        if d.n < MIN_RESPONDENTS:
            return (f"only {d.n} respondents answered {outcome.label} and every predictor and control; "
                    f"at least {MIN_RESPONDENTS} are needed")
        if outcome.family != "linear":
            counts = np.bincount(d.y.astype(int))
            counts = counts[counts > 0]
            if len(counts) < 2:
                return f"all {d.n} respondents give the same answer to {outcome.label} (one class): nothing to predict"
            if outcome.family == "binary" and counts.min() < min_per_class:
                return (f"only {counts.min()} of {d.n} respondents are in the smaller class of {outcome.label}; "
                        f"at least {min_per_class} are needed")
        elif np.ptp(d.y) == 0:
            return f"all {d.n} respondents give the same value of {outcome.label}: nothing to predict"
        return None

    def require_usable(self, outcome: LoyaltyOutcome) -> None:
        reason = self.unusable(outcome)
        if reason:
            raise CannotEstimate(reason[0].upper() + reason[1:] + ".")

    def outcome(self, name: str) -> LoyaltyOutcome:
        return next(o for o in self.inputs.outcomes if o.name == name)

    def outcome_data(self, outcome: LoyaltyOutcome) -> OutcomeData:
        """Complete cases of the outcome, its predictors and the controls; predictors z-scored."""
        key = ("outcome_data", outcome.name)
        if key in self._cache:
            return self._cache[key]
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
            y, levels, notes = merge_sparse_levels(y, self.min_level_n)
        elif outcome.family == "binary":
            y, levels = y.astype(int), ["not", "loyal"]
        else:
            levels = []
        Z = pd.DataFrame({p.name: _zscore(self.scores[p.name].to_numpy(float)[rows], w) for p in preds})
        Cd = C.iloc[rows].reset_index(drop=True)
        Cd = Cd.loc[:, Cd.std() > 0] if Cd.shape[1] else Cd
        if Cd.shape[1] and Cd.isin((0.0, 1.0)).all().all():  # dummies kept as bytes (exact; `design` makes floats)
            Cd = Cd.astype(np.uint8)
        data = OutcomeData(outcome, rows, y, levels, w, Z, Cd, notes)
        self._cache[key] = data
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

    def comparison_predictors(self) -> list[Predictor]:
        """CES and CSAT, or the first two declared scales when either is missing."""
        ces, csat = self.inputs.ces, self.inputs.csat
        return [p for p in (ces, csat) if p is not None] or self.inputs.predictors[:2]

    def pair(self) -> tuple[str, str] | None:
        """(CES name, CSAT name) when both are declared."""
        ces, csat = self.inputs.ces, self.inputs.csat
        return (ces.name, csat.name) if ces and csat else None

    def channel_groups(self) -> pd.Series | None:
        """Each respondent's channel of last interaction (its label), or None when not declared."""
        col = self.inputs.channel_column
        if not col or col not in self.df:
            return None
        labels = {code_key(k): v for k, v in self.inputs.channel_labels.items()}
        named = map_distinct(self.df[col], lambda u: labels.get(code_key(u), str(u)))  # an unlabelled code keeps its text
        return pd.Series(named, index=self.df.index, name=col, dtype=object)

    def persona_groups(self, output_dir: str | Path) -> pd.Series | None:
        """Each respondent's persona (its name when the persona study gave one) from the persona
        study's `personas.parquet` in the run folder; None when it is absent."""
        return persona_labels(self.df, self.cb.id_column, Path(output_dir) / PERSONA_FILE)


def prepare(df: pd.DataFrame, cb: Codebook, *, design: Design | None = None, ces: str = "ces",
            csat: str = "csat", primary: str | None = None, seed: int = DEFAULT_SEED,
            min_level_n: int = 10, max_fit_n: int | None = 20_000) -> LoyaltyData:
    """The study's inputs on one analysis table. `design` defaults to the table's `weight` column (or
    equal weights); `primary` is the outcome judged against the claim (default: the first likert
    outcome, else the first outcome); ordinal levels with fewer than `min_level_n` respondents are
    merged into a neighbour; above `max_fit_n` respondents (None: never) model fits and resampling use
    a seeded stratified sample of that size (`loyalty.sample`)."""
    if not df.index.equals(pd.RangeIndex(len(df))):  # positions are row labels; no copy when they already are
        df = df.reset_index(drop=True)
    inputs = loyalty_inputs(cb, ces, csat)
    if design is None:
        design = Design(df[WEIGHT].to_numpy(float) if WEIGHT in df else np.ones(len(df)))
    scores = pd.DataFrame({p.name: p.scores(df, cb) for p in inputs.predictors}, index=df.index)
    empty = [p for p in inputs.predictors if scores[p.name].isna().all()]
    if empty:  # a scale nobody answered predicts nothing: leave it out, and say so
        names = {p.name for p in empty}
        inputs = LoyaltyInputs(
            predictors=[p for p in inputs.predictors if p.name not in names], outcomes=inputs.outcomes,
            controls=inputs.controls, ces=None if inputs.ces and inputs.ces.name in names else inputs.ces,
            csat=None if inputs.csat and inputs.csat.name in names else inputs.csat,
            channel_column=inputs.channel_column, channel_labels=inputs.channel_labels,
            notes=inputs.notes + [f"{p.label} has no answers in this file; it is left out of every analysis."
                                  for p in empty])
        scores = scores.drop(columns=sorted(names))
    return LoyaltyData(df=df, cb=cb, inputs=inputs, design=design, scores=scores,
                       primary=_choose_primary(inputs, primary), seed=seed, min_level_n=min_level_n,
                       max_fit_n=max_fit_n)


def _choose_primary(inputs: LoyaltyInputs, primary: str | None) -> LoyaltyOutcome | None:
    outs = inputs.outcomes
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


def scale_levels(scores: pd.Series, scale: Scale) -> pd.Series:
    """Scale points for by-level tables: the score itself when it takes few values, else the score
    rounded to the nearest scale point (composites)."""
    if scores.dropna().nunique() <= 11:
        return scores
    return np.floor(scores + 0.5).clip(scale.min, scale.max)


def oriented_points(p: Predictor, pts: str) -> str:
    """Oriented scale points in the raw wording (a reversed scale's best box is its lowest raw points)."""
    if not p.reversed:
        return pts
    a, b = (float(x) for x in pts.split("–"))
    lo, hi = p.scale.min + p.scale.max - b, p.scale.min + p.scale.max - a
    return f"{lo:g}–{hi:g} (raw)"


def driver_columns(cb: Codebook, df: pd.DataFrame) -> list[str]:
    """Driver items for the quad map: the codebook's `drivers` list when its schema has one."""
    cols = list(getattr(cb, "drivers", None) or [])
    return [c for c in cols if c in df.columns]
