"""Issue 9 item 7: the loyalty study never crashes on real data. A sparse level, one outcome class,
tiny n, a scale nobody answered, 30 driver items: each section is estimated or is `NotEstimated`
with a reason in words."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engagement.codebook import Codebook
from engagement.degrade import NotEstimated, attempt
from engagement.results import WEIGHT
from engagement.simulate import SimulationParams, default_codebook, simulate_survey
from engagement.studies import loyalty
from engagement.studies.loyalty.dominance import dominance_analysis, exact_is_cheap, relative_weights
from engagement.studies.loyalty.models import fit_ols

from .shared import clean_simulated_survey


def _survey(n: int, seed: int = 7) -> pd.DataFrame:
    return clean_simulated_survey(n, seed)[0]


@pytest.fixture(scope="module")
def cb():
    return clean_simulated_survey(10, 7)[1]


def _every_section(data):
    comparison = attempt("loyalty.comparison", loyalty.compare_predictors, data, n_splits=3, n_repeats=1)
    return {
        "comparison": comparison,
        "levels": attempt("loyalty.levels", loyalty.loyalty_by_level, data),
        "worst_vs_best": attempt("loyalty.worst_vs_best", loyalty.worst_vs_best, data),
        "incremental": attempt("loyalty.incremental", loyalty.incremental_validity, data),
        "dominance": attempt("loyalty.dominance", loyalty.scale_dominance, data, n_boot=10),
        "shape": attempt("loyalty.shape", loyalty.shape_of_effect, data),
        "by_channel": attempt("loyalty.by_channel", loyalty.by_channel, data, min_n=20),
        "c13": attempt("loyalty.answer", loyalty.compare_c13, data, n_boot=10),
    }


def test_181_respondents_with_one_at_the_lowest_level(cb):
    """The real survey that crashed the notebook: the threshold test pools the sparse level and runs."""
    df = _survey(200).head(181).copy()
    df.loc[df["csat"] == 1, "csat"] = 2
    df.loc[0, "csat"] = 1  # one respondent at the lowest satisfaction level
    data = loyalty.prepare(df, cb, seed=1)
    shape = loyalty.shape_of_effect(data)
    csat = shape.set_index("predictor").loc["CSAT"]
    assert "merged" in csat["pooled"] and np.isfinite(csat["p_value"])
    results = _every_section(data)
    for r in results.values():  # nothing raised; a section not estimated says why
        assert not isinstance(r, NotEstimated) or len(r.reason) > 20
    loyalty.results_section(data, **{k: v for k, v in results.items()})


def test_an_outcome_with_one_class_is_left_out_with_its_reason(cb):
    df = _survey(600).assign(retained_12m=1)
    data = loyalty.prepare(df, cb, seed=1)
    comparison = loyalty.compare_predictors(data, n_splits=3, n_repeats=1)
    assert "retained_12m" not in comparison.cv and "one class" in comparison.excluded["retained_12m"]
    assert "repurchase" in comparison.cv  # the other outcomes are still compared
    assert "excluded_outcomes" in loyalty.results_section(data, comparison=comparison)
    assert "retained_12m" not in set(loyalty.compare_c13(data, n_boot=5).table["outcome"])
    # a one-class primary outcome: the answer is not estimated, with the reason
    data = loyalty.prepare(df, cb, seed=1, primary="retained_12m")
    answer = attempt("loyalty.answer", loyalty.compare_c13, data, n_boot=5)
    assert isinstance(answer, NotEstimated) and "one class" in answer.reason
    shape = attempt("loyalty.shape", loyalty.shape_of_effect, data)
    assert isinstance(shape, NotEstimated) and "one class" in shape.reason


def test_tiny_survey_is_not_estimated_and_says_why(cb):
    data = loyalty.prepare(_survey(60).head(20), cb, seed=1)
    results = _every_section(data)
    assert isinstance(results["comparison"], NotEstimated)
    assert "respondents" in results["comparison"].reason


def test_a_scale_nobody_answered_is_left_out(cb):
    df = _survey(400).assign(ces=np.nan)
    data = loyalty.prepare(df, cb, seed=1)
    assert data.inputs.ces is None and "CES" in data.comparison_skip_reason
    assert any("no answers" in n for n in data.inputs.notes)
    c13 = attempt("loyalty.answer", loyalty.compare_c13, data, n_boot=5)
    assert isinstance(c13, NotEstimated) and isinstance(loyalty.sections.answer(c13), NotEstimated)
    assert loyalty.compare_predictors(data, n_splits=3, n_repeats=1).cv  # CSAT + NPS still cross-validated


def test_relative_weights_sum_to_r2_and_track_dominance():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(2000, 4)) @ np.array([[1, .3, 0, 0], [0, 1, .4, 0], [0, 0, 1, .2], [0, 0, 0, 1]])
    y = X @ [0.5, 0.3, 0.1, 0.0] + rng.normal(size=2000)
    rw = relative_weights(y, X, list("abcd"), n_boot=0)
    assert rw["dominance"].sum() == pytest.approx(fit_ols(y, X).r2, rel=1e-9)
    gd = dominance_analysis("linear", y, X, list("abcd"), n_boot=0)
    np.testing.assert_allclose(rw["share"], gd["share"], atol=0.03)  # the approximation is close


def test_thirty_drivers_use_the_approximation_and_exclude_outcomes(cb):
    df = _survey(800)
    rng = np.random.default_rng(5)
    z = df["repurchase"].fillna(3).to_numpy(float) - 3
    cols = []
    for j in range(30):
        df[f"d{j}"] = np.clip(np.round(3 + 0.03 * j * z + rng.normal(size=len(df))), 1, 5)
        cols.append(f"d{j}")
    data = loyalty.prepare(df, cb, seed=1)
    kd = loyalty.driver_importance(data, [*cols, "nps"], n_boot=20)  # NPS is an outcome, never a driver
    assert list(kd["predictor"]) == cols and kd["method"].str.startswith("relative weights").all()
    assert kd["share"].sum() == pytest.approx(1.0)
    assert (kd["share_ci_low"] < kd["share_ci_high"]).all()
    # importance follows the planted strengths: the strongest decile outranks the weakest
    assert kd["share"].iloc[-3:].mean() > 3 * kd["share"].iloc[:3].mean()
    assert not exact_is_cheap(800, 30) and exact_is_cheap(3000, 5)


def test_scale_dominance_leaves_outcomes_out(cb):
    data = loyalty.prepare(_survey(600), cb, seed=1)
    dom = loyalty.scale_dominance(data, n_boot=0)
    assert set(dom["predictor"]) == {"CES", "CSAT"}  # NPS is an outcome, not a driver of repurchase
