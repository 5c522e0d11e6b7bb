"""The latent class model: the measurement matrix in StepMix's layout (`lca_input`), fitting from
several starts (`fit_lca`) and classifying (new) respondents (`posterior`).

StepMix 3.0, maximum likelihood by EM, survey weights as sample weights: Bernoulli indicators for
binary items, unordered categorical indicators for ordinal items, and one Gaussian block with a full
within-class covariance for the continuous items (see `emission`). Starts are k-means++ partitions
of the standardized features, one seed per start; the best likelihood wins. Independent starts
and bootstrap refits run in threads (`map_fits`, `N_JOBS`); each has its own seed, so the results
do not depend on how many there are.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
import threadpoolctl
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning
from stepmix.stepmix import StepMix

from ...survey_stats import single_threaded
from .emission import (BINARY, BINARY_NAN, CATEGORICAL, CATEGORICAL_NAN, EMISSIONS, GAUSSIAN_FULL_NAN, NAN_TWIN,
                       register_emissions, set_caching)
from .features import FeatureEncoder

#: variance floor of the Gaussian block (standardized units), against degenerate components
REG_COVAR = 1e-3
#: a start "reaches" the best log-likelihood when it ends within this of it (log-likelihood units);
#: EM stops when the mean log-likelihood gains less than 1e-6 per iteration, local optima differ by far more
REPLICATION_TOL = 0.1
#: EM and k-means (OpenMP) work on n × ~20 matrices: one thread in every native pool
_single_threaded = single_threaded(user_api=None)
#: threads for independent fits (starts, bootstrap refits), each single-threaded in the native
#: pools; results do not depend on it (every fit has its own seed). 1 runs them one after another.
N_JOBS = min(2, os.cpu_count() or 1)


def map_fits(fn, tasks: list[tuple], n_jobs: int | None = None) -> list:
    """[fn(*task) for task in tasks], in order, in `n_jobs` (default `N_JOBS`) threads. Threads, not
    processes: numpy releases the GIL in the EM's array arithmetic, and on two cores they were
    faster than joblib's loky processes (no worker start-up, no copies of the data or the fitted
    models, no extra memory). One native-pool limit and one warnings state around them all: a
    thread's own `_single_threaded` or `warnings.catch_warnings` ending cannot then undo another's
    (both are process-wide)."""
    n_jobs = min(N_JOBS if n_jobs is None else n_jobs, len(tasks))
    if n_jobs <= 1:
        return [fn(*task) for task in tasks]
    from joblib import Parallel, delayed

    with threadpoolctl.threadpool_limits(limits=1), warnings.catch_warnings():
        return Parallel(n_jobs=n_jobs, backend="threading")(delayed(fn)(*task) for task in tasks)


# ------------------------------------------------------------------------- latent class model


@dataclass
class LCAInput:
    """The measurement matrix in StepMix's layout and the descriptor of its blocks."""

    X: np.ndarray
    descriptor: dict
    #: standardized features with missing values imputed (k-means, starting partitions)
    Z: np.ndarray
    #: block name -> its columns (features, and "<feature> > 0" for two-part indicators)
    layout: dict = field(default_factory=dict)


def lca_input(codes: pd.DataFrame, enc: FeatureEncoder, weights: np.ndarray, layout: dict | None = None) -> LCAInput:
    """Blocks: binary (Bernoulli), ordinal (one-hot categorical), continuous (Gaussian with a full
    within-class covariance and missing values integrated out). A binary or ordinal block without
    missing values uses StepMix's faster complete-data model. A continuous feature with a spike of
    zeros (`two_part`) enters in two parts: a Bernoulli indicator "above zero", and its value only
    where it is above zero (a zero is not a point on the continuous scale: nobody with no orders has
    an order value). `layout` (from a fitted model's input) fixes the blocks for new data."""
    binary = codes[enc.binary].copy()
    cont = codes[enc.continuous].copy()
    for c in enc.continuous:
        t = enc.transform[c]
        if t.get("two_part"):
            zero = np.isclose(cont[c], -t["center"] / t["scale"])
            binary[f"{c} > 0"] = np.where(cont[c].isna(), np.nan, (~zero).astype(float))
            cont.loc[zero, c] = np.nan
    if layout is None:
        layout = {}
        for kind, frame, cols in (("binary", binary, list(binary)), ("ordinal", codes, enc.ordinal)):
            complete = [c for c in cols if frame[c].notna().all()]
            layout.update({f"{kind}_complete": complete, f"{kind}_missing": [c for c in cols if c not in complete]})
        layout["continuous"] = list(enc.continuous)
        layout = {name: cols for name, cols in layout.items() if cols}
    blocks, desc = [], {}
    for name, cols in layout.items():
        complete = name.endswith("_complete")
        if name.startswith("binary"):
            arr = binary[cols].to_numpy(float)
            desc[name] = {"model": BINARY if complete else BINARY_NAN}
        elif name.startswith("ordinal"):
            width = max(len(enc.levels[c]) for c in cols)
            arr = np.zeros((len(codes), len(cols) * width))
            for j, c in enumerate(cols):
                v = codes[c].to_numpy(float)
                ok = ~np.isnan(v)
                arr[np.flatnonzero(ok), j * width + v[ok].astype(int)] = 1.0
                arr[~ok, j * width:(j + 1) * width] = np.nan
            desc[name] = {"model": CATEGORICAL if complete else CATEGORICAL_NAN, "integer_codes": False,
                          "max_n_outcomes": width, "total_outcomes": sum(len(enc.levels[c]) for c in cols)}
        else:
            arr = cont[cols].to_numpy(float)
            desc[name] = {"model": GAUSSIAN_FULL_NAN, "reg_covar": REG_COVAR}
        desc[name]["n_columns"] = arr.shape[1]
        blocks.append(arr)
    return LCAInput(np.hstack(blocks), desc, enc.standardized(codes, weights), layout)


