"""The faster EM of the persona model is StepMix's arithmetic: the cached, vectorised emissions give
StepMix 3.0's log-likelihoods and M-step parameters, the E-step its log-sum-exp, and a fit does not
depend on the number of worker processes."""

from __future__ import annotations

import numpy as np
import pytest
from stepmix.emission.categorical import Bernoulli, BernoulliNan, MultinoulliNan
from stepmix.stepmix import StepMix

from engagement.studies.personas import emission, lca


def _data(seed=1, n=400, k=3):
    rng = np.random.default_rng(seed)
    resp = rng.dirichlet(np.ones(k), n) * rng.uniform(0.2, 3, n)[:, None]  # weighted responsibilities
    binary = (rng.random((n, 5)) < rng.uniform(0.1, 0.9, 5)).astype(float)
    binary_nan = np.where(rng.random((n, 5)) < 0.2, np.nan, binary)
    width, levels = 4, [4, 3, 2]
    onehot = np.zeros((n, len(levels) * width))
    for j, m in enumerate(levels):
        onehot[np.arange(n), j * width + rng.integers(0, m, n)] = 1.0
        gone = rng.random(n) < 0.25
        onehot[gone, j * width:(j + 1) * width] = np.nan
    return resp, binary, binary_nan, onehot, {"integer_codes": False, "max_n_outcomes": width,
                                               "total_outcomes": sum(levels)}


@pytest.mark.parametrize("caching", [False, True])
@pytest.mark.parametrize("which", ["binary", "binary_nan", "categorical_nan"])
def test_cached_emissions_are_stepmix_emissions(which, caching):
    resp, binary, binary_nan, onehot, cat = _data()
    X, ours, theirs = {
        "binary": (binary, emission.BernoulliCached(n_components=3, random_state=0), Bernoulli(n_components=3, random_state=0)),
        "binary_nan": (binary_nan, emission.BernoulliNanCached(n_components=3, random_state=0), BernoulliNan(n_components=3, random_state=0)),
        "categorical_nan": (onehot, emission.MultinoulliNanCached(n_components=3, random_state=0, **cat),
                            MultinoulliNan(n_components=3, random_state=0, **cat)),
    }[which]
    ours.set_caching(caching)
    for _ in range(2):  # the second round reads the cache
        ours.m_step(X, resp)
        theirs.m_step(X, resp)
        np.testing.assert_allclose(ours.parameters["pis"], theirs.parameters["pis"], rtol=1e-10, atol=0)
        np.testing.assert_allclose(ours.log_likelihood(X), theirs.log_likelihood(X), rtol=1e-10, atol=1e-12)
    assert ours.n_parameters == theirs.n_parameters


def _reference_gaussian(X, resp, parameters, reg_covar):
    """The GaussianFullNan M-step and log-likelihood as first written (per class, per pattern)."""
    n, d = X.shape
    obs = ~np.isnan(X)
    X0 = np.where(obs, X, 0.0)
    r_all = resp * obs.any(axis=1)[:, None]
    totals = r_all.sum(axis=0)
    means, covs = np.zeros((resp.shape[1], d)), np.zeros((resp.shape[1], d, d))
    for c in range(resp.shape[1]):
        r, extra, filled = r_all[:, c], np.zeros((d, d)), X0.copy()
        mu_old, S = parameters["means"][c], parameters["covariances"][c]
        for i in range(n):
            o, m = obs[i], ~obs[i]
            if m.any() and o.any():
                coef = np.linalg.solve(S[np.ix_(o, o)], S[np.ix_(o, m)]).T
                filled[i, m] = mu_old[m] + (X0[i, o] - mu_old[o]) @ coef.T
                extra[np.ix_(m, m)] += r[i] * (S[np.ix_(m, m)] - coef @ S[np.ix_(o, m)])
        mu = r @ filled / totals[c]
        diff = filled - mu
        covs[c] = ((diff * r[:, None]).T @ diff + extra) / totals[c] + reg_covar * np.eye(d)
        means[c] = mu
    ll = np.zeros((n, resp.shape[1]))
    for i in range(n):
        o = obs[i]
        if o.any():
            for c in range(resp.shape[1]):
                S = covs[c][np.ix_(o, o)]
                diff = X[i, o] - means[c, o]
                ll[i, c] = -0.5 * (diff @ np.linalg.solve(S, diff) + np.linalg.slogdet(S)[1] + o.sum() * np.log(2 * np.pi))
    return {"means": means, "covariances": covs}, ll


