"""weighting, survey_stats and reliability against the R reference numbers in
../shared/reference (R 4.2.2, survey 4.1-1, psych 2.2.9; see reference/REPORT.md).

Which R variant each test uses, and why:
- Raked estimates compare with ``rake_tight_convergence`` (and ``calibrate_raking_greg_variance``,
  identical): our raking converges, and survey's raking SE equals the GREG linearization
  that `Design` implements only at convergence (R's default ``rake()`` stops after 2 passes).
- Fixed-weight estimates compare with ``fixed_weights_from_rake_default``, computed from the
  default-rake weights in weights_full.csv, exactly as R did.

Tolerances (stated per test): 1e-9 for weights, estimates, SEs, CIs, alphas and
correlations (relative, except absolute 1e-9 for weights); 1e-6 relative for the svychisq
F, ndf, ddf and p-value, as the task specifies for the Rao-Scott test.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engagement.reliability import cronbach_alpha
from engagement.survey_stats import (
    Design,
    correlation_with_ci,
    rao_scott_chisq,
    weighted_mean,
    weighted_proportion,
    weighted_proportions,
)
from engagement.weighting import rake_weights, weight_diagnostics
from tests.shared import shared_dir

pytestmark = pytest.mark.reference

TIGHT = "rake_tight_convergence"
GREG = "calibrate_raking_greg_variance"
FIXED = "fixed_weights_from_rake_default"
MARGINS = {
    "gender": {"Female": 0.5, "Male": 0.5},
    "SeniorCitizen": {0: 0.8, 1: 0.2},
    "Partner": {"Yes": 0.5, "No": 0.5},
}


def reference(folder: str) -> dict[tuple[str, str, str], float]:
    table = pd.read_csv(shared_dir() / "reference" / "out" / folder / "results.csv", dtype={"value": float})
    return {(d, a, q): v for d, a, q, v in table.itertuples(index=False)}


@pytest.fixture(scope="module")
def telco() -> pd.DataFrame:
    return pd.read_csv(shared_dir() / "data" / "telco_churn" / "Telco-Customer-Churn.csv")


@pytest.fixture(scope="module")
def r01() -> dict:
    table = reference("01_telco_raking")
    return {(a, q): v for (_, a, q), v in table.items()}


@pytest.fixture(scope="module")
def r_weights() -> pd.DataFrame:
    return pd.read_csv(shared_dir() / "reference" / "out" / "01_telco_raking" / "weights_full.csv")


@pytest.fixture(scope="module")
def raked(telco):
    return rake_weights(telco, MARGINS)


@pytest.fixture(scope="module")
def fixed(r_weights) -> Design:
    """R's default-rake weights treated as fixed (svydesign(ids=~1, weights=~w))."""
    return Design(r_weights["weight_rake_default"].to_numpy())


def churn(telco) -> pd.Series:
    return telco["Churn"] == "Yes"


# ----------------------------------------------------------------------------- raking


def test_raked_weights_match_converged_r_weights(raked, r_weights, r01, telco):
    """Weights: absolute 1e-9 row by row; diagnostics: relative 1e-9."""
    assert raked.converged
    assert (r_weights["customerID"] == telco["customerID"]).all()
    np.testing.assert_allclose(raked.weights, r_weights["weight_rake_tight"], rtol=0, atol=1e-9)
    diag = weight_diagnostics(raked.weights)
    for ours, theirs in [("min", "weight_min"), ("max", "weight_max"), ("sum", "weight_sum"),
                         ("sd", "weight_sd_n_minus_1"), ("kish_ess", "kish_ess"), ("kish_deff", "kish_deff")]:
        assert diag[ours] == pytest.approx(r01[(TIGHT, theirs)], rel=1e-9), ours


# ----------------------------------------------------------------------------- churn rate


@pytest.mark.parametrize("analysis", [TIGHT, GREG])
def test_churn_rate_with_raking_linearization(raked, telco, r01, analysis):
    """Estimate, SE and confint() Wald CI: relative 1e-9."""
    res = weighted_mean(churn(telco), Design.from_rake(raked))
    assert res["estimate"] == pytest.approx(r01[(analysis, "churn_rate")], rel=1e-9)
    assert res["se"] == pytest.approx(r01[(analysis, "churn_rate_se")], rel=1e-9)
    assert res["ci_low"] == pytest.approx(r01[(analysis, "churn_rate_ci95_lower_confint")], rel=1e-9)
    assert res["ci_high"] == pytest.approx(r01[(analysis, "churn_rate_ci95_upper_confint")], rel=1e-9)
    assert res["n"] == 7043


