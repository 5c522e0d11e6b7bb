"""Planted truth: the loyalty study recovers which score the simulator made more predictive.

Surveys of the default size (5,000) go through the real path (ingest, screening, raking), then:

- the simulator's default loadings (effort 0.55 > satisfaction 0.30): CES's Somers' D is ahead on the
  stated-loyalty outcomes and CES adds more to CSAT than CSAT to CES;
- the three planted C13 worlds (`simulate_survey(..., c13_world=...)`, issue 10): CES clearly ahead
  (population Somers' D ratio ≈ 1.5), equal (≈ 1.04) and CSAT ahead (≈ 0.8), each with an age × effort
  interaction, so that an estimator ignoring the weights misses the population value. truth.json
  stores the population value of every verdict statistic; the verdict must be right and the primary
  interval must cover it; with the weights dropped (monkeypatched design) the check fails.
- slow: over 50 seeds per world, every statistic's interval covers its population value ≥ 90%.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from engagement.studies import loyalty
from engagement.codebook import load_codebook
from engagement.config import DEFAULT_N, DEFAULT_SEED
from engagement.studies.loyalty.validation import concordance, cross_validate
from engagement import claims
from engagement import prepare as prep
from engagement.prepare import analysis_data, design_for
from engagement.simulate import SimulationParams, simulate_survey, write_survey
from engagement.survey_stats import Design


def _study(tmp_path, effort: float, satisfaction: float) -> loyalty.LoyaltyData:
    params = SimulationParams(n=DEFAULT_N, seed=DEFAULT_SEED, effect_effort=effort, effect_satisfaction=satisfaction)
    paths = write_survey(tmp_path / "data", params)
    cb = load_codebook(paths["codebook"])
    df = analysis_data(paths["survey"], paths["codebook"], tmp_path / "run")
    return loyalty.prepare(df, cb, design=design_for(df, cb), seed=DEFAULT_SEED)


def test_planted_effort_advantage_shows_in_every_direct_outcome(tmp_path):
    """With effort planted stronger, CES's Somers' D is ahead on both stated-loyalty outcomes and its
    unique contribution (added to CSAT) is larger than CSAT's (added to CES)."""
    study = _study(tmp_path, 0.55, 0.30)
    c13 = loyalty.compare_c13(study, n_boot=100)
    g = c13.table.query("statistic == 'somers_d' and coding == 'as asked'").set_index("outcome")
    assert (g.loc[["nps", "repurchase"], "ratio_low"] > 1).all()
    inc = loyalty.incremental_validity(study).set_index(["outcome", "added"])
    for o in ("Likelihood to recommend (0-10)", "Intention to buy again (1-5)"):
        assert inc.loc[(o, "CES"), "ΔR²"] > inc.loc[(o, "CSAT"), "ΔR²"]


# ------------------------------------------------------------------ planted C13 worlds (issue 10)

#: world -> which scale predicts better (population Somers' D ratios ≈ 1.5, 1.04 and 0.81)
WORLDS = {"ces_ahead": "ces", "equal": "not distinguishable", "csat_ahead": "csat"}


def right_verdicts(c13, population: float) -> set[str]:
    """The verdicts against the claimed 1.40 that are right for a population ratio: the population's
    own word under the declared margin (×/÷ 1.10), and also "inconclusive" when the population lies
    within the verdict interval's half-width of a margin bound (then no survey of this size can tell).
    ces_ahead (≈ 1.5, bound 1.54) may read consistent or inconclusive, never higher or lower; equal and
    csat_ahead (far below 1.27) must read lower."""
    p = c13.table[c13.table["primary"]].iloc[0]
    return right_claim_verdicts(p["ratio"], p["ratio_low"], p["ratio_high"], population)


def right_claim_verdicts(ratio: float, low: float, high: float, population: float) -> set[str]:
    """`right_verdicts` from the primary ratio and its 95% interval."""
    right = {claims.verdict(1.40, population, population, kind="ratio")}
    lo, hi = claims.adjusted_interval(ratio, low, high, "ratio")
    if min(abs(population - b) for b in claims.MARGINS["ratio"].bounds(1.40)) < (hi - lo) / 2:
        right.add("inconclusive")
    return right


