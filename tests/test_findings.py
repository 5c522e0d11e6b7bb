"""Findings are written from recorded results: numbers in, the same numbers out; absent studies stay
silent. The verdict rule: one vocabulary, declared margins, Bonferroni across the ledger."""

import math

import pytest

from engagement import claims
from engagement.claims import CLAIMS, FAMILY_SIZE, MARGINS, adjusted_interval, claim_entry, verdict
from engagement.studies.findings import claims_ledger, claims_not_tested, executive_summary, ledger_display


RESULTS = {
    "channels": {
        "multichannel_share": {"estimate": 0.8123, "ci_low": 0.8011, "ci_high": 0.8232, "n": 3210},
        "claims": [claim_entry("C07", 0.6312, 0.6211, 0.6413, 3210)],
    },
    "data_quality": {"metrics": {"nps": {"estimate": 12.4, "ci_low": 9.1, "ci_high": 15.6, "n": 3210}}},
}


def test_summary_sentences_carry_the_recorded_numbers():
    summary = executive_summary(RESULTS)
    assert summary[0] == "**Customers are multichannel:** 81% (95% CI 80%–82%, n = 3,210) used at least two channels."
    assert any("+12 points (95% CI +9 to +16, n = 3,210)" in s for s in summary)
    assert not any("persona" in s.lower() or "CES vs CSAT" in s for s in summary)  # not recorded, not said


def test_summary_takes_its_period_from_the_codebook_not_from_retail():
    assert executive_summary(RESULTS, period="in the last six months")[0].endswith(
        "used at least two channels in the last six months.")
    assert "six months" not in executive_summary(RESULTS, period="")[0]


def test_ledger_lists_only_tested_claims_and_names_the_others():
    ledger = claims_ledger(RESULTS).set_index("id")
    assert list(ledger.index) == ["C07"]
    assert ledger.loc["C07", "verdict"] == "lower" and ledger.loc["C07", "n"] == 3210
    note = claims_not_tested(RESULTS)
    assert "C01" in note and "codebook maps no item" in note
    assert "untestable on any customer survey" in note and "C10" in note
    shown = ledger_display(claims_ledger(RESULTS))
    assert shown.iloc[0]["our estimate (95% CI)"] == "63.1% (62.1%–64.1%)"
    assert shown.iloc[0]["margin"] == "± 5 points"


def test_summary_and_ledger_use_the_same_word_for_c13():
    c13 = claim_entry("C13", 1.20, 1.12, 1.29, 4546)
    results = {"loyalty": {"ratio": {"estimate": 1.20, "ci_low": 1.12, "ci_high": 1.29, "n": 4546,
                                     "statistic": "Gini ratio"},
                           "verdict": {"text": "contradicted (old words)"}, "claims": [c13]}}
    line = next(s for s in executive_summary(results) if s.startswith("**CES vs CSAT"))
    assert c13["verdict"] in line and "contradicted" not in line
    assert claims_ledger(results).set_index("id").loc["C13", "verdict"] == c13["verdict"]


# ------------------------------------------------------------------------------ the verdict rule


def test_c04a_at_the_published_figure_within_its_margin_is_consistent():
    # issue 10: 45.7% (44.1–47.4) against a claimed 44% read "higher" under the old rule
    assert claim_entry("C04a", 0.457, 0.441, 0.474, 4546)["verdict"] == "consistent"
    assert claim_entry("C09c", 0.204, 0.190, 0.219, 4546)["verdict"] == "consistent"


@pytest.mark.parametrize("low, high, expected", [
    (0.42, 0.47, "consistent"),    # inside 44 ± 5
    (0.50, 0.55, "higher"),        # entirely above 49
    (0.30, 0.38, "lower"),         # entirely below 39
    (0.46, 0.52, "inconclusive"),  # straddles the upper margin bound
    (0.35, 0.55, "inconclusive"),  # wider than the margin
])
def test_share_verdicts(low, high, expected):
    assert verdict(0.44, low, high, "share") == expected


@pytest.mark.parametrize("low, high, expected", [
    (1.30, 1.50, "consistent"),    # inside 1.40 ×/÷ 1.10 = 1.273–1.54
    (1.01, 1.20, "lower"),
    (1.60, 1.90, "higher"),
    (1.12, 1.29, "inconclusive"),
    (1.01, 1.41, "inconclusive"),  # issue 10: this interval was "supported"
])
def test_ratio_verdicts_use_a_multiplicative_margin(low, high, expected):
    assert verdict(1.40, low, high, "ratio") == expected


def test_verdict_infers_a_ratio_from_a_claimed_figure_above_one():
    assert verdict(1.40, 1.30, 1.50) == "consistent" and verdict(0.44, 0.42, 0.47) == "consistent"


def test_verdict_without_an_interval_is_not_estimable():
    assert verdict(0.44, None, 0.5) == "not estimable" and verdict(0.44, float("nan"), 0.5) == "not estimable"


def test_ledger_is_one_bonferroni_family_with_declared_margins():
    assert FAMILY_SIZE == len([c for c in CLAIMS if c.claimed is not None and c.measured_by != "untestable"]) == 22
    assert MARGINS["share"].bounds(0.44) == pytest.approx((0.39, 0.49))
    assert MARGINS["ratio"].bounds(1.4) == pytest.approx((1.4 / 1.1, 1.54))
    # the adjusted interval is the 95% one stretched by z(1 − 0.025/22) / z(0.975) = 3.052 / 1.960
    # on the logit scale
    lo, hi = adjusted_interval(0.457, 0.441, 0.474, "share")
    logit = lambda p: math.log(p / (1 - p))  # noqa: E731
    assert (logit(hi) - logit(0.457)) / (logit(0.474) - logit(0.457)) == pytest.approx(3.0522 / 1.96, abs=1e-3)
    assert lo < 0.441 and hi > 0.474
    # ratios stretch on the log scale
    rlo, rhi = adjusted_interval(1.2, 1.12, 1.29, "ratio")
    assert math.log(rhi / 1.2) / math.log(1.29 / 1.2) == pytest.approx(3.0522 / 1.96, abs=1e-3)
    assert "22" in claims.verdict_rule() and "± 5 points" in claims.verdict_rule()
