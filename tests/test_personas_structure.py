"""Planted-truth tests that can fail (issue 10 item 6) and the degrade paths (issue 9 item 7).

- Recovery of the four planted personas with `max_personas` ABOVE the planted k (the cap cannot
  hide an estimator that over-splits).
- A survey simulated with one persona: the summary-facing key `personas.structure` is not "clear".
- Bootstrap stability from independent starts is low where there is no structure (started from
  the full-sample partition it would look stable).
- A deliberately broken estimator (features shuffled across respondents) fails the recovery check
  the real estimator passes.
- Real-data traps: tiny n, no variance, unreadable answers, `1.0`-style codes: the study says what
  it could not estimate and why; nothing raises.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from engagement.codebook import Codebook, load_codebook
from engagement.config import DEFAULT_CODEBOOK, DEFAULT_SEED, DEFAULT_SURVEY, DEFAULT_TRUTH
from engagement.degrade import NotEstimated
from engagement.prepare import analysis_data, design_for
from engagement.results import to_jsonable
from engagement.simulate import SimulationParams, write_survey
from engagement.studies import personas as P
from engagement.studies.personas import sections
from engagement.studies.personas.lca import fit_lca_starts, lca_input
from engagement.studies.personas.selection import bootstrap_stability, matched_agreement
from engagement.survey_stats import Design


def _load(data_path, codebook_path, out):
    cb = load_codebook(codebook_path)
    df = analysis_data(data_path, codebook_path, out)
    return df, cb, design_for(df, cb)


def recovers(truth: pd.Series, labels: np.ndarray) -> bool:
    """The recovery check: ARI ≥ 0.8 against the planted personas, and every planted persona is the
    majority of exactly one recovered persona."""
    if adjusted_rand_score(truth, labels) < 0.8:
        return False
    majority = pd.crosstab(labels, truth.to_numpy()).idxmax(axis=1)
    return sorted(majority) == sorted(truth.unique())


@pytest.fixture(scope="module")
def default_data(tmp_path_factory):
    df, cb, design = _load(DEFAULT_SURVEY, DEFAULT_CODEBOOK, tmp_path_factory.mktemp("personas_structure"))
    truth = pd.read_csv(DEFAULT_TRUTH).set_index("resp_id").loc[df["resp_id"], "persona_name"]
    return df, cb, design, truth


@pytest.fixture(scope="module")
def one_persona(tmp_path_factory):
    """A 2,000-respondent survey simulated with a single persona: no structure to find."""
    tmp = tmp_path_factory.mktemp("one_persona")
    paths = write_survey(tmp / "data", SimulationParams(n=2000, n_personas=1, seed=DEFAULT_SEED))
    return _load(paths["survey"], paths["codebook"], tmp / "run")


# ----------------------------------------------------------------------- planted truth, cap above k


def test_four_planted_personas_are_recovered_with_the_cap_above_four(default_data):
    df, cb, design, truth = default_data
    fit = P.fit_personas(df, cb, design, max_personas=6, fit_up_to=6, seed=DEFAULT_SEED)
    assert fit.k == 4, fit.table[["k", "bic", "min_share", "relative_entropy", "stability", "verdict"]].to_string()
    assert recovers(truth, fit.labels)
    assert not fit.cap_binds
    # every k was fitted from 20 independent starts, and the chosen optimum was found more than once
    row = fit.table.set_index("k").loc[4]
    assert row["n_starts"] == 20 and row["best_loglik_share"] * 20 >= 2
    stab = P.stability(fit)
    assert len(stab) == 4 and (stab["agreement"] > 0.8).all()
    structure = P.assess_structure(fit, P.build_typing_tool(fit, seed=DEFAULT_SEED))
    assert structure.verdict == "clear", structure.sentence


def test_a_broken_estimator_fails_the_recovery_check(default_data):
    """Shuffle every feature across respondents (the structure is destroyed, the margins kept): the
    check that the real estimator passes must fail. A check that passed both would prove nothing."""
    df, cb, design, truth = default_data
    w = np.asarray(design.weights, float)
    enc = P.FeatureEncoder.fit(df, cb, w)
    codes = enc.codes(df)
    good = fit_lca_starts(lca_input(codes, enc, w), 4, w, n_starts=5, seed=DEFAULT_SEED)
    assert recovers(truth, good.labels)
    rng = np.random.default_rng(0)
    shuffled = codes.apply(lambda col: col.to_numpy()[rng.permutation(len(col))])
    broken = fit_lca_starts(lca_input(shuffled, enc, w), 4, w, n_starts=5, seed=DEFAULT_SEED)
    assert not recovers(truth, broken.labels)


# ---------------------------------------------------------------------------- no structure


def test_one_persona_survey_has_no_clear_structure(one_persona):
    df, cb, design = one_persona
    fit = P.fit_personas(df, cb, design, fit_up_to=4, n_init=5, seed=DEFAULT_SEED)
    typing = P.build_typing_tool(fit, seed=DEFAULT_SEED)
    structure = P.assess_structure(fit, typing)
    res = json.loads(json.dumps(to_jsonable(P.collect(fit, P.describe(fit), typing, structure))))
    assert res["structure"] in ("none", "weak")
    assert res["structure_sentence"].startswith("No clear persona structure")
    assert {"relative_entropy", "stability_ari", "kmeans_ari", "typing_accuracy_by_persona"} <= set(res["structure_evidence"])
    assert "No clear persona structure" in sections.structure(structure).text


def test_stability_from_independent_starts_is_low_without_structure(one_persona):
    """Refits started from the full-sample partition reproduce it whatever the data; from
    independent starts a three-class split of one homogeneous group does not come back."""
    df, cb, design = one_persona
    w = np.asarray(design.weights, float)
    enc = P.FeatureEncoder.fit(df, cb, w)
    data = lca_input(enc.codes(df), enc, w)
    full = fit_lca_starts(data, 3, w, n_starts=3, seed=1)
    boot = bootstrap_stability(data, full, w, reps=4, seed=1, starts=2)
    # measured: independent starts 0.11; the old refits from the full-sample partition 0.62
    assert boot.mean < 0.3, boot.aris


def test_matched_agreement_is_label_free():
    ref = np.repeat([0, 1, 2], 50)
    perm = np.array([2, 0, 1])[ref]
    assert np.allclose(matched_agreement(ref, perm, 3), 1.0)
    noisy = perm.copy()
    noisy[:10] = 1  # ten of class 0's fifty moved
    assert np.allclose(matched_agreement(ref, noisy, 3), [0.8, 1.0, 1.0])


# ----------------------------------------------------------------------------------- the cap


def test_the_cap_binding_is_said_in_words():
    from engagement.studies.personas.fit import _beyond_cap

    fitted = pd.DataFrame({"k": range(1, 7), "bic": [100, 90, 80, 70, 60, 65], "min_share": [1, .3, .2, .1, .08, .06],
                           "relative_entropy": [1, .9, .9, .9, .9, .9]})
    table = fitted[fitted["k"] <= 4].assign(verdict="", chosen=lambda t: t["k"] == 4, admissible=True)
    table, binds, best = _beyond_cap(table, fitted, 4, 4, 0.05, 0.6)
    assert binds and best == 5 and len(table) == 6 and not table.loc[table["k"] > 4, "chosen"].any()
    # larger solutions that fail the size rule: the data, not the cap, limit k
    small = fitted.assign(min_share=[1, .3, .2, .1, .01, .01])
    assert not _beyond_cap(table.iloc[:4], small, 4, 4, 0.05, 0.6)[1]


# ------------------------------------------------------------------------ degrade, don't die


def _cb(**features) -> Codebook:
    return Codebook.model_validate({"id": "id", "persona_features": features})


def _frame(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"id": range(n), "a": rng.integers(0, 2, n), "b": rng.integers(1, 6, n),
                         "c": rng.normal(size=n)})


def _run(df: pd.DataFrame, cb: Codebook):
    """Every persona verb on `df`, as the notebook calls them; returns the fit and results section."""
    fit = P.fit_personas(df, cb, Design.unweighted(len(df)), n_init=2, bootstrap_reps=2, max_personas=3, fit_up_to=3)
    typing = P.build_typing_tool(fit)
    structure = P.assess_structure(fit, typing)
    for view in (sections.choice(fit), sections.sizes(fit, P.describe(fit)), sections.typing_tool(typing, fit)):
        assert view.text or view.skipped or view.tables
    return fit, json.loads(json.dumps(to_jsonable(P.collect(fit, P.describe(fit), typing, structure))))


@pytest.mark.parametrize("n", [2, 12])
def test_too_few_respondents_is_not_estimated_with_the_reason(n):
    fit, res = _run(_frame(n), _cb(binary=["a"], ordinal=["b"], continuous=["c"]))
    assert isinstance(fit.not_estimated, NotEstimated) and fit.not_estimated.section == "personas"
    assert f"only {n} respondent" in fit.not_estimated.reason
    assert res["skipped"] and "only" in res["reason"]


def test_a_feature_without_variance_is_left_out_with_a_note():
    fit, _ = _run(_frame(200).assign(a=1), _cb(binary=["a"], ordinal=["b"], continuous=["c"]))
    assert not fit.skipped and "a" not in fit.enc.features
    assert any("same answer" in n for n in fit.notes)
    fit, res = _run(_frame(200).assign(a=1, b=3, c=0.5), _cb(binary=["a"], ordinal=["b"], continuous=["c"]))
    assert isinstance(fit.not_estimated, NotEstimated) and "no persona feature varies" in fit.not_estimated.reason


def test_more_personas_than_the_respondents_support_are_not_fitted():
    fit, _ = _run(_frame(25), _cb(binary=["a"], ordinal=["b"], continuous=["c"]))
    assert fit.table["k"].max() == 2  # 10 respondents per persona at least
    assert any("at most 2 personas were fitted" in n for n in fit.notes)


def test_unreadable_answers_are_not_estimated_and_one_point_zero_codes_are_read():
    df = _frame(200)
    fit, _ = _run(df.assign(a=df["b"]), _cb(binary=["a"], ordinal=["b"]))
    assert isinstance(fit.not_estimated, NotEstimated) and "declared binary" in fit.not_estimated.reason and "np.float64" not in fit.skipped
    text = df.assign(a=df["a"].map({0: "0.0", 1: "1.0"}), b=df["b"].astype(float).astype(str))
    fit_text, _ = _run(text, _cb(binary=["a"], ordinal=["b"], continuous=["c"]))
    fit_num, _ = _run(df, _cb(binary=["a"], ordinal=["b"], continuous=["c"]))
    assert not fit_text.skipped and fit_text.enc.levels["b"] == ["1", "2", "3", "4", "5"]
    assert np.array_equal(fit_text.codes.to_numpy(), fit_num.codes.to_numpy(), equal_nan=True)


# ------------------------------------------------------------------------ multi-seed (slow)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_recovery_and_no_structure_over_seeds(tmp_path, seed):
    """Over seeds: four planted personas recovered with the cap at six; one planted persona never
    reported as a clear structure."""
    paths = write_survey(tmp_path / "four", SimulationParams(n=3000, seed=seed))
    df, cb, design = _load(paths["survey"], paths["codebook"], tmp_path / "run4")
    fit = P.fit_personas(df, cb, design, max_personas=6, fit_up_to=6, seed=seed)
    truth = pd.read_csv(paths["truth"]).set_index("resp_id").loc[df["resp_id"], "persona_name"]
    four = {"k": fit.k, "ari": adjusted_rand_score(truth, fit.labels), "recovers": recovers(truth, fit.labels)}
    paths = write_survey(tmp_path / "one", SimulationParams(n=3000, n_personas=1, seed=seed))
    df, cb, design = _load(paths["survey"], paths["codebook"], tmp_path / "run1")
    fit1 = P.fit_personas(df, cb, design, seed=seed)
    structure = P.assess_structure(fit1, P.build_typing_tool(fit1, seed=seed)).verdict
    print(f"seed {seed}: four planted -> k {four['k']}, ARI {four['ari']:.3f}, recovered {four['recovers']}; "
          f"one planted -> k {fit1.k}, structure {structure!r}")  # the record docs/validation.md quotes (-s)
    assert four["k"] == 4 and four["recovers"]
    assert structure != "clear"
