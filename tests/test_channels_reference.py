"""The channel study's crosstab against R (../shared/reference/out/01_telco_raking).

Telco PaymentMethod × Contract, raked to gender .5/.5, SeniorCitizen 0 .8 / 1 .2, Partner .5/.5
(R: survey::rake, converged); `engagement.crosstabs.crosstab` must reproduce
svychisq(~PaymentMethod + Contract, design, statistic = "F") and the unweighted chisq.test and
Cramér's V. Our raking iterates to convergence, so it is compared with `rake_tight_convergence`
(README point 1). Data: IBM Telco customer churn sample (see ../shared/data/telco_churn/SOURCE.txt).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engagement.crosstabs import crosstab
from engagement.survey_stats import Design
from engagement.weighting import rake_weights
from tests.shared import shared_dir

pytestmark = pytest.mark.reference

MARGINS = {"gender": {"Female": 0.5, "Male": 0.5}, "SeniorCitizen": {0: 0.8, 1: 0.2},
           "Partner": {"Yes": 0.5, "No": 0.5}}
RTOL = 1e-6


@pytest.fixture(scope="module")
def reference() -> dict[tuple[str, str], float]:
    ref = pd.read_csv(shared_dir() / "reference" / "out" / "01_telco_raking" / "results.csv")
    return {(a, q): float(v) for a, q, v in zip(ref["analysis"], ref["quantity"], ref["value"])}


@pytest.fixture(scope="module")
def table():
    telco = pd.read_csv(shared_dir() / "data" / "telco_churn" / "Telco-Customer-Churn.csv")
    design = Design.from_rake(rake_weights(telco, MARGINS))
    return crosstab(telco, "PaymentMethod", "Contract", design)


def test_rao_scott_f_matches_svychisq(table, reference):
    ref = {q: reference[("rake_tight_convergence", f"svychisq_F_{q}")] for q in ("statistic", "ndf", "ddf", "p_value")}
    t = table.test
    assert t["f_statistic"] == pytest.approx(ref["statistic"], rel=RTOL)
    assert t["ndf"] == pytest.approx(ref["ndf"], rel=RTOL)
    assert t["ddf"] == pytest.approx(ref["ddf"], rel=RTOL)
    assert t["p_value"] == pytest.approx(ref["p_value"], rel=RTOL)
    assert t["pearson_x2"] == pytest.approx(
        reference[("rake_tight_convergence", "svychisq_pearson_X2_weighted_table_scaled_to_n")], rel=RTOL)


def test_unweighted_chisq_and_cramers_v_match_r(table, reference):
    t = table.test
    assert t["unweighted_chisq"] == pytest.approx(reference[("unweighted", "chisq_statistic")], rel=RTOL)
    assert t["unweighted_df"] == reference[("unweighted", "chisq_df")]
    assert t["unweighted_p_value"] == pytest.approx(reference[("unweighted", "chisq_p_value")], rel=RTOL)
    assert t["cramers_v"] == pytest.approx(reference[("unweighted", "cramers_v")], rel=RTOL)
    assert t["n"] == reference[("unweighted", "n")]


def test_column_shares_match_weighted_cells(table, reference):
    """The banner's column % are the weighted joint cell proportions over the column totals."""
    joint = {q.split("=", 1)[1]: v for (a, q), v in reference.items()
             if a == "rake_tight_convergence" and q.startswith("weighted_cell_prop=")}
    col_total: dict[str, float] = {}
    for key, v in joint.items():
        col_total[key.split("|")[1]] = col_total.get(key.split("|")[1], 0.0) + v
    cells = table.cells
    assert len(cells) == len(joint) == 12
    for r in cells.itertuples():
        assert r.proportion == pytest.approx(joint[f"{r.row}|{r.column}"] / col_total[r.column], rel=RTOL)
    # letters: Electronic check is far more common on month-to-month contracts than on two-year ones
    cell = cells[(cells["row"] == "Electronic check") & (cells["column"] == "Month-to-month")].iloc[0]
    two_year = cells[cells["column"] == "Two year"]["letter"].iloc[0]
    assert two_year in cell["higher_than"]
    assert np.isfinite(table.test["weighted_cramers_v"])
