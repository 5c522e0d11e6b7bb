"""Design-based estimation (engagement.survey_stats) on small synthetic data.

Each estimate is checked against a closed form that is independent of the linearization
code (SRS formulas, a statsmodels WLS residualization, known Rao-Scott identities).
Tolerances: 1e-12 relative unless stated (pure floating-point round-off).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

from engagement.survey_stats import (
    Design,
    column_proportion_tests,
    correlation_with_ci,
    difference_in_means,
    difference_in_proportions,
    rao_scott_chisq,
    weighted_mean,
    weighted_proportion,
    weighted_proportions,
)
from engagement.weighting import rake_weights

REL = 1e-12
Z975 = stats.norm.ppf(0.975)
RAKE_MARGINS = {"sex": {"F": 0.5, "M": 0.5}, "region": {"N": 0.2, "S": 0.3, "E": 0.5}}


@pytest.fixture
def survey() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    n = 400
    sex = rng.choice(["F", "M"], n, p=[0.3, 0.7])
    region = rng.choice(["N", "S", "E"], n)
    score = rng.normal(5, 2, n) + (sex == "F") * 1.5
    happy = rng.random(n) < np.where(sex == "F", 0.7, 0.4)
    return pd.DataFrame({"sex": sex, "region": region, "score": score, "happy": happy, "w": rng.uniform(0.5, 2.0, n)})


@pytest.fixture
def raked(survey) -> Design:
    return Design.from_rake(rake_weights(survey, RAKE_MARGINS))


# ----------------------------------------------------------------------------- Design


def test_design_validates_its_inputs():
    with pytest.raises(ValueError, match="weights"):
        Design(np.array([1.0, -1.0, 1.0]))
    with pytest.raises(ValueError, match="weights"):
        Design(np.array([1.0]))
    with pytest.raises(ValueError, match="calibration"):
        Design(np.ones(3), calibration=np.ones((2, 1)))
    with pytest.raises(ValueError, match="base_weights"):
        Design(np.ones(3), calibration=np.ones((3, 1)), base_weights=np.zeros(3))


def test_data_and_design_must_have_the_same_rows():
    with pytest.raises(ValueError, match="rows"):
        weighted_mean(np.arange(5.0), Design.unweighted(4))


def test_no_design_is_a_simple_random_sample(survey):
    assert weighted_mean(survey["score"]) == weighted_mean(survey["score"], Design.unweighted(len(survey)))


# ----------------------------------------------------------------------------- means


def test_unweighted_mean_uses_srs_formula(survey):
    y = survey["score"].to_numpy()
    res = weighted_mean(y)
    se = y.std(ddof=1) / np.sqrt(y.size)
    assert res["estimate"] == pytest.approx(y.mean(), rel=REL)
    assert res["se"] == pytest.approx(se, rel=REL)
    assert res["ci_low"] == pytest.approx(y.mean() - Z975 * se, rel=REL)
    assert res["ci_high"] == pytest.approx(y.mean() + Z975 * se, rel=REL)
    assert res["n"] == y.size


def test_fixed_weight_mean_uses_ratio_linearization(survey):
    y, w = survey["score"].to_numpy(), survey["w"].to_numpy()
    res = weighted_mean(y, Design(w))
    mean = np.sum(w * y) / w.sum()
    n = y.size
    se = np.sqrt(n / (n - 1) * np.sum((w * (y - mean)) ** 2)) / w.sum()
    assert res["estimate"] == pytest.approx(mean, rel=REL)
    assert res["se"] == pytest.approx(se, rel=REL)


def test_weights_are_scale_free(survey):
    a = weighted_mean(survey["score"], Design(survey["w"].to_numpy()))
    b = weighted_mean(survey["score"], Design(1000 * survey["w"].to_numpy()))
    assert a == pytest.approx(b, rel=REL)


def test_missing_outcome_is_a_domain_not_a_subset(survey):
    y = survey["score"].to_numpy().copy()
    y[::4] = np.nan
    res = weighted_mean(y)
    kept = y[~np.isnan(y)]
    n, nd = y.size, kept.size
    # domain variance of an SRS mean: n/(n-1) * (nd-1) s^2 / nd^2  (all n rows stay in)
    se = np.sqrt(n / (n - 1) * (nd - 1) * kept.var(ddof=1) / nd**2)
    assert res["estimate"] == pytest.approx(kept.mean(), rel=REL)
    assert res["se"] == pytest.approx(se, rel=REL)
    assert res["n"] == nd
    assert weighted_mean(pd.Series(y).astype("Float64"))["se"] == pytest.approx(se, rel=REL)  # pd.NA too


def test_domain_mask_matches_missing_outcome(survey):
    y = survey["score"].to_numpy()
    female = (survey["sex"] == "F").to_numpy()
    via_domain = weighted_mean(y, domain=female)
    via_missing = weighted_mean(np.where(female, y, np.nan))
    assert via_domain == pytest.approx(via_missing, rel=REL)
    assert weighted_mean(y, domain=np.ones(y.size, bool)) == pytest.approx(weighted_mean(y), rel=REL)


def test_empty_domain_is_refused(survey):
    with pytest.raises(ValueError, match="domain"):
        weighted_mean(survey["score"], domain=np.zeros(len(survey), bool))


def test_calibrated_variable_has_zero_se(survey, raked):
    """A raked margin is known exactly, so its estimate has no sampling variance."""
    res = weighted_proportion(survey["sex"] == "F", raked, ci="wald")
    assert res["estimate"] == pytest.approx(0.5, abs=1e-12)
    assert res["se"] < 1e-12


def test_raking_adjustment_matches_wls_residuals(survey):
    """GREG linearization with base weights: residuals from the base-weighted OLS of the
    scores on the calibration matrix (computed here with statsmodels WLS)."""
    base = survey["w"].to_numpy()
    rk = rake_weights(survey, RAKE_MARGINS, base_weight=base)
    design = Design.from_rake(rk)
    y, w, n = survey["score"].to_numpy(), rk.weights, len(survey)
    mean = np.sum(w * y) / w.sum()
    u = (y - mean) / w.sum()
    e = sm.WLS(u, rk.calibration, weights=base).fit().resid
    z = w * e
    se = np.sqrt(n / (n - 1) * np.sum((z - z.mean()) ** 2))
    res = weighted_mean(y, design)
    assert res["se"] == pytest.approx(se, rel=1e-10)
    # and the adjustment matters: the fixed-weight SE of the same weights is different
    assert weighted_mean(y, Design(w))["se"] > res["se"] * 1.01


# ----------------------------------------------------------------------------- proportions


def test_logit_interval_is_svyciprop_formula(survey, raked):
    res = weighted_proportion(survey["happy"], raked)
    p, se, n = res["estimate"], res["se"], res["n"]
    half = stats.t.ppf(0.975, n - 1) * se / (p * (1 - p))
    expit = lambda x: 1 / (1 + np.exp(-x))  # noqa: E731
    assert res["ci_low"] == pytest.approx(expit(np.log(p / (1 - p)) - half), rel=REL)
    assert res["ci_high"] == pytest.approx(expit(np.log(p / (1 - p)) + half), rel=REL)
    assert res["ci_method"] == "logit"
    assert weighted_mean(survey["happy"], raked)["se"] == pytest.approx(se, rel=REL)


def test_wald_interval_uses_normal_quantile(survey):
    res = weighted_proportion(survey["happy"], ci="wald")
    assert res["ci_high"] - res["estimate"] == pytest.approx(Z975 * res["se"], rel=REL)
    assert res["ci_method"] == "wald"


def test_logit_interval_stays_inside_zero_one_for_rare_events():
    y = np.zeros(60, bool)
    y[0] = True
    res = weighted_proportion(y)
    assert 0 < res["ci_low"] < res["estimate"] < res["ci_high"] < 1
    assert weighted_proportion(y, ci="wald")["ci_low"] < 0  # which the Wald one does not


def test_all_zero_falls_back_to_clopper_pearson_with_kish_n():
    w = np.r_[np.ones(20), np.full(20, 3.0)]
    res = weighted_proportion(np.zeros(40), Design(w))
    n_eff = w.sum() ** 2 / np.sum(w**2)
    assert res["estimate"] == 0 and res["se"] == 0
    assert res["ci_low"] == 0
    assert res["ci_high"] == pytest.approx(1 - 0.025 ** (1 / n_eff), rel=1e-10)  # beta(1, n) quantile
    assert res["ci_method"] == "clopper-pearson-kish"
    mirrored = weighted_proportion(np.ones(40), Design(w))
    assert (mirrored["ci_low"], mirrored["ci_high"]) == pytest.approx((1 - res["ci_high"], 1.0), rel=1e-10)


def test_boundary_is_detected_on_counts_not_on_a_rounded_estimate():
    w = np.random.default_rng(4).uniform(0.3, 3.0, 37)  # these weights give sum(w*1)/sum(w) != 1.0
    res = weighted_proportion(np.ones(37, bool), Design(w))
    assert res["ci_method"] == "clopper-pearson-kish"
    assert (res["estimate"], res["se"], res["ci_high"]) == (1.0, 0.0, 1.0)


def test_proportion_input_checks(survey):
    with pytest.raises(ValueError, match="0-1"):
        weighted_proportion(np.array([0, 1, 2]))
    with pytest.raises(ValueError, match="numeric or boolean"):
        weighted_proportion(np.array(["yes", "no"]))
    with pytest.raises(ValueError, match="ci must be"):
        weighted_proportion(survey["happy"], ci="wilson")


def test_proportions_table_matches_single_proportions(survey, raked):
    table = weighted_proportions(survey["region"], raked)
    assert list(table["level"]) == ["E", "N", "S"]  # sorted, like R's factor()
    assert table["proportion"].sum() == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(table["proportion"], [0.5, 0.2, 0.3], atol=1e-12)  # raked margin
    for row in table.itertuples():
        single = weighted_proportion(survey["region"] == row.level, raked, ci="wald")
        assert row.se == pytest.approx(single["se"], rel=1e-9, abs=1e-15)
        assert row.n == int((survey["region"] == row.level).sum())
    answers = weighted_proportions(survey["happy"].map({True: "yes", False: "no"}), raked)
    happy = weighted_proportion(survey["happy"], raked, ci="wald")
    yes = answers.set_index("level").loc["yes"]
    assert yes["proportion"] == pytest.approx(happy["estimate"], rel=REL)
    assert yes["se"] == pytest.approx(happy["se"], rel=REL)
    assert yes["ci_low"] == pytest.approx(happy["ci_low"], rel=REL)


def test_proportions_keep_categorical_order_and_empty_levels():
    x = pd.Series(pd.Categorical(["b", "a", "b", None], categories=["b", "a", "z"]))
    table = weighted_proportions(x)
    assert list(table["level"]) == ["b", "a", "z"]
    np.testing.assert_allclose(table["proportion"], [2 / 3, 1 / 3, 0])
    assert list(table["n"]) == [2, 1, 0]
    assert table.loc[2, "se"] == 0


# ----------------------------------------------------------------------------- Rao-Scott


def test_rao_scott_under_srs_reduces_to_pearson(survey):
    """Without weights Delta = n/(n-1) I, so ndf = (r-1)(c-1) and F = X2 (n-1) / (n df)."""
    res = rao_scott_chisq(survey["sex"], survey["region"])
    n, df = len(survey), 2
    counts = pd.crosstab(survey["sex"], survey["region"]).to_numpy()
    chi2 = stats.chi2_contingency(counts, correction=False)[0]
    assert res["pearson_x2"] == pytest.approx(chi2, rel=REL)
    assert res["unweighted_chisq"] == pytest.approx(chi2, rel=REL)
    assert res["trace_delta"] == pytest.approx(df * n / (n - 1), rel=1e-10)
    assert res["ndf"] == pytest.approx(df, rel=1e-10)
    assert res["ddf"] == pytest.approx(df * (n - 1), rel=1e-10)
    assert res["f_statistic"] == pytest.approx(chi2 * (n - 1) / (n * df), rel=1e-10)
    assert res["p_value"] == pytest.approx(stats.f.sf(res["f_statistic"], res["ndf"], res["ddf"]), rel=1e-12)
    assert res["cramers_v"] == pytest.approx(np.sqrt(chi2 / n), rel=REL)
    assert res["weighted_cramers_v"] == pytest.approx(res["cramers_v"], rel=REL)
    assert res["df"] == df and res["n"] == n


def test_rao_scott_weighted_differs_and_is_scale_free(survey):
    w = survey["w"].to_numpy()
    a = rao_scott_chisq(survey["sex"], survey["region"], Design(w))
    b = rao_scott_chisq(survey["sex"], survey["region"], Design(50 * w))
    for key in ("pearson_x2", "trace_delta", "f_statistic", "ndf", "ddf", "p_value"):
        assert a[key] == pytest.approx(b[key], rel=1e-10)
    assert a["pearson_x2"] != pytest.approx(a["unweighted_chisq"], rel=1e-3)


def test_rao_scott_detects_association_and_drops_missing(survey):
    x = survey["sex"].copy()
    y = np.where(survey["happy"], "happy", "unhappy").astype(object)
    y[:10] = None
    res = rao_scott_chisq(x, y)
    assert res["n"] == len(survey) - 10
    assert res["p_value"] < 1e-3  # built in: 70% vs 40% happy among ~120 F and ~280 M


def test_rao_scott_refuses_empty_cells_and_single_levels():
    x = np.array(["a", "a", "b", "b", "c"])
    y = np.array(["u", "v", "u", "v", "u"])
    with pytest.raises(ValueError, match=r"cell \('c', 'v'\) is empty"):
        rao_scott_chisq(x, y)
    with pytest.raises(ValueError, match="at least 2"):
        rao_scott_chisq(x, np.array(["u"] * 5))


# ----------------------------------------------------------------------------- column tests


def _two_column_z(p_a, p_b, n_a, n_b):
    n = n_a + n_b  # SRS domain variances, no covariance between disjoint domains
    var = n / (n - 1) * (p_a * (1 - p_a) / n_a + p_b * (1 - p_b) / n_b)
    return (p_a - p_b) / np.sqrt(var)


def _crosstab_data(shares_yes: dict[str, float], per_column: int) -> pd.DataFrame:
    rows = []
    for column, share in shares_yes.items():
        k = round(share * per_column)
        rows += [("yes", column)] * k + [("no", column)] * (per_column - k)
    return pd.DataFrame(rows, columns=["answer", "banner"])


def test_column_letters_mark_significantly_higher_cells():
    data = _crosstab_data({"A1": 0.8, "B1": 0.2, "C1": 0.5}, per_column=200)
    table = column_proportion_tests(data["answer"], data["banner"])
    yes = table[table["row"] == "yes"].set_index("column")
    assert list(yes["letter"]) == ["A", "B", "C"]
    assert yes.loc["A1", "higher_than"] == "BC"
    assert yes.loc["B1", "higher_than"] == ""
    assert yes.loc["C1", "higher_than"] == "B"
    no = table[table["row"] == "no"].set_index("column")
    assert no.loc["B1", "higher_than"] == "AC"
    assert yes.loc["A1", "proportion"] == pytest.approx(0.8, rel=REL)
    assert yes.loc["A1", "count"] == 160 and yes.loc["A1", "n_column"] == 200


def test_bonferroni_is_applied_within_a_row():
    """A difference with unadjusted p ~ 0.03 is flagged with 2 columns (1 pair) but not
    once a third column makes it 3 pairs (adjusted p ~ 0.08)."""
    z = _two_column_z(0.5, 0.39, 200, 200)
    assert 0.05 / 3 < 2 * stats.norm.sf(z) < 0.05  # the premise of the test
    two = column_proportion_tests(*_crosstab_data({"P": 0.5, "Q": 0.39}, 200).T.to_numpy())
    assert two.set_index(["row", "column"]).loc[("yes", "P"), "higher_than"] == "B"
    three = column_proportion_tests(*_crosstab_data({"P": 0.5, "Q": 0.39, "R": 0.445}, 200).T.to_numpy())
    assert (three["higher_than"] == "").all()


def test_columns_at_zero_or_one_are_not_compared():
    data = _crosstab_data({"A1": 0.0, "B1": 0.6, "C1": 0.1}, per_column=100)
    yes = column_proportion_tests(data["answer"], data["banner"]).query("row == 'yes'").set_index("column")
    assert yes.loc["B1", "higher_than"] == "C"  # not "AC": column A is 0% in this row


def test_all_yes_column_is_not_compared_despite_round_off():
    data = _crosstab_data({"A1": 1.0, "B1": 0.5}, per_column=37)
    w = np.random.default_rng(5).uniform(0.3, 3.0, len(data))  # column A1 sums to 0.9999999999999998
    table = column_proportion_tests(data["answer"], data["banner"], Design(w))
    assert (table["higher_than"] == "").all()


def test_column_tests_use_design_based_se(survey, raked):
    table = column_proportion_tests(survey["happy"], survey["sex"], raked)
    cell = table[(table["row"] == True) & (table["column"] == "F")].iloc[0]  # noqa: E712
    single = weighted_proportion(survey["happy"], raked, domain=(survey["sex"] == "F").to_numpy(), ci="wald")
    assert cell["proportion"] == pytest.approx(single["estimate"], rel=REL)
    assert cell["se"] == pytest.approx(single["se"], rel=1e-10)


# ----------------------------------------------------------------------------- differences


def test_difference_in_means_srs(survey):
    y = survey["score"].to_numpy()
    f, m = y[survey["sex"] == "F"], y[survey["sex"] == "M"]
    res = difference_in_means(y, survey["sex"], "F", "M")
    n = y.size
    var = n / (n - 1) * sum((g.size - 1) * g.var(ddof=1) / g.size**2 for g in (f, m))
    df = n - 2
    assert res["estimate"] == pytest.approx(f.mean() - m.mean(), rel=REL)
    assert res["se"] == pytest.approx(np.sqrt(var), rel=REL)
    assert res["df"] == df
    assert res["statistic"] == pytest.approx(res["estimate"] / res["se"], rel=REL)
    assert res["p_value"] == pytest.approx(2 * stats.t.sf(abs(res["statistic"]), df), rel=1e-10)
    assert res["ci_low"] == pytest.approx(res["estimate"] - stats.t.ppf(0.975, df) * res["se"], rel=REL)
    assert (res["n_a"], res["n_b"]) == (f.size, m.size)


def test_difference_in_proportions_under_raking_includes_covariance(survey, raked):
    """Happy-rate difference between regions: the SE from the joint linearization equals
    the SE of the single linearized contrast score, not sqrt(var_a + var_b)."""
    happy = survey["happy"].to_numpy(float)
    res = difference_in_proportions(survey["happy"], survey["region"], "N", "S", raked)
    a = weighted_mean(happy, raked, domain=(survey["region"] == "N").to_numpy())
    b = weighted_mean(happy, raked, domain=(survey["region"] == "S").to_numpy())
    assert res["estimate"] == pytest.approx(a["estimate"] - b["estimate"], rel=REL)
    assert res["se"] != pytest.approx(np.hypot(a["se"], b["se"]), rel=1e-6)
    assert 0 < res["p_value"] < 1


def test_difference_input_checks(survey):
    with pytest.raises(ValueError, match="differ"):
        difference_in_means(survey["score"], survey["sex"], "F", "F")
    with pytest.raises(ValueError, match="'X'"):
        difference_in_means(survey["score"], survey["sex"], "F", "X")
    with pytest.raises(ValueError, match="0-1"):
        difference_in_proportions(survey["score"], survey["sex"], "F", "M")


# ----------------------------------------------------------------------------- correlation


def test_pearson_matches_scipy_and_fisher_interval(survey):
    x, y = survey["score"], survey["w"] + 0.1 * survey["score"]
    res = correlation_with_ci(x, y)
    ref = stats.pearsonr(x, y)
    ci = ref.confidence_interval(0.95)  # scipy: Fisher z with the normal quantile
    assert res["estimate"] == pytest.approx(ref.statistic, rel=REL)
    assert res["p_value"] == pytest.approx(ref.pvalue, rel=1e-10)
    assert (res["ci_low"], res["ci_high"]) == pytest.approx((ci.low, ci.high), rel=1e-12)
    assert res["n"] == len(survey) and res["df"] == len(survey) - 2


def test_spearman_uses_t_approximation_and_drops_incomplete_pairs():
    x = np.array([1, 2, 2, 3, 4, 5, 5, 6, np.nan, 8.0])
    y = np.array([2, 1, 3, 3, 5, 4, 6, 6, 1.0, np.nan])
    res = correlation_with_ci(x, y, method="spearman")
    keep = ~np.isnan(x) & ~np.isnan(y)
    ref = stats.spearmanr(x[keep], y[keep])
    n = keep.sum()
    assert res["n"] == n
    assert res["estimate"] == pytest.approx(ref.statistic, rel=REL)
    assert res["p_value"] == pytest.approx(ref.pvalue, rel=1e-10)
    assert res["ci_low"] == pytest.approx(np.tanh(np.arctanh(ref.statistic) - Z975 / np.sqrt(n - 3)), rel=REL)


def test_perfect_correlation_has_infinite_t():
    res = correlation_with_ci([1, 2, 3, 4, 5], [2, 4, 6, 8, 10])
    assert res["estimate"] == pytest.approx(1.0, rel=REL)
    assert res["statistic"] == np.inf
    assert (res["ci_low"], res["ci_high"]) == pytest.approx((1.0, 1.0), rel=REL)


def test_correlation_input_checks():
    with pytest.raises(ValueError, match="method"):
        correlation_with_ci([1, 2, 3, 4], [1, 2, 3, 4], method="kendall")
    with pytest.raises(ValueError, match="at least 4"):
        correlation_with_ci([1, 2, 3], [1, 2, 3])


# ------------------------------------------------------------ factorise once, grouped sums


def test_grouped_indicator_covariance_equals_the_dense_scores(survey, raked):
    """Domain-proportion covariances from grouped sums (one row per calibration pattern x cell) equal
    Design.covariance of the dense n x k score matrix, for one domain and for several (crosstab columns)."""
    from engagement.survey_stats import _indicator_covariance

    rng = np.random.default_rng(5)
    n = raked.n
    cell_x = rng.integers(0, 3, n)
    column = rng.integers(0, 2, n)
    inside = rng.random(n) < 0.8
    for design in (raked, Design(raked.weights), Design.from_rake(rake_weights(survey, RAKE_MARGINS,
                                                                               base_weight="w"))):
        w = design.weights
        cell = np.where(inside, column * 3 + cell_x, -1)
        cell_group = np.arange(6) // 3
        totals = np.bincount(column[inside], w[inside], 2)
        est = np.bincount(cell[inside], w[inside], 6) / totals[cell_group]
        dense = np.zeros((n, 6))
        for m in range(6):
            g = cell_group[m]
            member = inside & (column == g)
            dense[:, m] = member * ((cell == m) - est[m]) / totals[g]
        np.testing.assert_allclose(_indicator_covariance(design, cell, cell_group, est, totals),
                                   design.covariance(dense), rtol=1e-10, atol=1e-17)


def test_the_calibration_is_factorised_once_per_design(raked, survey):
    weighted_mean(survey["score"], raked)
    projection, patterns = raked._projection, raked._patterns
    weighted_proportions(survey["region"], raked)
    column_proportion_tests(survey["happy"], survey["sex"], raked)
    assert raked._projection is projection and raked._patterns is patterns
    assert patterns[1].shape[0] == 6  # 2 sexes x 3 regions: the distinct rows of the calibration matrix


def test_deff_of_a_simple_random_sample_is_one(survey):
    got = weighted_mean(survey["score"], deff=True)
    assert got["deff"] == pytest.approx(1.0, rel=REL)
    share = weighted_proportion(survey["happy"], deff=True)
    assert share["deff"] == pytest.approx(1.0, rel=REL)
    table = weighted_proportions(survey["region"], deff=True)
    np.testing.assert_allclose(table["deff"], 1.0, rtol=REL)


def test_results_carry_no_deff_unless_asked(survey, raked):
    assert "deff" not in weighted_mean(survey["score"], raked)
    assert "deff" not in weighted_proportions(survey["region"], raked).columns


def test_subset_keeps_calibration_and_flag(raked):
    from dataclasses import replace

    flagged = replace(raked, flag="raking did not converge")
    mask = np.arange(raked.n) % 2 == 0
    sub = flagged.subset(mask)
    np.testing.assert_array_equal(sub.weights, raked.weights[mask])
    np.testing.assert_array_equal(sub.calibration, raked.calibration[mask])
    assert sub.flag == "raking did not converge"
