"""Issue 11 item 5: above `max_fit_n` respondents the loyalty study fits and resamples on a seeded,
stratified, weighted sample (`loyalty.sample`). At 60,000 simulated respondents (54,900 after
screening, raked weights) with the sample at 20,000 — a size where both run — every full-data value
of the C13 table, of the cross-validated metrics and of the dominance analysis lies inside the
sample's 95% interval; the sample keeps every stratum's weighted total; and the alternatives that
should fail do (a sample that drops the weights, an unstratified one, the sample ignored)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from engagement.prepare import design_for
from engagement.survey_design import Design
from engagement.studies import loyalty
from engagement.studies.loyalty.sample import MAX_FIT_N, draw, fitting_data, stratum_codes

from .shared import clean_simulated_survey

N_BOOT = 100
VALUES = {"ces": ("ces_low", "ces_high"), "csat": ("csat_low", "csat_high"), "ratio": ("ratio_low", "ratio_high")}


@pytest.fixture(scope="module")
def studies():
    df, cb = clean_simulated_survey(60_000, 11)
    design = design_for(df, cb)  # raked weights: a sample that ignores them is biased
    full = loyalty.prepare(df, cb, design=design, seed=1, max_fit_n=None)
    sampled = loyalty.prepare(df, cb, design=design, seed=1, max_fit_n=MAX_FIT_N)
    return full, sampled


@pytest.fixture(scope="module")
def c13_full(studies):
    return loyalty.compare_c13(studies[0], n_boot=0).table  # point estimates on every respondent


def _z(full, sample) -> np.ndarray:
    """|full − sample| / SE of every CES, CSAT and ratio value, SE = the 95% interval's width / 3.92."""
    out = []
    for value, (lo, hi) in VALUES.items():
        out.append(((full[value] - sample[value]) / ((sample[hi] - sample[lo]) / 3.92)).to_numpy(float))
    return np.abs(np.concatenate(out))


def _agrees(full, sample) -> bool:
    """No value more than 3 SEs from the full-data one, and no more than 5% of them beyond 1.96 SEs
    (what a calibrated 95% interval allows)."""
    z = _z(full, sample)
    return bool(np.all(z <= 3) and np.mean(z > 1.96) <= 0.05)


def test_the_sample_is_used_and_recorded(studies):
    full, sampled = studies
    assert fitting_data(full) is full
    fit = fitting_data(sampled)
    assert fit.fit_sample is not None and abs(fit.fit_sample.n - MAX_FIT_N) < 0.01 * MAX_FIT_N
    assert len(fit.df) == fit.fit_sample.n and fit.design.n == fit.fit_sample.n
    c13 = loyalty.compare_c13(sampled, n_boot=2)
    assert c13.table["n"].max() <= fit.fit_sample.n  # the C13 table ran on the sample
    assert c13.ratio["method"].startswith(f"stratified sample of {fit.fit_sample.n:,}")
    section = loyalty.results_section(sampled, c13=c13)
    assert section["fit_sample"]["n"] == fit.fit_sample.n and "strata" in section["fit_sample"]
    assert "stratified sample" in loyalty.sections.inputs_notes(sampled)
    assert "fit_sample" not in loyalty.results_section(full, c13=loyalty.compare_c13(full, n_boot=2))


def test_every_stratum_keeps_its_weighted_total(studies):
    """Stratified with the inverse sampling fraction: the sample's weight in each stratum (primary
    outcome × CES × CSAT cell) is the full table's. A simple random sample, or the sample without its
    weights, does not."""
    full, sampled = studies
    fit = fitting_data(sampled)
    strata = _strata(full)
    totals = np.bincount(strata, full.weights)
    got = np.bincount(strata[fit.fit_sample.rows], fit.weights, minlength=len(totals))
    assert np.allclose(got, totals, rtol=1e-9)
    unweighted = np.bincount(strata[fit.fit_sample.rows], full.weights[fit.fit_sample.rows], minlength=len(totals))
    assert not np.allclose(unweighted * totals.sum() / unweighted.sum(), totals, rtol=1e-3)
    srs = np.sort(np.random.default_rng(0).choice(len(strata), fit.fit_sample.n, replace=False))
    simple = np.bincount(strata[srs], full.weights[srs] * len(strata) / len(srs), minlength=len(totals))
    assert not np.allclose(simple, totals, rtol=1e-3)


