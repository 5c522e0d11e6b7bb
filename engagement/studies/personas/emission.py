"""A StepMix emission: the multivariate normal with a full within-class covariance that accepts
missing values (full-information likelihood). Registered under `GAUSSIAN_FULL_NAN`."""

from __future__ import annotations

import numpy as np

GAUSSIAN_FULL_NAN = "gaussian_full_nan"


def _register_gaussian_full_nan() -> None:
    """A multivariate normal emission with a full covariance per class that accepts missing values
    (StepMix 3.0 has full covariances only for complete data and missing values only with diagonal
    ones). Registered under GAUSSIAN_FULL_NAN in StepMix's emission table, its extension point.

    E-step: the density of the observed coordinates (the marginal normal), rows grouped by pattern
    of observed coordinates. M-step: the EM for incomplete normal data (Little & Rubin, ch. 11):
    missing coordinates replaced by their conditional expectation given the observed ones, plus the
    conditional covariance in the scatter. Rows with no observed coordinate carry no information on
    this block and are left out of its M-step."""
    from stepmix.emission.build_emission import EMISSION_DICT
    from stepmix.emission.emission import Emission

    if GAUSSIAN_FULL_NAN in EMISSION_DICT:
        return

    def patterns(X):
        """(observed-coordinate mask, rows) for each pattern of observed coordinates."""
        bits = (~np.isnan(X)).astype(np.int64) @ (1 << np.arange(X.shape[1], dtype=np.int64))
        return [((v >> np.arange(X.shape[1])) & 1 == 1, np.flatnonzero(bits == v)) for v in np.unique(bits)]

    class GaussianFullNan(Emission):
        def __init__(self, n_components=2, random_state=None, reg_covar=1e-6):
            super().__init__(n_components=n_components, random_state=random_state)
            self.reg_covar = reg_covar
            self.model_str = GAUSSIAN_FULL_NAN
            self._patterns = (None, None)

        def _pattern_cache(self, X):
            """The same matrix comes back every EM iteration: its patterns are computed once."""
            key = (X.__array_interface__["data"][0], X.shape, X.strides)
            if self._patterns[0] != key:
                self._patterns = (key, patterns(X))
            return self._patterns[1]

        def initialize(self, X, resp, random_state=None):
            self.parameters = {}
            super().initialize(X, resp, random_state)

        def m_step(self, X, resp):
            n, d = X.shape
            k = resp.shape[1]
            obs = ~np.isnan(X)
            X0 = np.where(obs, X, 0.0)
            pats = self._pattern_cache(X)
            r_all = resp * obs.any(axis=1)[:, None]  # rows with nothing observed carry no information
            totals = np.maximum(r_all.sum(axis=0), 1e-300)
            means, covs = np.zeros((k, d)), np.zeros((k, d, d))
            first = "means" not in self.parameters
            for c in range(k):
                r = r_all[:, c]
                extra = np.zeros((d, d))
                if first:  # class means of the observed values; missing ones imputed by them
                    mu = (r @ X0) / np.maximum(r @ obs, 1e-300)
                    filled = np.where(obs, X, mu)
                else:
                    mu_old, S = self.parameters["means"][c], self.parameters["covariances"][c]
                    filled = X0
                    for o, rows in pats:
                        m = ~o
                        if not m.any() or not o.any():
                            continue
                        if filled is X0:
                            filled = X0.copy()
                        coef = np.linalg.solve(S[np.ix_(o, o)], S[np.ix_(o, m)]).T  # S_mo S_oo^-1
                        filled[np.ix_(rows, m)] = mu_old[m] + (X0[np.ix_(rows, o)] - mu_old[o]) @ coef.T
                        extra[np.ix_(m, m)] += r[rows].sum() * (S[np.ix_(m, m)] - coef @ S[np.ix_(o, m)])
                    mu = r @ filled / totals[c]
                diff = filled - mu
                covs[c] = ((diff * r[:, None]).T @ diff + extra) / totals[c] + self.reg_covar * np.eye(d)
                means[c] = mu
            self.parameters = {"means": means, "covariances": covs}

        def log_likelihood(self, X):
            out = np.zeros((X.shape[0], self.n_components))
            means, covs = self.parameters["means"], self.parameters["covariances"]
            for o, rows in self._pattern_cache(X):
                if not o.any():
                    continue
                S = covs[:, o][:, :, o]  # classes × observed × observed
                precision = np.linalg.inv(S)
                _, logdet = np.linalg.slogdet(S)
                diff = X[np.ix_(rows, o)][:, None, :] - means[None][:, :, o]  # rows × classes × observed
                quad = np.einsum("nkd,kde,nke->nk", diff, precision, diff, optimize=False)
                out[rows] = -0.5 * (quad + logdet + o.sum() * np.log(2 * np.pi))
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

    EMISSION_DICT[GAUSSIAN_FULL_NAN] = GaussianFullNan

