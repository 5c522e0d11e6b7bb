"""Out-of-core path (engagement.outofcore, DuckDB) against the in-memory path on 20,000 simulated
respondents: same screening counts, same raked weights, same headline estimates and SEs (1e-9), and a
model fitted on the documented stratified sample agrees with the full fit.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engagement import outofcore
from engagement.codebook import load_codebook
from engagement.prepare import design_for, prepare_survey
from engagement.results import WEIGHT
from engagement.simulate import SimulationParams, write_survey
from engagement.survey_stats import weighted_mean, weighted_proportion

TOL = 1e-9


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    # one file: the out-of-core path reads the survey export alone (extracts are joined in memory only)
    paths = write_survey(tmp_path_factory.mktemp("ooc"), SimulationParams(n=20_000, seed=5), single_file=True)
    cb = load_codebook(paths["codebook"])
    con = outofcore.connect(memory_limit="1GB")
    summary = outofcore.summarise_out_of_core(paths["survey"], cb, con=con)
    prepared = prepare_survey(paths["survey"], cb)
    return cb, con, summary, prepared


def test_screening_counts_equal_the_in_memory_screen(both):
    _, _, summary, prepared = both
    pd.testing.assert_frame_equal(summary.screening.reset_index(drop=True),
                                  prepared.screening.table.reset_index(drop=True), check_dtype=False)


def test_weights_equal_the_in_memory_raking(both):
    cb, con, summary, prepared = both
    ooc = con.execute(f"SELECT {outofcore._q(cb.id_column)}, _weight FROM survey_weighted ORDER BY _rownum").df()
    assert summary.raking.converged
    np.testing.assert_array_equal(ooc[cb.id_column].to_numpy(), prepared.data[cb.id_column].to_numpy())
    np.testing.assert_allclose(ooc["_weight"].to_numpy(), prepared.data[WEIGHT].to_numpy(), rtol=0, atol=TOL)


def test_headline_metrics_equal_survey_stats(both):
    cb, _, summary, prepared = both
    design = design_for(prepared.data, cb)
    metrics = summary.metrics.set_index("metric")
    checked = 0
    for name, sc in cb.scales.items():
        values = prepared.data[sc.columns].mean(axis=1, skipna=False)
        expected = weighted_mean(values, design)
        got = metrics.loc[f"{name}_mean"]
        for key in ("estimate", "se", "ci_low", "ci_high"):
            assert got[key] == pytest.approx(expected[key], rel=TOL)
        if sc.column:
            v = prepared.data[sc.column].astype(float)
            expected = weighted_proportion(v.isin(sc.top_box_values).where(v.notna()), design)
            got = metrics.loc[f"{name}_top_box"]
            for key in ("estimate", "se", "ci_low", "ci_high"):
                assert got[key] == pytest.approx(expected[key], rel=TOL)
            assert got["n"] == expected["n"]
        checked += 1
    assert checked >= 3


def test_stratified_sample_keeps_the_margins(both):
    cb, con, summary, _ = both
    sample = outofcore.stratified_sample(con, 0.3, columns=list(cb.margins))
    assert len(sample) == pytest.approx(0.3 * summary.raking.n, rel=0.01)
    for var, shares in cb.margins.items():
        got = sample.groupby(var)["_weight"].sum() / sample["_weight"].sum()
        for level, share in shares.items():
            assert got.loc[level] == pytest.approx(share, abs=1e-12)


def test_model_on_the_stratified_sample_agrees_with_the_full_fit(both):
    """Sample estimates differ from the full-data fit by sampling noise only: |diff| within
    4 sqrt(1/f - 1) full-fit SEs (the variance of a without-replacement subsample estimate about the
    full-sample one), for every coefficient, at f = 0.5."""
    _, con, _, _ = both
    predictors = ["ces", "csat"]
    full = con.execute("SELECT retained_12m, ces, csat, _weight FROM survey_weighted").df()
    full_fit = outofcore.fit_weighted_logit(full, "retained_12m", predictors).set_index("term")
    fraction = 0.5
    sample_fit = outofcore.logit_on_sample(con, "retained_12m", predictors, fraction).set_index("term")
    bound = 4 * np.sqrt(1 / fraction - 1) * full_fit["se"]
    assert (np.abs(sample_fit["estimate"] - full_fit["estimate"]) <= bound).all()
    assert full_fit.loc["ces", "estimate"] > 0  # the planted effect is there in both
    assert sample_fit.loc["ces", "estimate"] > 0


def test_large_survey_is_written_in_chunks(tmp_path):
    paths = outofcore.write_large_survey(tmp_path, n=2_500, chunk=1_000)
    assert sorted(p.name for p in paths["survey"].iterdir()) == ["part-0000.parquet", "part-0001.parquet",
                                                                 "part-0002.parquet"]
    summary = outofcore.summarise_out_of_core(paths["survey"], load_codebook(paths["codebook"]), memory_limit="512MB")
    assert summary.screening["remaining"].iloc[0] >= 2_500 and summary.raking.converged  # + simulated duplicates