@pytest.mark.parametrize("caching", [False, True])
def test_gaussian_full_nan_m_step_and_likelihood_match_the_per_row_reference(caching):
    rng = np.random.default_rng(5)
    n, d, k = 120, 3, 3
    X = rng.multivariate_normal(np.zeros(d), [[1, 0.5, 0.2], [0.5, 1, 0.3], [0.2, 0.3, 1]], n)
    X[rng.random((n, d)) < 0.2] = np.nan
    X[:4] = np.nan  # rows with nothing observed
    resp = rng.dirichlet(np.ones(k), n)
    em = emission.GaussianFullNan(n_components=k, random_state=0, reg_covar=1e-3)
    em.set_caching(caching)
    em.initialize(X, resp)
    for _ in range(3):
        expected, ll = _reference_gaussian(X, resp, em.parameters, 1e-3)
        em.m_step(X, resp)
        for key in expected:
            np.testing.assert_allclose(em.parameters[key], expected[key], rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(em.log_likelihood(X), ll, rtol=1e-10, atol=1e-10)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_e_and_m_steps_match_stepmix():
    resp, binary, binary_nan, onehot, cat = _data(seed=2)
    X = np.hstack([binary, binary_nan, onehot])
    desc = {"b": {"model": "binary", "n_columns": 5}, "bn": {"model": "binary_nan", "n_columns": 5},
            "c": {"model": "categorical_nan", "n_columns": onehot.shape[1], **cat}}
    w = np.random.default_rng(0).uniform(0.5, 2, len(X))
    theirs = StepMix(3, measurement=desc, n_init=1, random_state=3, max_iter=30, progress_bar=0, verbose=0)
    theirs.fit(X, sample_weight=w)
    ours = lca.PersonaStepMix(3, measurement={**desc, "b": {"model": emission.BINARY, "n_columns": 5},
                                              "bn": {"model": emission.BINARY_NAN, "n_columns": 5},
                                              "c": {**desc["c"], "model": emission.CATEGORICAL_NAN}},
                              n_init=1, random_state=3, max_iter=30, progress_bar=0, verbose=0)
    ours.fit(X, sample_weight=w)
    assert ours.n_iter_ == theirs.n_iter_
    assert ours.score(X, sample_weight=w) == pytest.approx(theirs.score(X, sample_weight=w), rel=1e-10)
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), rtol=1e-8, atol=1e-12)
    ll_ours, lr_ours = ours._e_step(X, sample_weight=w)
    ll_theirs, lr_theirs = StepMix._e_step(ours, X, sample_weight=w)
    assert ll_ours == pytest.approx(ll_theirs, rel=1e-12)
    np.testing.assert_allclose(lr_ours, lr_theirs, rtol=1e-10, atol=1e-12)


def test_starts_do_not_depend_on_the_number_of_workers():
    rng = np.random.default_rng(4)
    n = 300
    group = rng.integers(0, 2, n)
    binary = (rng.random((n, 4)) < np.where(group[:, None] == 1, 0.8, 0.2)).astype(float)
    data = lca.LCAInput(binary, {"b": {"model": emission.BINARY, "n_columns": 4}}, binary.copy())
    w = rng.uniform(0.5, 2, n)
    one = lca.fit_lca_starts(data, 2, w, n_starts=4, seed=7, n_jobs=1)
    two = lca.fit_lca_starts(data, 2, w, n_starts=4, seed=7, n_jobs=2)
    np.testing.assert_array_equal(one.start_logliks, two.start_logliks)
    np.testing.assert_array_equal(one.posterior, two.posterior)
