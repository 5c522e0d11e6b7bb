"""StepMix emissions of the latent class model, registered in StepMix's emission table (its
extension point) by `register_emissions`:

- `GaussianFullNan` (`GAUSSIAN_FULL_NAN`): the multivariate normal with a full within-class
  covariance that accepts missing values (full-information likelihood);
- `BINARY`, `BINARY_NAN`, `CATEGORICAL_NAN`: StepMix 3.0's Bernoulli and categorical emissions
  (same parameters, same likelihood) whose M-step is vectorised and whose encoded input is computed
  once per matrix rather than every EM iteration (`CATEGORICAL` is StepMix's own).

The classes live at module level so that fitted models pickle.
"""

from __future__ import annotations

import numpy as np
from stepmix.emission.build_emission import EMISSION_DICT
from stepmix.emission.categorical import Bernoulli, BernoulliNan, MultinoulliNan
from stepmix.emission.emission import Emission

GAUSSIAN_FULL_NAN = "gaussian_full_nan"
#: StepMix reads "allows missing values" from a name that ends in "nan"
BINARY, BINARY_NAN, CATEGORICAL_NAN = "cached_binary", "cached_binary_nan", "cached_categorical_nan"
#: StepMix's complete-data categorical emission (already vectorised, nothing to keep per matrix)
CATEGORICAL = "categorical"
#: the emission that evaluates a block fitted without missing values on data with gaps (same parameters)
NAN_TWIN = {BINARY: BINARY_NAN, CATEGORICAL: CATEGORICAL_NAN}
#: probabilities are kept off 0 and 1 as StepMix does
_EPS = 1e-15


class _PerMatrix:
    """Arrays derived from the input matrix, kept while EM runs on it. EM hands the same matrix to
    the emission every iteration; the model switches the cache on for the length of a fit
    (`caching`) and off afterwards, so that a later call on another matrix (which may reuse the
    freed memory of an earlier one) always derives afresh and nothing large outlives the fit."""

    caching = False

    def derived(self, X: np.ndarray, make):
        if not self.caching:
            return make(X)
        key = (X.__array_interface__["data"][0], X.shape, X.strides)
        cache = self.__dict__.get("_derived")
        if cache is None or cache[0] != key:
            cache = self._derived = (key, make(X))
        return cache[1]

    def set_caching(self, on: bool) -> None:
        self.caching = on
        self.__dict__.pop("_derived", None)


def _encoded(X: np.ndarray) -> dict:
    """The input with missing values as 0, and which values are observed (as 0/1 floats)."""
    observed = ~np.isnan(X)
    return {"X0": np.where(observed, X, 0.0), "observed": observed.astype(float), "any_missing": not observed.all()}


class BernoulliCached(_PerMatrix, Bernoulli):
    """StepMix's Bernoulli emission (complete data), with 1 - X computed once per matrix."""

    def log_likelihood(self, X):
        pis = np.clip(self.parameters["pis"].T, _EPS, 1 - _EPS)
        return X @ np.log(pis) + self.derived(X, lambda X: 1 - X) @ np.log(1 - pis)


class BernoulliNanCached(_PerMatrix, BernoulliNan):
    """StepMix's `BernoulliNan`: the share of 1s among each class's observed answers, with StepMix's
    per-column normalisation as one product (observed.T @ resp) and the encoded input kept per matrix."""

    @staticmethod
    def _prepared(X):
        enc = _encoded(X)
        enc["not_X"] = (1 - enc["X0"]) * enc["observed"]  # observed zeros
        return enc

    def m_step(self, X, resp):
        enc = self.derived(X, self._prepared)
        self.parameters["pis"] = ((enc["X0"].T @ resp) / (enc["observed"].T @ resp)).T

    def log_likelihood(self, X):
        enc = self.derived(X, self._prepared)
        pis = np.clip(self.parameters["pis"].T, _EPS, 1 - _EPS)
        return enc["X0"] @ np.log(pis) + enc["not_X"] @ np.log(1 - pis)


class MultinoulliNanCached(_PerMatrix, MultinoulliNan):
    """StepMix's `MultinoulliNan` on one-hot input (`integer_codes=False`, as `lca` builds it), with
    the per-column normalisation as one product (observed.T @ resp) and the encoded input kept per matrix."""

    def m_step(self, X, resp):
        enc = self.derived(self.encode_features(X), _encoded)
        self.parameters["pis"] = ((enc["X0"].T @ resp) / (enc["observed"].T @ resp)).T

    def log_likelihood(self, X):
        enc = self.derived(self.encode_features(X), _encoded)
        return enc["X0"] @ np.log(np.clip(self.parameters["pis"].T, _EPS, 1 - _EPS))


