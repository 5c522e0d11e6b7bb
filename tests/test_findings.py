"""Findings are written from recorded results: numbers in, the same numbers out; absent studies stay silent."""

from engagement.claims import CLAIMS
from engagement.studies.findings import claims_ledger, executive_summary


RESULTS = {
    "channels": {
        "multichannel_share": {"estimate": 0.8123, "ci_low": 0.8011, "ci_high": 0.8232, "n": 3210},
        "claims": [{"id": "C07", "estimate": 0.8123, "ci_low": 0.8011, "ci_high": 0.8232, "n": 3210, "verdict": "lower"}],
    },
    "data_quality": {"metrics": {"nps": {"estimate": 12.4, "ci_low": 9.1, "ci_high": 15.6, "n": 3210}}},
}


def test_summary_sentences_carry_the_recorded_numbers():
    summary = executive_summary(RESULTS)
    assert summary[0].startswith("**Customers are multichannel:** 81% (95% CI 80%–82%, n = 3,210)")
    assert any("+12 points (95% CI +9 to +16, n = 3,210)" in s for s in summary)
    assert not any("persona" in s.lower() or "CES vs CSAT" in s for s in summary)  # not recorded, not said


def test_ledger_lists_every_claim_and_marks_untestable_ones():
    ledger = claims_ledger(RESULTS).set_index("id")
    assert list(ledger.index) == [c.id for c in CLAIMS]
    assert ledger.loc["C07", "verdict"] == "lower" and ledger.loc["C07", "n"] == 3210
    assert ledger.loc["C10", "verdict"].startswith("untestable: a customer survey cannot")
    assert ledger.loc["C01", "verdict"] == "untestable: not measured by this survey's codebook"
