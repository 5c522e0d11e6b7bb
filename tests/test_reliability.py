"""Cronbach's alpha (engagement.reliability) on small synthetic scales.

Tolerances: 1e-12 for closed forms (round-off only); the Feldt coverage check is a
seeded simulation with a +/-0.03 band around 0.95.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engagement.reliability import cronbach_alpha

REL = 1e-12


@pytest.fixture
def items() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    trait = rng.normal(size=300)
    return pd.DataFrame({f"q{i}": np.round(3 + trait * (0.5 + 0.2 * i) + rng.normal(size=300)) for i in range(4)})


def test_raw_alpha_is_the_sum_score_formula(items):
    k = items.shape[1]
    sum_variance = items.sum(axis=1).var(ddof=1)
    expected = k / (k - 1) * (1 - items.var(ddof=1).sum() / sum_variance)
    res = cronbach_alpha(items)
    assert res["raw_alpha"] == pytest.approx(expected, rel=REL)
    assert res["n_items"] == k and res["n"] == len(items)


def test_standardized_alpha_from_average_correlation(items):
    R = np.corrcoef(items.to_numpy(), rowvar=False)
    k = R.shape[0]
    r_bar = R[np.triu_indices(k, 1)].mean()
    res = cronbach_alpha(items)
    assert res["average_r"] == pytest.approx(r_bar, rel=REL)
    assert res["std_alpha"] == pytest.approx(k * r_bar / (1 + (k - 1) * r_bar), rel=REL)
    assert res["std_alpha"] == pytest.approx(cronbach_alpha(items / items.std()).get("raw_alpha"), rel=1e-10)


def test_rescaling_one_item_changes_raw_but_not_standardized_alpha(items):
    base = cronbach_alpha(items)
    scaled = cronbach_alpha(items.assign(q0=items["q0"] * 10 + 7))
    assert scaled["std_alpha"] == pytest.approx(base["std_alpha"], rel=REL)
    assert scaled["raw_alpha"] != pytest.approx(base["raw_alpha"], rel=1e-3)


def test_identical_items_have_alpha_one_and_orthogonal_items_zero():
    x = pd.Series([1.0, 2, 3, 4, 5, 6])
    same = cronbach_alpha(pd.DataFrame({"a": x, "b": x, "c": x}))  # singular correlation matrix
    assert same["raw_alpha"] == pytest.approx(1.0, rel=REL)
    assert same["g6_smc"] == pytest.approx(1.0, rel=REL)
    orthogonal = pd.DataFrame({"a": [1.0, 1, -1, -1], "b": [1.0, -1, 1, -1]})
    res = cronbach_alpha(orthogonal)
    assert res["raw_alpha"] == pytest.approx(0.0, abs=1e-15)
    assert res["average_r"] == pytest.approx(0.0, abs=1e-15)


def test_guttman_lambda6_for_two_items_equals_their_correlation(items):
    pair = items[["q0", "q1"]]
    res = cronbach_alpha(pair)
    assert res["g6_smc"] == pytest.approx(pair.corr().iloc[0, 1], rel=REL)


def test_missing_values_use_pairwise_covariances_and_complete_case_n(items):
    holes = items.copy()
    holes.iloc[0, 0] = np.nan
    holes.iloc[1, 2] = np.nan
    holes.loc[len(holes)] = np.nan  # an empty row is ignored
    res = cronbach_alpha(holes)
    C = holes.cov().to_numpy()  # pandas: pairwise-complete, like R's use="pairwise"
    k = C.shape[0]
    assert res["raw_alpha"] == pytest.approx(k / (k - 1) * (1 - np.trace(C) / C.sum()), rel=REL)
    assert res["n"] == len(items) - 2


def test_feldt_interval_brackets_alpha_and_narrows_with_n(items):
    small = cronbach_alpha(items.iloc[:50])
    large = cronbach_alpha(items)
    for res in (small, large):
        assert res["ci_low"] < res["raw_alpha"] < res["ci_high"] <= 1
        assert res["ci_method"] == "feldt"
    assert large["ci_high"] - large["ci_low"] < small["ci_high"] - small["ci_low"]
    wider = cronbach_alpha(items, confidence=0.99)
    assert wider["ci_low"] < large["ci_low"] and wider["ci_high"] > large["ci_high"]


def test_feldt_interval_covers_true_alpha_under_parallel_model():
    """Parallel items: true alpha = k rho / (1 + (k-1) rho) with rho = 1/(1 + error variance)."""
    rng = np.random.default_rng(2024)
    k, n, error_var, reps = 4, 60, 1.5, 400
    rho = 1 / (1 + error_var)
    true_alpha = k * rho / (1 + (k - 1) * rho)
    hits = 0
    for _ in range(reps):
        trait = rng.normal(size=(n, 1))
        res = cronbach_alpha(pd.DataFrame(trait + rng.normal(scale=np.sqrt(error_var), size=(n, k))))
        hits += res["ci_low"] <= true_alpha <= res["ci_high"]
    assert abs(hits / reps - 0.95) < 0.03


def test_input_checks(items):
    with pytest.raises(ValueError, match="at least 2 items"):
        cronbach_alpha(items[["q0"]])
    with pytest.raises(ValueError, match=r"'q1'.*no variance"):
        cronbach_alpha(items.assign(q1=3.0))
    with pytest.raises(ValueError, match="numeric"):
        cronbach_alpha(items.assign(q1="x"))
    with pytest.raises(ValueError, match="DataFrame"):
        cronbach_alpha(items.to_numpy())
    with pytest.raises(ValueError, match="complete"):
        cronbach_alpha(pd.DataFrame({"a": [1.0, np.nan], "b": [np.nan, 2.0]}))