class PersonaStepMix(StepMix):
    """StepMix whose starting partitions are given (`init_labels`, e.g. a previous solution) or
    k-means++ partitions of the standardized features (one per further start, each with its own
    seed), instead of uniform random responsibilities: EM then needs a fraction of the iterations,
    and the starts still differ. `starts` (standardized features) and `init_labels` are set as
    attributes after construction, so that scikit-learn's parameter introspection sees StepMix's own
    signature.

    Overrides the initialization hook and, for speed, the E- and M-steps of StepMix 3.0 (the
    version is pinned in pyproject) with the same arithmetic: the log-sum-exp with its max shift
    written out (scipy's general one costs more than the rest of the E-step), sample weights
    validated once per fit (by `em`) instead of every M-step, and the emissions' per-matrix cache
    switched on while EM runs. A model with a structural part falls back to StepMix's own steps."""

    starts = None
    init_labels = ()

    def fit(self, X, Y=None, sample_weight=None, y=None):
        self._start = 0
        register_emissions()
        try:
            return super().fit(X, Y, sample_weight=sample_weight, y=y)
        finally:
            if hasattr(self, "_mm"):
                set_caching(self._mm, False)

    def _initialize_parameters(self, X, random_state):
        if self.starts is None:
            super()._initialize_parameters(X, random_state)
        else:
            if self._start < len(self.init_labels):
                labels = np.asarray(self.init_labels[self._start])
            else:
                labels = KMeans(self.n_components, init="k-means++", n_init=1, max_iter=20,
                                random_state=random_state.randint(2**31 - 1)).fit_predict(self.starts)
            self._start += 1
            resp = np.full((X.shape[0], self.n_components), 1e-15)
            resp[np.arange(X.shape[0]), labels] = 1.0
            self.log_resp_ = np.log(resp / resp.sum(axis=1, keepdims=True))
            self.weights_ = np.ones(self.n_components) / self.n_components
            self._initialize_parameters_measurement(X, random_state)
        set_caching(self._mm, True)

    def _e_step(self, X, Y=None, sample_weight=None, log_emission_pm=None):
        if Y is not None or log_emission_pm is not None:
            return super()._e_step(X, Y, sample_weight=sample_weight, log_emission_pm=log_emission_pm)
        log_resp = self._mm.log_likelihood(X)
        log_resp += np.log(self.weights_).reshape((1, -1))
        top = log_resp[:, 0].copy()  # row maxima column by column: numpy reduces short rows slowly
        for j in range(1, log_resp.shape[1]):
            np.maximum(top, log_resp[:, j], out=top)
        top[~np.isfinite(top)] = 0.0
        with np.errstate(divide="ignore"):  # a row of zero likelihood gives -inf, as in scipy
            ll = np.log(np.exp(log_resp - top[:, None]) @ np.ones(log_resp.shape[1])) + top
        with np.errstate(under="ignore"):
            log_resp -= ll[:, None]
        mean = ll.mean() if sample_weight is None else ll @ sample_weight / sample_weight.sum()
        return mean, log_resp

    def _m_step(self, X, resp, Y=None, sample_weight=None, freeze_measurement=False):
        if Y is not None or freeze_measurement or not isinstance(sample_weight, np.ndarray):
            return super()._m_step(X, resp, Y, sample_weight=sample_weight, freeze_measurement=freeze_measurement)
        self.weights_ = np.clip(sample_weight @ resp / sample_weight.sum(), 1e-15, 1 - 1e-15)
        self._mm.m_step(X, resp * sample_weight[:, np.newaxis])


