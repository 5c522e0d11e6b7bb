"""The seeded, stratified sample that model fitting and resampling run on in a very large survey.

Above `MAX_FIT_N` respondents the loyalty study fits its models, cross-validates them and draws its
bootstrap replicates (the C13 statistics table, dominance analysis, key drivers) on a sample of
`MAX_FIT_N` respondents instead of all of them; cheap full-data tables (loyalty by level, worst vs
best box, correlations, incremental validity, the shape tests and the channel and persona models,
which run on collapsed cells) stay on every respondent.

Why 20,000 (the persona study's `max_fit_n` too): the primary statistic's interval half-width shrinks
as 1/√n; at 20,000 respondents it is about ±0.03 on the CES ÷ CSAT Somers' D ratio of the simulated
surveys (18,284 answering in tests/test_loyalty_sample.py; ±0.075 on the default survey's 4,133), more
than ten times narrower than the 0.4 between the 1.0 and the claimed 1.4 that the study judges. More respondents
would narrow intervals nobody needs narrower at a cost linear in n (200 replicates × every outcome).

How it is drawn: strata are the cells of the primary outcome × the CES level × the CSAT level (a
missing value is a level of its own), so every cell of the C13 table keeps its share of respondents
(proportional allocation, largest remainders, at least one respondent from every non-empty stratum);
respondents are drawn without replacement within a stratum (seeded), and each keeps its survey weight
times the inverse of its stratum's sampling fraction — the stratum's weight total over the drawn
respondents' weight, ≈ N_h / n_h — so the sample's weighted totals are those of the full table,
stratum by stratum, exactly. The bootstrap on the sample redraws its respondents as a
simple random sample (it ignores the stratification, which can only widen the intervals) — the
intervals describe a survey of the sample's size: honest, and conservative for the full survey.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from ...survey_design import Design
from .inputs import LoyaltyData, scale_levels
from .models import row_codes
from .validation import outcome_strata

#: respondents above which models are fitted and resampled on a stratified sample (see module docstring)
MAX_FIT_N = 20_000
STRATA_TEXT = "primary outcome × CES level × CSAT level (missing = a level of its own)"


@dataclass(frozen=True)
class FitSample:
    """Which respondents (positions in the study frame) the model fits and resampling use, and how drawn."""

    rows: np.ndarray
    n_full: int
    n_strata: int
    strata: str
    seed: int
    max_fit_n: int

    @property
    def n(self) -> int:
        return len(self.rows)

    def as_record(self) -> dict:
        return {"n": self.n, "of": self.n_full, "max_fit_n": self.max_fit_n, "strata": self.strata,
                "n_strata": self.n_strata, "allocation": "proportional (largest remainders, ≥ 1 per stratum)",
                "weights": "survey weight × stratum weight total / its sampled weight (≈ N_h / n_h)",
                "seed": self.seed}

    def note(self) -> str:
        return (f"The models, cross-validation and bootstrap intervals (C13 table, dominance analysis, key drivers) "
                f"use a seeded stratified sample of {self.n:,} of the {self.n_full:,} respondents (`max_fit_n` = "
                f"{self.max_fit_n:,}; strata: {self.strata}, {self.n_strata} strata, proportional allocation; "
                "weights: survey weight × the inverse of the stratum's sampling fraction, so that every "
                "stratum keeps its weighted total). Their intervals are "
                "those of a survey of that size, wider than the full table's would be. Loyalty by level, worst vs "
                "best box, correlations, incremental validity, the shape tests and the channel and persona models "
                "use every respondent.")


def stratum_codes(columns: list[np.ndarray]) -> np.ndarray:
    """Dense stratum numbers 0..H−1 from the combination of the columns' values (NaN = its own value)."""
    filled = [np.where(np.isnan(c), -np.inf, c) for c in (np.asarray(c, float) for c in columns)]
    return np.unique(row_codes(filled), return_inverse=True)[1].ravel()


def allocate(sizes: np.ndarray, n: int) -> np.ndarray:
    """Proportional allocation of n draws over strata of the given sizes: floors, then largest
    remainders, then at least one per non-empty stratum, never more than the stratum holds."""
    share = n * sizes / sizes.sum()
    take = np.floor(share).astype(int)
    short = n - take.sum()
    if short > 0:
        take[np.argsort(-(share - take), kind="stable")[:short]] += 1
    return np.minimum(np.maximum(take, (sizes > 0).astype(int)), sizes)


def draw(strata: np.ndarray, n: int, seed: int, weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(sorted positions drawn, their expansion factors): a stratified simple random sample without
    replacement of about n rows with proportional allocation. The factor is the stratum's weight
    total over its drawn rows' weight (N_h / n_h without weights), so each stratum's weighted total
    in the sample is the full table's exactly."""
    w = np.ones(len(strata)) if weights is None else np.asarray(weights, float)
    sizes = np.bincount(strata)
    take = allocate(sizes, n)
    order = np.lexsort((np.random.default_rng(seed).random(len(strata)), strata))  # random order within strata
    starts = np.r_[0, np.cumsum(sizes)[:-1]]
    rank = np.arange(len(strata)) - starts[strata[order]]
    rows = np.sort(order[rank < take[strata[order]]])
    drawn = np.bincount(strata[rows], w[rows], minlength=len(sizes))
    factor = np.bincount(strata, w) / np.where(drawn > 0, drawn, 1.0)
    return rows, factor[strata[rows]]


def sample_design(design: Design, rows: np.ndarray, expansion: np.ndarray) -> Design:
    """The design of the sampled rows with their weights (and base and calibrated weights) expanded by
    the inverse sampling fraction; calibration variables and flag kept."""
    sub = design.subset(rows)
    scale = (lambda a: None if a is None else a * expansion)
    return Design(sub.weights * expansion, sub.calibration, scale(sub.base_weights) if sub.calibration is not None
                  else None, calibrated_weights=scale(sub.calibrated_weights), flag=sub.flag)


def fitting_data(data: LoyaltyData) -> LoyaltyData:
    """The study's data for model fitting and resampling: `data` itself up to `data.max_fit_n`
    respondents, else the same study on its seeded stratified sample (made once, cached)."""
    if data.fit_sample is not None or not data.max_fit_n or len(data.df) <= data.max_fit_n or data.skip_reason:
        return data
    if "fitting" not in data._cache:
        columns = []
        if data.primary is not None:
            y = data.primary.values(data.df).to_numpy(float)
            ok = ~np.isnan(y)
            if data.primary.family == "linear" and ok.any():  # quintiles of a count or continuous outcome
                y[ok] = outcome_strata(y[ok], "linear")
            columns.append(y)
        columns += [scale_levels(data.scores[p.name], p.scale).to_numpy(float) for p in data.comparison_predictors()]
        strata = stratum_codes(columns)
        seed = data.seed + 23
        rows, expansion = draw(strata, data.max_fit_n, seed, data.weights)
        sample = FitSample(rows=rows, n_full=len(data.df), n_strata=int(strata.max()) + 1, strata=STRATA_TEXT,
                           seed=seed, max_fit_n=data.max_fit_n)
        data._cache["fitting"] = dataclasses.replace(
            data, df=data.df.iloc[rows].reset_index(drop=True), scores=data.scores.iloc[rows].reset_index(drop=True),
            design=sample_design(data.design, rows, expansion), fit_sample=sample, _cache={})
    return data._cache["fitting"]