def test_churn_rate_logit_interval(raked, telco, r01):
    """svyciprop(method="logit") CI: relative 1e-9 (R's own estimate differs by ~1e-12, glm tolerance)."""
    res = weighted_proportion(churn(telco), Design.from_rake(raked), ci="logit")
    assert res["ci_low"] == pytest.approx(r01[(TIGHT, "svyciprop_logit_ci95_lower")], rel=1e-9)
    assert res["ci_high"] == pytest.approx(r01[(TIGHT, "svyciprop_logit_ci95_upper")], rel=1e-9)
    assert res["estimate"] == pytest.approx(r01[(TIGHT, "svyciprop_logit_estimate")], rel=1e-9)
    wald = weighted_proportion(churn(telco), Design.from_rake(raked), ci="wald")
    assert wald["ci_low"] == pytest.approx(r01[(TIGHT, "churn_rate_ci95_lower_confint")], rel=1e-9)


def test_churn_rate_with_fixed_weights(fixed, telco, r01):
    """Fixed-weight SE (about 2.8% larger than the raked one) and both CIs: relative 1e-9."""
    res = weighted_mean(churn(telco), fixed)
    assert res["estimate"] == pytest.approx(r01[(FIXED, "churn_rate")], rel=1e-9)
    assert res["se"] == pytest.approx(r01[(FIXED, "churn_rate_se")], rel=1e-9)
    assert res["ci_low"] == pytest.approx(r01[(FIXED, "churn_rate_ci95_lower_confint")], rel=1e-9)
    assert res["ci_high"] == pytest.approx(r01[(FIXED, "churn_rate_ci95_upper_confint")], rel=1e-9)
    logit = weighted_proportion(churn(telco), fixed)
    assert logit["ci_low"] == pytest.approx(r01[(FIXED, "svyciprop_logit_ci95_lower")], rel=1e-9)
    assert logit["ci_high"] == pytest.approx(r01[(FIXED, "svyciprop_logit_ci95_upper")], rel=1e-9)


# ----------------------------------------------------------------------------- payment method


@pytest.mark.parametrize("variant", ["raked", "fixed"])
def test_payment_method_distribution(variant, raked, fixed, telco, r01):
    """svymean(~PaymentMethod): proportions and SEs, relative 1e-9."""
    design, analysis = (Design.from_rake(raked), TIGHT) if variant == "raked" else (fixed, FIXED)
    table = weighted_proportions(telco["PaymentMethod"], design)
    assert len(table) == 4
    for row in table.itertuples():
        assert row.proportion == pytest.approx(r01[(analysis, f"PaymentMethod_prop={row.level}")], rel=1e-9)
        assert row.se == pytest.approx(r01[(analysis, f"PaymentMethod_se={row.level}")], rel=1e-9)


# ----------------------------------------------------------------------------- Rao-Scott


@pytest.mark.parametrize("variant", ["raked", "fixed"])
def test_rao_scott_second_order(variant, raked, fixed, telco, r01):
    """svychisq(statistic="F"): F, ndf, ddf, p relative 1e-6; X2 and tr(Delta) relative 1e-9."""
    design, analysis = (Design.from_rake(raked), TIGHT) if variant == "raked" else (fixed, FIXED)
    res = rao_scott_chisq(telco["PaymentMethod"], telco["Contract"], design)
    assert res["f_statistic"] == pytest.approx(r01[(analysis, "svychisq_F_statistic")], rel=1e-6)
    assert res["ndf"] == pytest.approx(r01[(analysis, "svychisq_F_ndf")], rel=1e-6)
    assert res["ddf"] == pytest.approx(r01[(analysis, "svychisq_F_ddf")], rel=1e-6)
    assert res["p_value"] == pytest.approx(r01[(analysis, "svychisq_F_p_value")], rel=1e-6)
    if variant == "raked":
        x2 = r01[(TIGHT, "svychisq_pearson_X2_weighted_table_scaled_to_n")]
        assert res["pearson_x2"] == pytest.approx(x2, rel=1e-9)
        assert res["trace_delta"] == pytest.approx(r01[(TIGHT, "svychisq_F_trace_Delta")], rel=1e-9)
        assert res["first_order_x2"] == pytest.approx(r01[(TIGHT, "svychisq_Chisq_first_order_adjusted_X2")], rel=1e-9)
        assert res["first_order_p_value"] == pytest.approx(r01[(TIGHT, "svychisq_Chisq_p_value")], rel=1e-6)