@dataclass
class LCAFit:
    k: int
    model: object
    labels: np.ndarray
    posterior: np.ndarray
    loglik: float
    n_parameters: int
    bic: float
    relative_entropy: float
    shares: np.ndarray
    #: final log-likelihood of every start (`fit_lca_starts`); empty when the starts ran inside StepMix
    start_logliks: np.ndarray = field(default_factory=lambda: np.empty(0))

    @property
    def best_share(self) -> float:
        """Share of the starts that reached the best log-likelihood (within `REPLICATION_TOL`)."""
        if not len(self.start_logliks):
            return float("nan")
        return float(np.mean(self.start_logliks >= self.start_logliks.max() - REPLICATION_TOL))


@_single_threaded
def fit_lca(data: LCAInput, k: int, weights: np.ndarray, n_init: int = 3, seed: int = 0,
            tol: float = 1e-6, max_iter: int = 500, init_labels: tuple = ()) -> LCAFit:
    """Fit a k-class model by EM from `n_init` starts (the partitions in `init_labels` first, then
    k-means++ partitions); the best likelihood wins. Weights are normalised to sum to n."""
    n = len(weights)
    w = np.asarray(weights, float) * n / np.sum(weights)
    model = PersonaStepMix(k, measurement=data.descriptor, n_init=max(n_init, len(init_labels)),
                           random_state=seed, abs_tol=tol, max_iter=max_iter, progress_bar=0, verbose=0)
    model.starts, model.init_labels = data.Z, init_labels
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        model.fit(data.X, sample_weight=w)
    post = model.predict_proba(data.X)
    loglik = float(model.score(data.X, sample_weight=w) * n)
    p = int(model.n_parameters)
    ent = float(-(w[:, None] * post * np.log(np.clip(post, 1e-15, 1))).sum())
    rel = 1 - ent / (n * np.log(k)) if k > 1 else 1.0
    labels = post.argmax(axis=1)
    shares = np.bincount(labels, weights=w, minlength=k) / n
    return LCAFit(k, model, labels, post, loglik, p, -2 * loglik + p * np.log(n), rel, shares)


def start_seed(seed: int, k: int, start: int) -> int:
    """The seed of one start: its own stream, so adding starts or k never changes the earlier ones."""
    return int(np.random.SeedSequence([seed, k, start]).generate_state(1)[0] % (2**31 - 1))


def fit_lca_starts(data: LCAInput, k: int, weights: np.ndarray, n_starts: int = 20, seed: int = 0,
                   tol: float = 1e-6, max_iter: int = 500, n_jobs: int | None = None) -> LCAFit:
    """poLCA's `nrep` practice: `n_starts` independent starts (k-means++ partitions), each run to
    convergence on its own; the best likelihood wins and every start's final log-likelihood is kept
    (`start_logliks`, `best_share`). k = 1 has a single optimum: one start. The starts run in
    `n_jobs` threads (`map_fits`)."""
    starts = range(1 if k == 1 else max(1, n_starts))
    fits = map_fits(fit_lca, [(data, k, weights, 1, start_seed(seed, k, s), tol, max_iter) for s in starts], n_jobs)
    best = fits[0]
    for fit in fits[1:]:
        if fit.loglik > best.loglik:
            best = fit
    return replace(best, start_logliks=np.array([fit.loglik for fit in fits]))


def _subset(data: LCAInput, rows: np.ndarray) -> LCAInput:
    return LCAInput(data.X[rows], data.descriptor, data.Z[rows], data.layout)


def posterior(fit: LCAFit, data: LCAInput) -> np.ndarray:
    """Class membership probabilities of (new) respondents under a fitted model. A block fitted
    without missing values is evaluated by its missing-value twin (same parameters) when the new
    data have gaps there."""
    model = fit.model
    if np.isnan(data.X).any():
        import copy

        twin = copy.deepcopy(model)
        for name, spec in data.descriptor.items():
            if spec["model"] in NAN_TWIN:
                old = twin._mm.models[name]
                new = EMISSIONS[NAN_TWIN[spec["model"]]](n_components=fit.k, random_state=None,
                                                             **{k: v for k, v in spec.items()
                                                                if k not in ("model", "n_columns")})
                new.set_parameters(old.get_parameters())
                twin._mm.models[name] = new
        twin._force_all_finite_mm = "allow-nan"  # StepMix's input check, set in fit from the descriptor
        model = twin
    return model.predict_proba(data.X)