def _patterns(X: np.ndarray) -> dict:
    """The input's encoding plus (observed-coordinate mask, rows, their observed values) for each
    pattern of observed coordinates."""
    enc = _encoded(X)
    observed = enc["observed"] == 1.0
    bits = observed.astype(np.int64) @ (1 << np.arange(X.shape[1], dtype=np.int64))
    enc["patterns"] = []
    for v in np.unique(bits):
        o, rows = (v >> np.arange(X.shape[1])) & 1 == 1, np.flatnonzero(bits == v)
        enc["patterns"].append((o, rows, X[np.ix_(rows, o)]))
    enc["informative"] = observed.any(axis=1).astype(float)  # rows with at least one observed coordinate
    return enc


class GaussianFullNan(_PerMatrix, Emission):
    """A multivariate normal emission with a full covariance per class that accepts missing values
    (StepMix 3.0 has full covariances only for complete data and missing values only with diagonal
    ones).

    E-step: the density of the observed coordinates (the marginal normal), rows grouped by pattern
    of observed coordinates. M-step: the EM for incomplete normal data (Little & Rubin, ch. 11):
    missing coordinates replaced by their conditional expectation given the observed ones, plus the
    conditional covariance in the scatter. Rows with no observed coordinate carry no information on
    this block and are left out of its M-step."""

    def __init__(self, n_components=2, random_state=None, reg_covar=1e-6):
        super().__init__(n_components=n_components, random_state=random_state)
        self.reg_covar = reg_covar
        self.model_str = GAUSSIAN_FULL_NAN

    def initialize(self, X, resp, random_state=None):
        self.parameters = {}
        super().initialize(X, resp, random_state)

    def m_step(self, X, resp):
        n, d = X.shape
        enc = self.derived(X, _patterns)
        X0, obs = enc["X0"], enc["observed"]
        r_all = np.ascontiguousarray((resp * enc["informative"][:, None]).T)  # classes × rows
        totals = np.maximum(r_all.sum(axis=1), 1e-300)
        means, covs = np.zeros((resp.shape[1], d)), np.zeros((resp.shape[1], d, d))
        first = "means" not in self.parameters
        for c in range(resp.shape[1]):
            r = r_all[c]
            extra = np.zeros((d, d))
            if first:  # class means of the observed values; missing ones imputed by them
                mu = (r @ X0) / np.maximum(r @ obs, 1e-300)
                filled = np.where(obs == 1.0, X0, mu)
            else:
                mu_old, S = self.parameters["means"][c], self.parameters["covariances"][c]
                filled = X0
                for o, rows, x_o in enc["patterns"]:
                    m = ~o
                    if not m.any() or not o.any():
                        continue
                    if filled is X0:
                        filled = X0.copy()
                    coef = np.linalg.solve(S[np.ix_(o, o)], S[np.ix_(o, m)]).T  # S_mo S_oo^-1
                    filled[np.ix_(rows, m)] = mu_old[m] + (x_o - mu_old[o]) @ coef.T
                    extra[np.ix_(m, m)] += r[rows].sum() * (S[np.ix_(m, m)] - coef @ S[np.ix_(o, m)])
                mu = r @ filled / totals[c]
            diff = filled - mu
            covs[c] = ((diff.T * r) @ diff + extra) / totals[c] + self.reg_covar * np.eye(d)
            means[c] = mu
        self.parameters = {"means": means, "covariances": covs}

    def log_likelihood(self, X):
        out = np.zeros((X.shape[0], self.n_components))
        means, covs = self.parameters["means"], self.parameters["covariances"]
        for o, rows, x_o in self.derived(X, _patterns)["patterns"]:
            if not o.any():
                continue
            S = covs[:, o][:, :, o]  # classes × observed × observed
            precision = np.linalg.inv(S)
            _, logdet = np.linalg.slogdet(S)
            log_2pi = o.sum() * np.log(2 * np.pi)
            for c in range(self.n_components):  # one class at a time: 2-d products, no large temporaries
                diff = x_o - means[c, o]
                out[rows, c] = -0.5 * (np.einsum("nd,nd->n", diff @ precision[c], diff) + logdet[c] + log_2pi)
        return out

    def sample(self, class_no, n_samples):
        return self.random_state.multivariate_normal(self.parameters["means"][class_no],
                                                     self.parameters["covariances"][class_no], n_samples)

    @property
    def n_parameters(self):
        k, d = self.parameters["means"].shape
        return k * (d + d * (d + 1) // 2)

    def get_parameters_df(self, feature_names=None):
        means = self.parameters["means"]
        variances = np.diagonal(self.parameters["covariances"], axis1=1, axis2=2)
        return self._to_df({"means": means, "variances": variances}, ["means", "variances"], feature_names)


EMISSIONS = {GAUSSIAN_FULL_NAN: GaussianFullNan, BINARY: BernoulliCached, BINARY_NAN: BernoulliNanCached,
             CATEGORICAL_NAN: MultinoulliNanCached}


def register_emissions() -> None:
    """Add this module's emissions to StepMix's emission table (idempotent)."""
    EMISSION_DICT.update(EMISSIONS)


def set_caching(emission, on: bool) -> None:
    """Switch the per-matrix cache of every emission of a (nested) StepMix emission on or off."""
    for m in getattr(emission, "models", {"": emission}).values():
        if isinstance(m, _PerMatrix):
            m.set_caching(on)
