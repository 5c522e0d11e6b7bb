"""Planted truth: the loyalty study recovers which score the simulator made more predictive.

Surveys of the default size (5,000) are drawn with the default seed, run through the real path
(ingest, screening, raking, `LoyaltyStudy` with the notebook's default 10 × 5 cross-validation), and the
verdict on the primary outcome (intention to repurchase) is checked:

- effort loading 0.55 > satisfaction 0.30  -> "ces"
- effort 0.30 < satisfaction 0.55          -> "csat"
- equal loadings 0.40 / 0.40               -> "not distinguishable"

Beyond the verdict, the 95% interval of the CES ÷ CSAT Gini ratio must cover the population ratio,
computed on a 100,000-respondent draw from the same model at the population margins.

Note on the "equal" case. The simulator's loyalty is built from the standardized reported scores,
but its persona offsets for loyalty equal those for satisfaction (and differ from those for ease),
so with equal loadings CSAT still carries a little more information about loyalty: the population
Gini ratio on repurchase is about 0.96, not 1. At n = 5,000 (SE of the log ratio ≈ 0.03) the right
verdict is then "not distinguishable" most of the time and "csat" sometimes (seeds 1–5: 4 and 1) —
never "ces". The test uses the default seed, as the other two, and also asserts the interval covers
the population ratio; the lead has been told (a simulator change would make "equal" exactly equal).
"""

from __future__ import annotations

import numpy as np
import pytest

from engagement.studies import loyalty
from engagement.codebook import load_codebook
from engagement.config import DEFAULT_N, DEFAULT_SEED
from engagement.studies.loyalty.validation import concordance, cross_validate
from engagement.prepare import analysis_data, design_for
from engagement.simulate import SimulationParams, simulate_survey, write_survey


def _study(tmp_path, effort: float, satisfaction: float) -> tuple[loyalty.LoyaltyData, loyalty.Comparison]:
    params = SimulationParams(n=DEFAULT_N, seed=DEFAULT_SEED, effect_effort=effort, effect_satisfaction=satisfaction)
    paths = write_survey(tmp_path / "data", params)
    cb = load_codebook(paths["codebook"])
    df = analysis_data(paths["survey"], paths["codebook"], tmp_path / "run")
    study = loyalty.prepare(df, cb, design=design_for(df, cb), seed=DEFAULT_SEED)
    return study, loyalty.compare_predictors(study, n_splits=5, n_repeats=10)


def _population_ratio(effort: float, satisfaction: float, outcome: str = "repurchase") -> float:
    pop, _, _ = simulate_survey(SimulationParams(
        n=100_000, seed=DEFAULT_SEED + 1, effect_effort=effort, effect_satisfaction=satisfaction, skew_sample=False,
        speeder_rate=0, straightliner_rate=0, attention_fail_rate=0, duplicate_rate=0, item_missing_rate=0))
    y = pop[outcome].to_numpy(float)
    return (2 * concordance(pop["ces"].to_numpy(float), y) - 1) / (2 * concordance(pop["csat"].to_numpy(float), y) - 1)


@pytest.mark.parametrize("effort, satisfaction, expected", [
    (0.55, 0.30, "ces"),
    (0.30, 0.55, "csat"),
    (0.40, 0.40, "not distinguishable"),
])
def test_verdict_recovers_planted_truth(tmp_path, effort, satisfaction, expected):
    study, comparison = _study(tmp_path, effort, satisfaction)
    assert study.primary.name == "repurchase"
    v = comparison.verdict
    ratio = comparison.ratio
    assert v["better"] == expected, (v["sentence"], ratio)
    truth = _population_ratio(effort, satisfaction)
    assert ratio["ci_low"] <= truth <= ratio["ci_high"], (truth, ratio)
    # "40% more accurate" is far outside every planted truth here (population ratios 0.8-1.15)
    assert v["c13"] == "contradicted"


def test_planted_effort_advantage_shows_in_every_direct_outcome(tmp_path):
    """With effort planted stronger, CES's Gini is ahead on both stated-loyalty outcomes and its unique
    contribution (added to CSAT) is larger than CSAT's (added to CES)."""
    study, comparison = _study(tmp_path, 0.55, 0.30)
    g = comparison.differences[comparison.differences["metric"] == "gini"].set_index("outcome")
    assert (g.loc[["nps", "repurchase"], "ci_low"] > 0).all()
    inc = loyalty.incremental_validity(study).set_index(["outcome", "added"])
    for o in ("Likelihood to recommend (0-10)", "Intention to buy again (1-5)"):
        assert inc.loc[(o, "CES"), "ΔR²"] > inc.loc[(o, "CSAT"), "ΔR²"]


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