def right_better(low: float, high: float, population: float) -> set[str]:
    """Which-scale-is-better answers that are right for a population ratio, by the rule
    `right_verdicts` uses: the population's own direction ("ces" above 1, "csat" below), and also
    "not distinguishable" when the population lies within the primary interval's half-width of 1.
    "equal" (population ≈ 1.04, half-width ≈ 0.06 at 2,500 respondents) may therefore read "ces" or
    "not distinguishable" — CES does rank slightly better in that population — but never "csat"."""
    right = {"ces" if population > 1 else "csat" if population < 1 else "not distinguishable"}
    if abs(population - 1) < (high - low) / 2:
        right.add("not distinguishable")
    return right


def _world(tmp_path, world: str, seed: int = DEFAULT_SEED, n: int = DEFAULT_N, n_boot: int = 100):
    """(prepared data, population truth) for one planted world, prepared as the pipeline does."""
    paths = write_survey(tmp_path / f"data-{world}-{seed}", SimulationParams(n=n, seed=seed), c13_world=world)
    cb = load_codebook(paths["codebook"])
    df = analysis_data(paths["survey"], paths["codebook"], tmp_path / f"run-{world}-{seed}")
    truth = json.loads(paths["truth_json"].read_text())["c13"]
    return loyalty.prepare(df, cb, design=prep.design_for(df, cb), seed=seed), truth


def _check_world(c13, truth: dict, world: str) -> None:
    """The verdict is right and the primary interval covers the stored population value."""
    better = WORLDS[world]
    p = c13.table[c13.table["primary"]].iloc[0]
    population = truth["somers_d"]["ratio"]
    assert p["ratio_low"] <= population <= p["ratio_high"], (world, population, p[["ratio", "ratio_low", "ratio_high"]])
    assert c13.verdict["better"] == better, c13.verdict["sentence"]
    assert c13.verdict["c13"] in right_verdicts(c13, population), c13.verdict["sentence"]


@pytest.mark.parametrize("world", list(WORLDS))
def test_c13_verdict_is_right_in_each_planted_world(tmp_path, world):
    data, truth = _world(tmp_path, world)
    assert set(truth) >= {"somers_d", "kendall_tau_b", "pseudo_r2", "log_loss"}  # every verdict statistic
    _check_world(loyalty.compare_c13(data, n_boot=100), truth, world)


def test_an_estimator_ignoring_the_weights_fails_the_weighted_world(tmp_path, monkeypatch):
    """Effort matters more to older customers, whom the sample under-represents: dropping the weights
    (the design becomes simple random sampling) moves the ratio off its population value, and the
    planted-truth check catches it."""
    monkeypatch.setattr(prep, "design_for", lambda df, cb: Design.unweighted(len(df)))
    data, truth = _world(tmp_path, "ces_ahead")
    assert not data.weighted
    with pytest.raises(AssertionError):
        _check_world(loyalty.compare_c13(data, n_boot=100), truth, "ces_ahead")


#: the slow coverage study's surveys: seeds 700–749, 3,000 respondents each (docs/validation.md)
COVERAGE_SEEDS = range(700, 750)
COVERAGE_N = 3000
COVERAGE_STATISTICS = ("somers_d", "kendall_tau_b", "pseudo_r2", "log_loss")


