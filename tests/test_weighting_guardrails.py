"""Weighting guard rails (issue 10 item 5) against R: bounded (logit) calibration, trimming with
redistribution, and per-estimate design effects, on tests/reference/guardrails_sample.csv.

The R numbers are committed (tests/reference/weighting_guardrails.csv, made by
weighting_guardrails.R with R 4.2.2 / survey 4.1-1), so these tests need no R.
Tolerance 1e-9 (relative; absolute 1e-9 for weights).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engagement.survey_stats import Design, weighted_mean, weighted_proportion, weighted_proportions
from engagement.weighting import (
    CalibrationDidNotConverge,
    calibrate_weights,
    logit_calibration,
    trim_weights,
)

HERE = Path(__file__).parent / "reference"
TOL = 1e-9
MARGINS = {
    "sex": {"F": 0.45, "M": 0.55},
    "region": {"N": 0.35, "S": 0.30, "E": 0.20, "W": 0.15},
    "age": {1: 0.30, 2: 0.35, 3: 0.35},
}
BOUNDS = (0.5, 2.5)
TRIM = (0.4, 2.5)


@pytest.fixture(scope="module")
def sample() -> pd.DataFrame:
    df = pd.read_csv(HERE / "guardrails_sample.csv")
    return df.assign(d=df["d"] * len(df) / df["d"].sum())


@pytest.fixture(scope="module")
def r_numbers() -> pd.DataFrame:
    return pd.read_csv(HERE / "weighting_guardrails.csv", dtype={"index": str, "value": float})


def r_value(r: pd.DataFrame, design: str, quantity: str, index: str | None = None):
    part = r[(r["design"] == design) & (r["quantity"] == quantity)]
    return part["value"].to_numpy() if index is None else float(part.loc[part["index"] == index, "value"].iloc[0])


@pytest.fixture(scope="module")
def designs(sample) -> dict[str, Design]:
    base = sample["d"].to_numpy()
    return {
        "raking": Design.from_rake(calibrate_weights(sample, MARGINS, base_weight=base)),
        "logit": Design.from_rake(calibrate_weights(sample, MARGINS, base_weight=base, method="logit", bounds=BOUNDS)),
        "trim": Design.from_rake(calibrate_weights(sample, MARGINS, base_weight=base, trim=TRIM)),
        "trim_strict": Design.from_rake(calibrate_weights(sample, MARGINS, base_weight=base, trim=TRIM,
                                                          trim_strict=True)),
    }


@pytest.mark.parametrize("name", ["raking", "logit", "trim", "trim_strict"])
def test_weights_equal_r(designs, r_numbers, name):
    np.testing.assert_allclose(designs[name].weights, r_value(r_numbers, name, "weight"), rtol=0, atol=TOL)


def test_logit_g_weights_stay_inside_the_bounds(sample):
    res = logit_calibration(sample, MARGINS, BOUNDS, base_weight=sample["d"].to_numpy())
    g = res.weights / res.base_weights
    assert res.converged and BOUNDS[0] < g.min() and g.max() < BOUNDS[1]
    assert res.method == "logit" and res.flag is None


def test_trimming_keeps_the_total_and_counts_what_it_cut(designs):
    w = designs["trim_strict"].weights
    assert w.sum() == pytest.approx(len(w), rel=1e-12)
    assert w.min() >= TRIM[0] - 1e-12 and w.max() <= TRIM[1] + 1e-12
    _, count = trim_weights(designs["raking"].weights, *TRIM)
    assert count == int(np.sum((designs["raking"].weights < TRIM[0]) | (designs["raking"].weights > TRIM[1])))


@pytest.mark.parametrize("name", ["raking", "logit", "trim", "trim_strict"])
def test_mean_se_and_deff_equal_r(designs, r_numbers, sample, name):
    """svymean(~y, na.rm = TRUE, deff = "replace"): y has missing values (a domain)."""
    got = weighted_mean(sample["y"], designs[name], deff=True)
    assert got["estimate"] == pytest.approx(r_value(r_numbers, name, "y_mean", "y"), rel=TOL)
    assert got["se"] == pytest.approx(r_value(r_numbers, name, "y_se", "y"), rel=TOL)
    assert got["deff"] == pytest.approx(r_value(r_numbers, name, "y_deff", "y"), rel=TOL)


@pytest.mark.parametrize("name", ["raking", "logit", "trim", "trim_strict"])
def test_proportion_se_and_deff_equal_r(designs, r_numbers, sample, name):
    got = weighted_proportion(sample["b"], designs[name], deff=True)
    assert got["estimate"] == pytest.approx(r_value(r_numbers, name, "b_mean", "b"), rel=TOL)
    assert got["se"] == pytest.approx(r_value(r_numbers, name, "b_se", "b"), rel=TOL)
    assert got["deff"] == pytest.approx(r_value(r_numbers, name, "b_deff", "b"), rel=TOL)


@pytest.mark.parametrize("name", ["raking", "logit", "trim", "trim_strict"])
def test_factor_proportions_se_and_deff_equal_r(designs, r_numbers, sample, name):
    got = weighted_proportions(sample["x"], designs[name], deff=True).set_index("level")
    for level in ("a", "b", "c"):
        assert got.loc[level, "proportion"] == pytest.approx(r_value(r_numbers, name, "x_mean", f"x{level}"), rel=TOL)
        assert got.loc[level, "se"] == pytest.approx(r_value(r_numbers, name, "x_se", f"x{level}"), rel=TOL)
        assert got.loc[level, "deff"] == pytest.approx(r_value(r_numbers, name, "x_deff", f"x{level}"), rel=TOL)


def test_nonconvergence_is_an_error_when_asked(sample):
    with pytest.raises(CalibrationDidNotConverge, match=r"bounds \(0.9, 1.1\).*did not converge"):
        calibrate_weights(sample, MARGINS, method="logit", bounds=(0.9, 1.1), on_nonconvergence="error")


def test_nonconvergence_flags_every_estimate(sample):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        res = calibrate_weights(sample, MARGINS, method="logit", bounds=(0.9, 1.1), on_nonconvergence="flag")
    design = Design.from_rake(res)
    assert not res.converged and "did not converge" in design.flag
    assert weighted_mean(sample["y"], design)["flag"] == design.flag
    assert weighted_proportion(sample["b"], design)["flag"] == design.flag
    assert (weighted_proportions(sample["x"], design)["flag"] == design.flag).all()


def test_converged_estimates_carry_no_flag(designs, sample):
    assert "flag" not in weighted_mean(sample["y"], designs["raking"])
    assert "flag" not in weighted_proportions(sample["x"], designs["raking"]).columns


def test_codebook_weighting_section_is_validated():
    from engagement.codebook import Weighting

    assert Weighting().method == "raking" and Weighting().on_nonconvergence == "flag"
    with pytest.raises(ValueError, match="bounds"):
        Weighting(method="logit")
    with pytest.raises(ValueError, match="lower < 1 < upper"):
        Weighting(method="logit", bounds=[1.2, 3])