def _strata(data):
    from engagement.studies.loyalty.inputs import scale_levels

    cols = [data.primary.values(data.df).to_numpy(float)]
    cols += [scale_levels(data.scores[p.name], p.scale).to_numpy(float) for p in data.comparison_predictors()]
    return stratum_codes(cols)


def test_draw_allocates_proportionally_with_one_per_stratum():
    strata = np.repeat([0, 1, 2], [9_000, 990, 10])
    rows, expansion = draw(strata, 1_000, seed=3)
    assert np.bincount(strata[rows]).tolist() == [900, 99, 1]
    assert np.allclose(np.bincount(strata[rows], expansion), [9_000, 990, 10])
    w = np.random.default_rng(4).uniform(0.5, 2, len(strata))
    rows, expansion = draw(strata, 1_000, seed=3, weights=w)
    assert np.allclose(np.bincount(strata[rows], w[rows] * expansion), np.bincount(strata, w))
    assert np.array_equal(rows, draw(strata, 1_000, seed=3)[0])  # seeded


def test_c13_sample_estimates_agree_with_the_full_data(studies, c13_full):
    """The 90 CES, CSAT and ratio values of the full-data C13 table (3 outcomes × 2 codings × the
    statistics) against the sample's estimates and 95% paired-bootstrap intervals (measured: largest
    gap 1.95 SE, none beyond 1.96 SE). The primary ratio is the full table's exactly: its cells are
    the strata and each keeps its weighted total. The sample without its weights fails both (8 of 90
    values beyond 1.96 SE, the primary ratio 1.209 against 1.211)."""
    full, sampled = studies
    sample = loyalty.compare_c13(sampled, n_boot=N_BOOT).table
    assert list(sample["statistic"]) == list(c13_full["statistic"])
    assert _agrees(c13_full, sample)
    primary = lambda t: float(t.loc[t["primary"], "ratio"].iloc[0])  # noqa: E731
    assert primary(sample) == pytest.approx(primary(c13_full), rel=1e-9)
    fit = fitting_data(sampled)
    unweighted = dataclasses.replace(fit, design=Design(np.ones(fit.design.n)), _cache={})
    wrong = loyalty.compare_c13(unweighted, n_boot=N_BOOT).table
    assert not _agrees(c13_full, wrong)
    assert primary(wrong) != pytest.approx(primary(c13_full), rel=1e-4)


def test_cv_and_dominance_on_the_sample_agree_with_the_full_fit(studies):
    full, sampled = studies
    cf = loyalty.compare_predictors(full, n_splits=5, n_repeats=2).summary
    cs = loyalty.compare_predictors(sampled, n_splits=5, n_repeats=2).summary
    m = cf.merge(cs, on=["outcome", "model", "metric"], suffixes=("_full", "_sample"))
    assert len(m) == len(cf) > 0
    assert ((m["estimate_full"] >= m["ci_low_sample"]) & (m["estimate_full"] <= m["ci_high_sample"])).all()
    df_ = loyalty.scale_dominance(full, n_boot=0)
    ds = loyalty.scale_dominance(sampled, n_boot=N_BOOT)
    d = df_.merge(ds, on=["outcome", "predictor"], suffixes=("_full", "_sample"))
    assert len(d) == len(df_) > 0
    assert ((d["dominance_full"] >= d["ci_low_sample"]) & (d["dominance_full"] <= d["ci_high_sample"])).all()
