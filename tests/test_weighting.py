"""Raking (engagement.weighting): margins are met, levels are matched robustly, bad input
is refused with a message naming the column and level, and diagnostics are right.

Tolerances: margins and closed-form weights to 1e-12 (float round-off of a converged IPF).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from engagement.weighting import rake_weights, weight_diagnostics

TIGHT = 1e-12


@pytest.fixture
def sample() -> pd.DataFrame:
    """120 respondents, two correlated raking variables, so IPF needs several passes."""
    rng = np.random.default_rng(7)
    sex = rng.choice(["F", "M"], size=120, p=[0.35, 0.65])
    age_if_f = rng.choice([1, 2, 3], 120, p=[0.6, 0.3, 0.1])
    age_if_m = rng.choice([1, 2, 3], 120, p=[0.2, 0.3, 0.5])
    age = np.where(sex == "F", age_if_f, age_if_m)
    return pd.DataFrame({"sex": sex, "age": age})


MARGINS = {"sex": {"F": 0.5, "M": 0.5}, "age": {1: 0.3, 2: 0.4, 3: 0.3}}


def achieved_shares(df: pd.DataFrame, column: str, w: np.ndarray) -> dict:
    return (pd.Series(w).groupby(df[column].to_numpy()).sum() / w.sum()).to_dict()


def test_raking_meets_every_margin_and_sums_to_n(sample):
    res = rake_weights(sample, MARGINS)
    assert res.converged
    assert res.iterations > 1  # correlated margins: a single pass cannot satisfy both
    assert res.max_margin_error <= 1e-13
    assert res.weights.sum() == pytest.approx(len(sample), abs=TIGHT)
    for column, shares in MARGINS.items():
        got = achieved_shares(sample, column, res.weights)
        for level, share in shares.items():
            assert got[level] == pytest.approx(share, abs=TIGHT)


def test_single_margin_is_post_stratification(sample):
    res = rake_weights(sample, {"sex": {"F": 0.5, "M": 0.5}})
    counts = sample["sex"].value_counts()
    expected = 0.5 * len(sample) / sample["sex"].map(counts).to_numpy()
    np.testing.assert_allclose(res.weights, expected, rtol=TIGHT)


def test_base_weights_seed_the_raking_and_result_sums_to_n(sample):
    base = np.linspace(1.0, 3.0, len(sample))
    res = rake_weights(sample, {"sex": {"F": 0.5, "M": 0.5}}, base_weight=base)
    # one margin: w = d * target / (sum of d in the level), so w/d is constant within a level
    totals = pd.Series(base).groupby(sample["sex"].to_numpy()).transform("sum").to_numpy()
    np.testing.assert_allclose(res.weights, base * 0.5 * len(sample) / totals, rtol=TIGHT)
    assert res.weights.sum() == pytest.approx(len(sample), abs=1e-9)
    np.testing.assert_array_equal(res.base_weights, base)


def test_base_weight_given_as_column_name(sample):
    with_col = sample.assign(dw=np.linspace(1.0, 2.0, len(sample)))
    by_name = rake_weights(with_col, MARGINS, base_weight="dw")
    by_array = rake_weights(sample, MARGINS, base_weight=with_col["dw"].to_numpy())
    np.testing.assert_allclose(by_name.weights, by_array.weights, rtol=TIGHT)


@pytest.mark.parametrize("bad", [np.zeros(120), -np.ones(120), np.ones(119), np.full(120, np.nan)])
def test_invalid_base_weights_are_refused(sample, bad):
    with pytest.raises(ValueError, match="base"):
        rake_weights(sample, MARGINS, base_weight=bad)


@pytest.mark.parametrize(
    "age_margin",
    [
        {1: 0.3, 2: 0.4, 3: 0.3},
        {"1": 0.3, "2": 0.4, "3": 0.3},
        {1.0: 0.3, 2.0: 0.4, 3.0: 0.3},
        {np.int64(1): 0.3, "2": 0.4, 3: 0.3},
    ],
)
def test_levels_match_across_int_string_and_float_spellings(sample, age_margin):
    reference = rake_weights(sample, MARGINS).weights
    res = rake_weights(sample, {"sex": MARGINS["sex"], "age": age_margin})
    np.testing.assert_allclose(res.weights, reference, rtol=TIGHT)


def test_string_coded_data_match_integer_margins(sample):
    as_text = sample.assign(age=sample["age"].astype(str))
    np.testing.assert_allclose(
        rake_weights(as_text, MARGINS).weights, rake_weights(sample, MARGINS).weights, rtol=TIGHT
    )


def test_raking_variable_named_like_a_weight_column(sample):
    renamed = sample.rename(columns={"sex": "weight"})
    res = rake_weights(renamed, {"weight": {"F": 0.5, "M": 0.5}})
    assert achieved_shares(renamed, "weight", res.weights)["F"] == pytest.approx(0.5, abs=TIGHT)
    assert res.calibration_columns == ("(Intercept)", "weight=M")


def test_categorical_column_with_unused_category(sample):
    as_cat = sample.assign(sex=pd.Categorical(sample["sex"], categories=["F", "M", "X"]))
    res = rake_weights(as_cat, {"sex": {"F": 0.5, "M": 0.5}})
    np.testing.assert_allclose(res.weights, rake_weights(sample, {"sex": {"F": 0.5, "M": 0.5}}).weights, rtol=TIGHT)


def test_weights_follow_row_order_not_index(sample):
    shuffled = sample.sample(frac=1.0, random_state=3)  # index now scrambled
    res = rake_weights(shuffled, MARGINS)
    by_row = pd.Series(res.weights, index=shuffled.index).sort_index().to_numpy()
    np.testing.assert_allclose(by_row, rake_weights(sample, MARGINS).weights, rtol=1e-10)


def test_missing_value_in_raking_variable_names_the_column(sample):
    broken = sample.astype({"age": float})
    broken.loc[5, "age"] = np.nan
    with pytest.raises(ValueError, match=r"'age'.*missing"):
        rake_weights(broken, MARGINS)


def test_data_level_without_share_names_column_and_level(sample):
    with pytest.raises(ValueError, match=r"'age'.*level '3'.*no population share"):
        rake_weights(sample, {"sex": MARGINS["sex"], "age": {1: 0.5, 2: 0.5}})


def test_margin_level_without_respondents_names_column_and_level(sample):
    with pytest.raises(ValueError, match=r"'sex'.*'X'.*no respondents"):
        rake_weights(sample, {"sex": {"F": 0.4, "M": 0.4, "X": 0.2}})


def test_zero_share_level_without_respondents_is_ignored(sample):
    res = rake_weights(sample, {"sex": {"F": 0.5, "M": 0.5, "X": 0.0}})
    assert res.converged
    assert achieved_shares(sample, "sex", res.weights)["F"] == pytest.approx(0.5, abs=TIGHT)


def test_zero_share_for_a_populated_level_is_refused(sample):
    with pytest.raises(ValueError, match=r"'sex'.*'F'.*share of 0"):
        rake_weights(sample, {"sex": {"F": 0.0, "M": 1.0}})


def test_shares_must_sum_to_one(sample):
    with pytest.raises(ValueError, match=r"'sex'.*sum to 0\.9"):
        rake_weights(sample, {"sex": {"F": 0.45, "M": 0.45}})


def test_shares_off_by_rounding_are_rescaled(sample):
    res = rake_weights(sample, {"sex": {"F": 0.5000001, "M": 0.5}})
    assert sum(res.margins["sex"].values()) == pytest.approx(1.0, abs=1e-15)
    assert res.weights.sum() == pytest.approx(len(sample), abs=1e-9)


def test_the_same_level_spelled_twice_is_refused(sample):
    with pytest.raises(ValueError, match="twice"):
        rake_weights(sample, {"age": {1: 0.3, "1": 0.0, 2: 0.4, 3: 0.3}})


def test_unknown_column_is_refused(sample):
    with pytest.raises(ValueError, match="'region'"):
        rake_weights(sample, {"region": {"N": 1.0}})


def test_non_convergence_is_reported_quietly(sample, capsys):
    with pytest.warns(RuntimeWarning, match="did not converge"):
        res = rake_weights(sample, MARGINS, max_iter=1)
    assert not res.converged
    assert res.iterations == 1
    assert res.max_margin_error > 1e-6
    assert capsys.readouterr().out == ""  # weightipy's own prints are swallowed


def test_no_warning_when_converged(sample):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rake_weights(sample, MARGINS)


def test_calibration_matrix_holds_intercept_and_margin_dummies(sample):
    res = rake_weights(sample, MARGINS)
    assert res.calibration_columns == ("(Intercept)", "sex=M", "age=2", "age=3")
    X = res.calibration
    assert X.shape == (len(sample), 4)
    np.testing.assert_array_equal(X[:, 0], 1.0)
    np.testing.assert_array_equal(X[:, 1], (sample["sex"] == "M").to_numpy(float))
    np.testing.assert_array_equal(X[:, 3], (sample["age"] == 3).to_numpy(float))
    # the calibration equations hold: weighted totals of the dummies equal n * share
    np.testing.assert_allclose(res.weights @ X, len(sample) * np.array([1, 0.5, 0.4, 0.3]), rtol=TIGHT)


def test_weight_diagnostics_values():
    w = np.array([1.0, 1.0, 2.0, 4.0])
    d = weight_diagnostics(w)
    assert d["n"] == 4
    assert d["sum"] == 8.0
    assert d["min"] == 1.0 and d["max"] == 4.0 and d["mean"] == 2.0
    assert d["sd"] == pytest.approx(np.sqrt(2.0), rel=1e-15)  # deviations -1,-1,0,2 -> 6/3
    assert d["kish_ess"] == pytest.approx(64 / 22, rel=1e-15)
    assert d["kish_deff"] == pytest.approx(4 * 22 / 64, rel=1e-15)
    assert d["ratio_max_min"] == 4.0


def test_equal_weights_have_no_design_effect():
    d = weight_diagnostics(np.full(10, 3.0))
    assert d["kish_ess"] == pytest.approx(10.0, rel=1e-15)
    assert d["kish_deff"] == pytest.approx(1.0, rel=1e-15)


@pytest.mark.parametrize("bad", [[], [1.0, -1.0], [0.0, 0.0], [1.0, np.nan]])
def test_weight_diagnostics_refuses_invalid_weights(bad):
    with pytest.raises(ValueError):
        weight_diagnostics(np.array(bad))