def coverage_records(tmp_path, world: str, seed: int, n: int = COVERAGE_N, n_boot: int = 100) -> list[dict]:
    """One simulated survey of a planted world through the real path: per statistic, the CES ÷ CSAT
    ratio (primary outcome, as asked) with its 95% interval, the stored population value, whether the
    interval covers it, and the verdict and whether it is right. Only the rows the study reads are
    computed (`outcomes=`/`codings=`); they are the numbers the full table would show."""
    data, truth = _world(tmp_path, world, seed=seed, n=n)
    c13 = loyalty.compare_c13(data, n_boot=n_boot, outcomes=(data.primary.name,), codings=("as asked",))
    rows = c13.table.query("coding == 'as asked'").set_index("statistic")
    assert (rows["outcome"] == truth["outcome"]).all(), (rows["outcome"], truth["outcome"])
    p, population = rows.loc["somers_d"], truth["somers_d"]["ratio"]
    claim_right = c13.verdict["c13"] in right_verdicts(c13, population)
    return [{"world": world, "seed": seed, "n": int(rows.loc[s, "n"]), "statistic": s,
             "estimate": float(rows.loc[s, "ratio"]), "low": float(rows.loc[s, "ratio_low"]),
             "high": float(rows.loc[s, "ratio_high"]), "population": float(truth[s]["ratio"]),
             "covered": bool(rows.loc[s, "ratio_low"] <= truth[s]["ratio"] <= rows.loc[s, "ratio_high"]),
             "better": c13.verdict["better"], "verdict": c13.verdict["c13"],
             "verdict_right": bool(claim_right and c13.verdict["better"] in right_better(p["ratio_low"], p["ratio_high"], population)),
             "verdict_right_planted": bool(claim_right and c13.verdict["better"] == WORLDS[world])}
            for s in COVERAGE_STATISTICS]


@pytest.mark.slow
@pytest.mark.parametrize("world", list(WORLDS))
def test_c13_intervals_cover_the_population_values(tmp_path, world):
    """Over 50 simulated surveys per world, every statistic's 95% ratio interval (primary outcome, as
    asked) covers its population value at least 90% of the time, and the verdict (which scale is
    better, and C13 against the claim) is right in at least 85% of them. About 5 s of CPU per survey (≈ 5 min per world on a quiet machine);
    `tools/coverage_study.py` runs the same study and keeps the per-seed records."""
    records = [r for seed in COVERAGE_SEEDS for r in coverage_records(tmp_path, world, seed)]
    hits = {s: sum(r["covered"] for r in records if r["statistic"] == s) for s in COVERAGE_STATISTICS}
    right = sum(r["verdict_right"] for r in records if r["statistic"] == "somers_d")
    assert all(h / len(COVERAGE_SEEDS) >= 0.90 for h in hits.values()), hits
    # right by the population's direction (`right_better`): "equal" is 1.04 in the population, so a
    # survey of 2,500 calls CES better in about a fifth of seeds, and that is true (docs/validation.md)
    assert right / len(COVERAGE_SEEDS) >= 0.85, right


@pytest.mark.slow
def test_corrected_interval_matches_sampling_spread():
    """The Nadeau–Bengio standard error of the CES − CSAT Gini difference is calibrated: across 30
    independent simulated surveys its average is within 30% of the actual spread of the estimate,
    while the naive fold SE (folds treated as independent) is less than half of it."""
    est, se_nb, se_naive = [], [], []
    for seed in range(500, 530):
        df, truth, _ = simulate_survey(SimulationParams(n=2000, seed=seed, item_missing_rate=0))
        bad = truth[["speeder", "straightliner", "attention_fail", "duplicate"]].any(axis=1).to_numpy()
        df = df[~bad]
        y = df["repurchase"].to_numpy(int) - 1
        cv = cross_validate(y, {"ces": df[["ces"]].to_numpy(float), "csat": df[["csat"]].to_numpy(float)},
                            "ordinal", n_splits=5, n_repeats=10, seed=seed)
        d = cv.difference("ces", "csat", "gini")
        v = cv.values("ces", "gini") - cv.values("csat", "gini")
        est.append(d["estimate"])
        se_nb.append(d["se"])
        se_naive.append(v.std(ddof=1) / np.sqrt(len(v)))
    spread = np.std(est, ddof=1)
    assert 0.7 < np.mean(se_nb) / spread < 1.3
    assert np.mean(se_naive) / spread < 0.5
