"""Issue 11: above `max_fit_n` the persona models are fitted on a seeded random subsample and
everyone is classified by the chosen model. At a size where both run, the subsample's solution must
agree with the full-data fit: the same number of personas, nearly the same grouping of every
respondent, and the same weighted persona sizes."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from engagement.codebook import Codebook
from engagement.simulate import SimulationParams, default_codebook, simulate_survey
from engagement.studies import personas as P
from engagement.survey_stats import Design

SETTINGS = dict(max_personas=4, fit_up_to=4, n_init=4, bootstrap_reps=0, seed=7)


@pytest.fixture(scope="module")
def fits():
    df, truth, _ = simulate_survey(SimulationParams(n=12_000, seed=11))
    clean = truth[["speeder", "straightliner", "attention_fail", "duplicate"]].sum(axis=1).eq(0).to_numpy()
    df, planted = df[clean].reset_index(drop=True), truth.loc[clean, "persona"].to_numpy()
    # unequal weights (planted persona 1 counts double), so that sizes are weighted sizes
    design = Design(np.where(planted == 1, 2.0, 1.0))
    cb = Codebook.model_validate(default_codebook())
    full = P.fit_personas(df, cb, design, max_fit_n=None, **SETTINGS)
    sub = P.fit_personas(df, cb, design, max_fit_n=3_000, **SETTINGS)
    return full, sub


def test_subsample_fit_agrees_with_the_full_fit(fits):
    full, sub = fits
    assert any("subsample of 3,000" in n for n in sub.notes) and not any("subsample" in n for n in full.notes)
    assert sub.k == full.k == 4
    assert len(sub.labels) == len(full.labels)  # everyone classified, not only the subsample
    assert adjusted_rand_score(full.labels, sub.labels) >= 0.9
    shares = lambda fit: fit.sizes.set_index("name")["estimate"]  # noqa: E731 (weighted share of each persona)
    diff = (shares(full) - shares(sub)).abs()
    assert diff.notna().all() and diff.max() < 0.03, diff  # same names (profiles) and sizes within 3 points


def test_subsample_is_seeded_and_reported(fits):
    _, sub = fits
    again = P.fit_personas(sub.df, sub.cb, sub.design, max_fit_n=3_000, **SETTINGS)
    assert np.array_equal(again.labels, sub.labels)
    assert sub.params["max_fit_n"] == 3_000