def test_unweighted_chisq_and_cramers_v(telco, r01):
    """chisq.test without continuity correction and Cramér's V: relative 1e-9."""
    res = rao_scott_chisq(telco["PaymentMethod"], telco["Contract"])
    assert res["unweighted_chisq"] == pytest.approx(r01[("unweighted", "chisq_statistic")], rel=1e-9)
    assert res["unweighted_df"] == r01[("unweighted", "chisq_df")]
    assert res["unweighted_p_value"] == pytest.approx(r01[("unweighted", "chisq_p_value")], rel=1e-9)
    assert res["cramers_v"] == pytest.approx(r01[("unweighted", "cramers_v")], rel=1e-9)
    assert res["n"] == r01[("unweighted", "n")]


# ----------------------------------------------------------------------------- alpha

ECSI_BLOCKS = {"IMAG": 5, "CUEX": 3, "PERQ": 7, "PERV": 2, "CUSA": 3, "CUSL": 3}
BANK_BLOCKS = {"imag": 5, "expe": 5, "qual": 5, "val": 4, "sat": 4, "loy": 4}
ALPHA_CASES = [("ecsi_mobi", "03_ecsi_mobi", "ecsi_mobi/mobi.csv", b, k, b) for b, k in ECSI_BLOCKS.items()] + [
    ("bank_satisfaction", "04_bank_satisfaction", "bank_satisfaction/satisfaction.csv", b, k, b.upper())
    for b, k in BANK_BLOCKS.items()
]


@pytest.mark.parametrize(("dataset", "folder", "csv", "prefix", "k", "block"), ALPHA_CASES,
                         ids=[f"{c[0]}-{c[5]}" for c in ALPHA_CASES])
def test_cronbach_alpha_matches_psych(dataset, folder, csv, prefix, k, block):
    """psych::alpha raw_alpha, std.alpha, average_r and G6(smc): absolute 1e-9."""
    data = pd.read_csv(shared_dir() / "data" / csv)
    ref = reference(folder)
    res = cronbach_alpha(data[[f"{prefix}{i}" for i in range(1, k + 1)]])
    analysis = f"alpha_{block}"
    assert res["n_items"] == ref[(dataset, analysis, "n_items")]
    assert res["raw_alpha"] == pytest.approx(ref[(dataset, analysis, "raw_alpha")], abs=1e-9)
    assert res["std_alpha"] == pytest.approx(ref[(dataset, analysis, "std_alpha")], abs=1e-9)
    assert res["average_r"] == pytest.approx(ref[(dataset, analysis, "average_r")], abs=1e-9)
    assert res["g6_smc"] == pytest.approx(ref[(dataset, analysis, "G6(smc)")], abs=1e-9)


# ----------------------------------------------------------------------------- SAT-LOY


@pytest.mark.parametrize(
    ("dataset", "csv", "sat", "loy"),
    [
        ("ecsi_mobi", "ecsi_mobi/mobi.csv", ["CUSA1", "CUSA2", "CUSA3"], ["CUSL1", "CUSL2", "CUSL3"]),
        ("bank_satisfaction", "bank_satisfaction/satisfaction.csv",
         ["sat1", "sat2", "sat3", "sat4"], ["loy1", "loy2", "loy3", "loy4"]),
    ],
)
def test_sat_loy_correlations(dataset, csv, sat, loy):
    """cor.test Pearson (r, t, p, Fisher-z CI) and Spearman (rho, p): relative 1e-9."""
    data = pd.read_csv(shared_dir() / "data" / csv)
    ref = {q: v for (d, _, q), v in reference("05_sat_loy_correlations").items() if d == dataset}
    sat_score, loy_score = data[sat].mean(axis=1), data[loy].mean(axis=1)
    pearson = correlation_with_ci(sat_score, loy_score, method="pearson")
    assert pearson["n"] == ref["n"]
    assert pearson["estimate"] == pytest.approx(ref["pearson_r"], rel=1e-9)
    assert pearson["statistic"] == pytest.approx(ref["pearson_t"], rel=1e-9)
    assert pearson["df"] == ref["pearson_df"]
    assert pearson["p_value"] == pytest.approx(ref["pearson_p_value"], rel=1e-9)
    assert pearson["ci_low"] == pytest.approx(ref["pearson_ci95_lower_fisher_z"], rel=1e-9)
    assert pearson["ci_high"] == pytest.approx(ref["pearson_ci95_upper_fisher_z"], rel=1e-9)
    spearman = correlation_with_ci(sat_score, loy_score, method="spearman")
    assert spearman["estimate"] == pytest.approx(ref["spearman_rho"], rel=1e-9)
    assert spearman["p_value"] == pytest.approx(ref["spearman_p_value"], rel=1e-9)
