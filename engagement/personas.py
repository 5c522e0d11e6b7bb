"""The persona study (notebook 30): at most four customer segments, found by a latent class model on
behaviour and attitudes, described in words, stable across resamples and waves, with a typing tool.

Inputs come only from the codebook's `persona_features` (binary: channel use and other yes/no items;
ordinal: Likert attitudes; continuous: counts and spend) plus, for the persona cards and the
cross-study tables, `channels`, `scales`, `outcomes` and `segments`. Without `persona_features` the
study is skipped with a note.

Method
------
* **Features.** Binary items are coded 0/1 ("Yes"/"No" text accepted), ordinal items by their ordered
  levels (the codebook's `columns.<c>.allowed` order, else the observed values sorted). Continuous
  items are standardized with the weighted mean and SD after a log(1 + x) transform of the
  non-negative ones when any of them is right-skewed (skewness > 1): one scale for counts and spend
  keeps multiplicative relations (spend = orders × order value) linear within a persona. Missing
  answers stay missing.
* **Model.** A latent class model (StepMix 3.0, maximum likelihood by EM, survey weights as sample
  weights): Bernoulli indicators for binary items, unordered categorical indicators for ordinal items
  (no linearity assumed between scale points), and one Gaussian block for the continuous items with
  a *full* within-class covariance — counts and spend are strongly related within a segment (spend ≈
  orders × order value), and forcing local independence on them invents segments. Missing answers of
  every kind are integrated out (full-information likelihood); the Gaussian block with missing values
  is an emission added to StepMix here (`_register_gaussian_full_nan`). A continuous item with a spike
  of zeros (≥ 1%) enters in two parts: a Bernoulli "above zero" and its value where it is. Every
  k = 1 … K is fitted from `n_init` starts (k-means++ partitions of the standardized features, one
  seed per start); the best likelihood wins. Above `max_fit_n` respondents the models are fitted on a
  seeded subsample and everyone is classified by the chosen model.
* **Comparison.** k-means on the standardized features (missing values imputed by the weighted mean)
  at the chosen k; agreement with the latent class solution as adjusted Rand index (ARI).
* **Choosing k.** For every k: BIC (weighted log-likelihood, parameters × log n), the smallest
  segment's weighted share, relative entropy (1 = perfectly separated), and bootstrap stability (the
  mean ARI between the full-sample classification and the classification by a model refitted on a
  bootstrap resample, over `bootstrap_reps` seeded resamples). The rule: a k is *admissible* when its
  smallest segment holds at least `min_share` of the weighted sample, its stability is at least
  `min_stability` and its relative entropy at least `min_entropy` (k = 1 always is); the chosen k
  is the admissible one with the lowest BIC. Candidates are checked in order of BIC, so stability is
  computed only where it decides (or for every k with `stability_all`). Choosing k = 1 means the
  data show no persona structure.
* **Stable labels.** Personas are numbered by weighted size (largest = 1), ties broken by profile, so a
  rerun on the same data gives the same numbers and names. With a previous wave's profiles
  (`results.json` → `personas.profiles`), segments are matched to the previous personas by the
  Hungarian algorithm on the distance between standardized profiles and keep their numbers and names.
* **Description.** Weighted size with a design-based 95% interval (logit, as svyciprop), index scores
  (persona mean ÷ overall mean × 100) for every feature, standardized differences, the features that
  set each persona apart, a generated name (overridable), and a one-page card per persona.
* **Personas × the other studies.** Channel use and the preferred purchase channel by persona
  (Rao–Scott F, Cramér's V, column-proportion letters via `crosstabs.crosstab`); the codebook's scales
  and loyalty outcomes by persona with design-based intervals, a Wald test that all personas are
  equal and persona-versus-rest contrasts; `personas.parquet` for the loyalty study.
* **Typing tool.** See `engagement.typing_tool`.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import adjusted_rand_score

from . import plots
from .codebook import Codebook, PersonaFeatures, code_key
from .results import PERSONA_FILE, estimate
from .survey_stats import _domain_means, single_threaded
from .trends import load_previous

SECTION = "personas"
TYPING_TOOL_FILE = "typing_tool.json"
#: the articles' rule: at most four personas
ARTICLES_MAX = 4
#: a continuous feature is log(1 + x) transformed when non-negative with skewness above this
SKEW_FOR_LOG = 1.0
#: variance floor of the Gaussian block (standardized units), against degenerate components
REG_COVAR = 1e-3
#: a non-negative continuous feature with at least this share of exact zeros is modelled in two parts
ZERO_SHARE = 0.01
_YES = {"1", "1.0", "yes", "y", "true", "t"}
_NO = {"0", "0.0", "no", "n", "false", "f"}
#: EM and k-means (OpenMP) work on n × ~20 matrices: one thread in every native pool
_single_threaded = single_threaded(user_api=None)


# ------------------------------------------------------------------------------------ features


def _binary_values(s: pd.Series, column: str) -> np.ndarray:
    """0/1/NaN from 0/1 numbers, booleans or yes/no text. Text answers that start with "no"
    (e.g. Telco's "No internet service") count as 0: the customer does not have / use it."""
    if pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
        x = s.astype("Float64").to_numpy(dtype=float, na_value=np.nan)
        bad = ~np.isnan(x) & (x != 0) & (x != 1)
        if bad.any():
            raise ValueError(f"persona feature {column!r} is declared binary but has values "
                             f"{sorted(set(x[bad]))[:5]}; expected 0/1")
        return x
    text = s.astype("string").str.strip().str.lower()
    out = np.full(len(s), np.nan)
    yes = text.isin(_YES).fillna(False).to_numpy(bool)
    no = (text.isin(_NO) | text.str.startswith("no")).fillna(False).to_numpy(bool)
    out[yes], out[no] = 1.0, 0.0
    other = text.notna().to_numpy(bool) & ~yes & ~no
    if other.any():
        raise ValueError(f"persona feature {column!r} is declared binary but has values "
                         f"{sorted(text[other].unique())[:5]}; expected yes/no or 0/1")
    return out


def _weighted_moments(x: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    ok = ~np.isnan(x)
    m = float(np.average(x[ok], weights=w[ok]))
    sd = float(np.sqrt(np.average((x[ok] - m) ** 2, weights=w[ok])))
    return m, sd


def _skewness(x: np.ndarray) -> float:
    x = x[~np.isnan(x)]
    sd = x.std()
    return float(np.mean((x - x.mean()) ** 3) / sd**3) if sd > 0 else 0.0


@dataclass
class FeatureEncoder:
    """How raw answers become model inputs; stored in the typing tool so new data is coded the same."""

    binary: list[str]
    ordinal: list[str]
    continuous: list[str]
    #: ordered levels of each ordinal feature (as text, `codebook.code_key`)
    levels: dict[str, list[str]] = field(default_factory=dict)
    #: continuous feature -> {"log": bool, "center": float, "scale": float, "two_part": bool}
    transform: dict[str, dict] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def features(self) -> list[str]:
        return [*self.binary, *self.ordinal, *self.continuous]

    def kind(self, column: str) -> str:
        return "binary" if column in self.binary else "ordinal" if column in self.ordinal else "continuous"

    @classmethod
    def fit(cls, df: pd.DataFrame, cb: Codebook, weights: np.ndarray | None = None) -> FeatureEncoder:
        pf = cb.persona_features
        missing = [c for c in pf.all if c not in df.columns]
        if missing:
            raise ValueError(f"persona_features not in the data: {', '.join(missing)}")
        w = np.ones(len(df)) if weights is None else np.asarray(weights, float)
        enc = cls(list(pf.binary), list(pf.ordinal), list(pf.continuous), labels=feature_labels(cb))
        for c in enc.ordinal:
            spec = cb.columns.get(c)
            observed = df[c].dropna().unique()
            if spec is not None and spec.allowed:
                order = [code_key(v) for v in spec.allowed]
            elif pd.api.types.is_numeric_dtype(df[c]):
                order = [code_key(v) for v in sorted(observed)]
            else:
                order = sorted(code_key(v) for v in observed)
            extra = sorted({code_key(v) for v in observed} - set(order))
            if extra:
                raise ValueError(f"persona feature {c!r} has values {extra[:5]} outside its declared levels")
            enc.levels[c] = order
        raw = {c: pd.to_numeric(df[c], errors="coerce").to_numpy(float) for c in enc.continuous}
        nonneg = {c: bool(np.nanmin(x) >= 0) for c, x in raw.items()}
        # one scale for all non-negative features (counts, spend): log when any is right-skewed, so
        # that multiplicative relations (spend = orders × order value) stay linear within a persona
        log = any(nonneg[c] and _skewness(x) > SKEW_FOR_LOG for c, x in raw.items())
        for c, x in raw.items():
            use_log = log and nonneg[c]
            z = np.log1p(x) if use_log else x
            m, sd = _weighted_moments(z, w)
            two_part = nonneg[c] and float(np.mean(x[~np.isnan(x)] == 0)) >= ZERO_SHARE
            enc.transform[c] = {"log": use_log, "center": m, "scale": sd if sd > 0 else 1.0, "two_part": two_part}
        return enc

    def codes(self, df: pd.DataFrame) -> pd.DataFrame:
        """Binary 0/1, ordinal level index 0…L−1, continuous standardized; NaN where missing."""
        out = {}
        for c in self.binary:
            out[c] = _binary_values(df[c], c)
        for c in self.ordinal:
            index = {lv: i for i, lv in enumerate(self.levels[c])}
            vals = df[c].map(lambda v: np.nan if pd.isna(v) else index.get(code_key(v), -1))
            if (vals == -1).any():
                bad = df.loc[vals == -1, c].unique()[:5]
                raise ValueError(f"persona feature {c!r} has values {list(bad)} outside its levels {self.levels[c]}")
            out[c] = vals.to_numpy(float)
        for c in self.continuous:
            t = self.transform[c]
            x = pd.to_numeric(df[c], errors="coerce").to_numpy(float)
            if t["log"]:
                x = np.log1p(np.clip(x, 0, None))
            out[c] = (x - t["center"]) / t["scale"]
        return pd.DataFrame(out, index=df.index)

    def standardized(self, codes: pd.DataFrame, weights: np.ndarray) -> np.ndarray:
        """Every feature on a z scale with missing values at the weighted mean (for k-means and starts)."""
        X = codes[self.features].to_numpy(float).copy()
        for j in range(X.shape[1]):
            m, sd = _weighted_moments(X[:, j], weights)
            X[:, j] = (np.where(np.isnan(X[:, j]), m, X[:, j]) - m) / (sd if sd > 0 else 1.0)
        return X

    def to_dict(self) -> dict:
        return {"binary": self.binary, "ordinal": self.ordinal, "continuous": self.continuous,
                "levels": self.levels, "transform": self.transform, "labels": self.labels}

    @classmethod
    def from_dict(cls, d: dict) -> FeatureEncoder:
        return cls(d["binary"], d["ordinal"], d["continuous"], d.get("levels", {}), d.get("transform", {}),
                   d.get("labels", {}))


def feature_labels(cb: Codebook) -> dict[str, str]:
    """Short readable names for persona features: "uses <channel>" for the codebook's channel-usage
    columns, the codebook's column label when it is short (≤ 30 characters), else the column name
    without a question prefix (att_, use_, q_) or period suffix (_365d, _12m, _6m), split into words."""
    usage = {col: ch for ch, col in cb.channels.usage.items()} if cb.channels else {}
    labels: dict[str, str] = {}
    for c in (cb.persona_features.all if cb.persona_features else []):
        if c in usage:
            labels[c] = f"uses {usage[c]}"
            continue
        spec = cb.columns.get(c)
        if spec is not None and spec.label and len(spec.label) <= 30:
            labels[c] = spec.label
            continue
        text = re.sub(r"^(att|use|q|pf)_", "", c)
        text = re.sub(r"_?(365d|12m|6m|30d|90d)$", "", text)
        text = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", text).replace("_", " ").strip()
        labels[c] = " ".join(w if w.isupper() else w.lower() for w in text.split()) or c
    return labels


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
            desc[name] = {"model": "binary" if complete else "binary_nan"}
        elif name.startswith("ordinal"):
            width = max(len(enc.levels[c]) for c in cols)
            arr = np.zeros((len(codes), len(cols) * width))
            for j, c in enumerate(cols):
                v = codes[c].to_numpy(float)
                ok = ~np.isnan(v)
                arr[np.flatnonzero(ok), j * width + v[ok].astype(int)] = 1.0
                arr[~ok, j * width:(j + 1) * width] = np.nan
            desc[name] = {"model": "categorical" if complete else "categorical_nan", "integer_codes": False,
                          "max_n_outcomes": width, "total_outcomes": sum(len(enc.levels[c]) for c in cols)}
        else:
            arr = cont[cols].to_numpy(float)
            desc[name] = {"model": GAUSSIAN_FULL_NAN, "reg_covar": REG_COVAR}
        desc[name]["n_columns"] = arr.shape[1]
        blocks.append(arr)
    return LCAInput(np.hstack(blocks), desc, enc.standardized(codes, weights), layout)


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


def _stepmix_class():
    """StepMix whose starting partitions are given (`init_labels`, e.g. a previous solution) or
    k-means++ partitions of the standardized features (one per further start, each with its own
    seed), instead of uniform random responsibilities: EM then needs a fraction of the iterations,
    and the starts still differ. Overrides the one initialization hook of StepMix 3.0
    (`_initialize_parameters`; the version is pinned in pyproject)."""
    from stepmix.stepmix import StepMix

    _register_gaussian_full_nan()

    class _StepMix(StepMix):
        """`starts` (standardized features) and `init_labels` are set as attributes after construction,
        so that scikit-learn's parameter introspection sees StepMix's own signature."""

        starts = None
        init_labels = ()

        def fit(self, X, Y=None, sample_weight=None, y=None):
            self._start = 0
            return super().fit(X, Y, sample_weight=sample_weight, y=y)

        def _initialize_parameters(self, X, random_state):
            if self.starts is None:
                return super()._initialize_parameters(X, random_state)
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

    return _StepMix


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


@_single_threaded
def fit_lca(data: LCAInput, k: int, weights: np.ndarray, n_init: int = 3, seed: int = 0,
            tol: float = 1e-6, max_iter: int = 500, init_labels: tuple = ()) -> LCAFit:
    """Fit a k-class model by EM from `n_init` starts (the partitions in `init_labels` first, then
    k-means++ partitions); the best likelihood wins. Weights are normalised to sum to n."""
    n = len(weights)
    w = np.asarray(weights, float) * n / np.sum(weights)
    model = _stepmix_class()(k, measurement=data.descriptor, n_init=max(n_init, len(init_labels)),
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


def _subset(data: LCAInput, rows: np.ndarray) -> LCAInput:
    return LCAInput(data.X[rows], data.descriptor, data.Z[rows], data.layout)


def posterior(fit: LCAFit, data: LCAInput) -> np.ndarray:
    """Class membership probabilities of (new) respondents under a fitted model. A block fitted
    without missing values is evaluated by its missing-value twin (same parameters) when the new
    data have gaps there."""
    model = fit.model
    if np.isnan(data.X).any():
        import copy

        from stepmix.emission.build_emission import EMISSION_DICT

        twin = copy.deepcopy(model)
        for name, spec in data.descriptor.items():
            if spec["model"] in ("binary", "categorical"):
                old = twin._mm.models[name]
                new = EMISSION_DICT[spec["model"] + "_nan"](n_components=fit.k, random_state=None,
                                                             **{k: v for k, v in spec.items()
                                                                if k not in ("model", "n_columns")})
                new.set_parameters(old.get_parameters())
                twin._mm.models[name] = new
        twin._force_all_finite_mm = "allow-nan"  # StepMix's input check, set in fit from the descriptor
        model = twin
    return model.predict_proba(data.X)


@_single_threaded
def bootstrap_stability(data: LCAInput, full: LCAFit, weights: np.ndarray, reps: int, seed: int,
                        tol: float = 1e-4) -> np.ndarray:
    """ARI between the full-sample classification and the classification of the same respondents by
    a k-class model refitted on each of `reps` bootstrap resamples (rows drawn with replacement,
    keeping their weights; seeded by (seed, k, rep)). Each refit starts twice — from the full-sample
    partition and from a fresh k-means++ partition — and keeps the better likelihood, so that a
    resample which favours a different solution is found, while a start that merely fails to find
    the optimum is not mistaken for instability."""
    n = len(weights)
    out = np.empty(reps)
    for r in range(reps):
        rng = np.random.default_rng([seed, full.k, r])
        rows = rng.integers(0, n, n)
        refit = fit_lca(_subset(data, rows), full.k, weights[rows], n_init=2, seed=int(rng.integers(2**31 - 1)),
                        tol=tol, init_labels=(full.labels[rows],))
        out[r] = adjusted_rand_score(full.labels, refit.model.predict(data.X))
    return out


@_single_threaded
def kmeans_labels(Z: np.ndarray, k: int, weights: np.ndarray, seed: int, n_init: int = 10) -> np.ndarray:
    """k-means on the standardized features (missing values at the weighted mean), survey-weighted."""
    if k == 1:
        return np.zeros(len(Z), dtype=int)
    return KMeans(k, n_init=n_init, random_state=seed).fit_predict(Z, sample_weight=weights)


def selection_rule_text(min_share: float, min_stability: float, min_entropy: float) -> str:
    return (f"A number of personas k is admissible when its smallest persona holds at least {min_share:.0%} "
            f"of the weighted sample, its bootstrap stability (mean adjusted Rand index of refitted "
            f"solutions) is at least {min_stability:.2f} and its relative entropy (how clearly customers "
            f"are classified) is at least {min_entropy:.2f}; k = 1 is always admissible. The chosen k is "
            f"the admissible k with the lowest BIC.")


def choose_k(table: pd.DataFrame, min_share: float, min_stability: float, min_entropy: float,
             stability=None) -> tuple[int, pd.DataFrame]:
    """Apply the rule (see `selection_rule_text`) to the k-selection table (columns k, bic, min_share,
    relative_entropy, stability). Stability that is still missing (NaN) is computed on demand by
    `stability(k) -> array of ARIs`, only for the k the rule has to check: candidates are taken in
    order of BIC, so the stability of a k whose BIC is above the chosen one's never changes the
    decision. Adds `admissible` (True / False / None when not checked), `verdict` and `chosen`."""
    table = table.copy().reset_index(drop=True)
    for col in ("stability", "stability_p10"):
        if col not in table:
            table[col] = np.nan

    def failures(row) -> list[str]:
        why = []
        if row["k"] > 1:
            if row["min_share"] < min_share:
                why.append(f"smallest persona {row['min_share']:.1%} < {min_share:.0%}")
            if row["relative_entropy"] < min_entropy:
                why.append(f"entropy {row['relative_entropy']:.2f} < {min_entropy:.2f}")
            if np.isfinite(row["stability"]) and row["stability"] < min_stability:
                why.append(f"stability {row['stability']:.2f} < {min_stability:.2f}")
        return why

    chosen = None
    for i in table.sort_values(["bic", "k"]).index:
        row = table.loc[i]
        if failures(row):
            continue
        if row["k"] > 1 and not np.isfinite(row["stability"]) and np.isfinite(min_stability):
            if stability is None:
                continue
            aris = np.asarray(stability(int(row["k"])), float)
            table.loc[i, ["stability", "stability_p10"]] = [aris.mean(), np.quantile(aris, 0.1)]
            if failures(table.loc[i]):
                continue
        chosen = int(row["k"])
        break
    chosen = 1 if chosen is None else chosen
    bic_chosen = float(table.loc[table["k"] == chosen, "bic"].iloc[0])
    admissible, verdicts = [], []
    for _, row in table.iterrows():
        why = failures(row)
        unchecked = row["k"] > 1 and not np.isfinite(row["stability"]) and np.isfinite(min_stability)
        if row["k"] == chosen:
            admissible.append(True)
            verdicts.append("chosen")
        elif why:
            admissible.append(False)
            verdicts.append("fails: " + "; ".join(why))
        elif unchecked:
            admissible.append(None)
            verdicts.append("stability not needed: BIC above the chosen k's" if row["bic"] > bic_chosen
                            else "stability not computed")
        else:
            admissible.append(True)
            verdicts.append("admissible, higher BIC")
    table["admissible"] = admissible
    table["verdict"] = verdicts
    table["chosen"] = table["k"] == chosen
    return chosen, table


# -------------------------------------------------------------------------------- profiles


def natural_values(df: pd.DataFrame, enc: FeatureEncoder, codes: pd.DataFrame | None = None) -> pd.DataFrame:
    """Features on the scale a reader knows: binary 0/1, ordinal level number 1…L (the answer itself
    when the levels are numbers), continuous as recorded."""
    codes = enc.codes(df) if codes is None else codes
    out = {}
    for c in enc.binary:
        out[c] = codes[c]
    for c in enc.ordinal:
        levels = enc.levels[c]
        try:
            values = np.array([float(v) for v in levels])
        except ValueError:
            values = np.arange(1, len(levels) + 1, dtype=float)
        idx = codes[c].to_numpy(float)
        out[c] = np.where(np.isnan(idx), np.nan, values[np.nan_to_num(idx).astype(int)])
    for c in enc.continuous:
        out[c] = pd.to_numeric(df[c], errors="coerce").to_numpy(float)
    return pd.DataFrame(out, index=df.index)


def _weighted_mean_ignore_nan(x: np.ndarray, w: np.ndarray) -> float:
    ok = ~np.isnan(x)
    return float(np.average(x[ok], weights=w[ok])) if ok.any() and w[ok].sum() > 0 else np.nan


def profile_table(values: pd.DataFrame, labels: np.ndarray, weights: np.ndarray, numbers: list[int],
                  enc: FeatureEncoder) -> pd.DataFrame:
    """One row per feature × persona: weighted mean, overall mean, index (persona ÷ overall × 100)
    and the standardized difference (persona − overall) ÷ overall SD."""
    rows = []
    for c in values.columns:
        x = values[c].to_numpy(float)
        overall, sd = _weighted_moments(x, weights)
        for p in numbers:
            m = labels == p
            mean = _weighted_mean_ignore_nan(x[m], weights[m])
            rows.append({"feature": c, "label": enc.labels.get(c, c), "kind": enc.kind(c), "persona": p,
                         "mean": mean, "overall": overall,
                         "index": 100 * mean / overall if overall > 0 else np.nan,
                         "std_diff": (mean - overall) / sd if sd > 0 else 0.0})
    return pd.DataFrame(rows)


def profile_vectors(profile: pd.DataFrame) -> dict[int, dict[str, float]]:
    return {int(p): dict(zip(g["feature"], g["mean"])) for p, g in profile.groupby("persona")}


def generate_names(profile: pd.DataFrame, numbers: list[int], threshold: float = 0.3) -> dict[int, str]:
    """A short descriptive name per persona from its most distinctive features: the two largest
    positive standardized differences and the largest negative one, each at least `threshold` SD.
    Channels a persona over-uses read "App & social users", other yes/no items by their label, other
    high features "high price"; low ones "low store use", "not senior citizen", "low tenure".
    Deterministic; duplicate names get the persona number appended."""
    if len(numbers) == 1:
        return {numbers[0]: "All customers"}

    def channel(r) -> bool:
        return r["kind"] == "binary" and r["label"].startswith("uses ")

    names = {}
    for p in numbers:
        g = profile[profile["persona"] == p].sort_values(["std_diff", "feature"], ascending=[False, True])
        highs = g[g["std_diff"] >= threshold].head(2)
        lows = g[g["std_diff"] <= -threshold].sort_values(["std_diff", "feature"]).head(1)
        users = [r["label"][5:] for _, r in highs.iterrows() if channel(r)]
        yes = [r["label"] for _, r in highs.iterrows() if r["kind"] == "binary" and not channel(r)]
        high = [r["label"] for _, r in highs.iterrows() if r["kind"] != "binary"]
        text = []
        if users:
            text.append(" & ".join(users) + " users")
        text += yes
        if high:
            text.append("high " + " & ".join(high))
        for _, r in lows.iterrows():
            text.append(f"low {r['label'][5:]} use" if channel(r) else f"not {r['label']}" if r["kind"] == "binary"
                        else f"low {r['label']}")
        name = ", ".join(text) or "Average profile"
        names[p] = name[0].upper() + name[1:]
    counts = pd.Series(list(names.values())).value_counts()
    return {p: (f"{n} ({p})" if counts[n] > 1 else n) for p, n in names.items()}


def distinguishing_features(profile: pd.DataFrame, threshold: float = 0.5, top: int = 5) -> pd.DataFrame:
    """Per persona, the features furthest from the average (|standardized difference| ≥ threshold)."""
    big = profile[profile["std_diff"].abs() >= threshold]
    big = big.assign(size=big["std_diff"].abs()).sort_values(["persona", "size"], ascending=[True, False])
    return big.groupby("persona").head(top).drop(columns="size").reset_index(drop=True)


# -------------------------------------------------------------------------- stable numbering


def order_by_size(shares: np.ndarray, profile_means: np.ndarray) -> np.ndarray:
    """Class order: weighted share descending, ties broken by the class profile (lexicographic)."""
    keys = [(-round(float(s), 6), *np.round(profile_means[c], 6)) for c, s in enumerate(shares)]
    return np.array(sorted(range(len(shares)), key=lambda c: keys[c]))


def match_previous(current: dict[int, dict[str, float]], previous: dict[int, dict[str, float]],
                   scale: dict[str, float]) -> tuple[dict[int, int], pd.DataFrame]:
    """Match current personas to a previous wave's by the Hungarian algorithm on the root-mean-square
    standardized distance between profiles (features both waves share, each divided by its overall
    SD in the current wave). Returns current number -> previous number for the matched personas,
    and the cost table."""
    feats = sorted(set.intersection(*(set(v) for v in [*current.values(), *previous.values()])))
    feats = [f for f in feats if scale.get(f, 0) > 0]
    if not feats:
        return {}, pd.DataFrame()
    cur, prev = sorted(current), sorted(previous)
    A = np.array([[current[c][f] / scale[f] for f in feats] for c in cur])
    B = np.array([[previous[p][f] / scale[f] for f in feats] for p in prev])
    cost = np.sqrt(((A[:, None, :] - B[None, :, :]) ** 2).mean(axis=2))
    rows, cols = linear_sum_assignment(cost)
    mapping = {cur[i]: prev[j] for i, j in zip(rows, cols)}
    table = pd.DataFrame([{"persona_now": cur[i], "previous_persona": prev[j], "distance": cost[i, j]}
                          for i, j in zip(rows, cols)])
    return mapping, table


# ---------------------------------------------------------------------------------- the study


@dataclass
class PersonaSolution:
    """Everything the persona sections show and record. `skipped` holds the reason when the codebook
    declares no usable persona features."""

    cb: Codebook
    skipped: str | None = None
    df: pd.DataFrame | None = None  # the rows that were classified
    design: object = None
    weights: np.ndarray | None = None
    enc: FeatureEncoder | None = None
    codes: pd.DataFrame | None = None
    values: pd.DataFrame | None = None
    table: pd.DataFrame | None = None
    k: int = 0
    fit: LCAFit | None = None
    labels: np.ndarray | None = None  # persona number of each classified respondent
    class_numbers: np.ndarray | None = None  # persona number of each latent class of `fit`
    layout: dict = field(default_factory=dict)  # blocks of the model's input (see `lca_input`)
    numbers: list[int] = field(default_factory=list)
    names: dict[int, str] = field(default_factory=dict)
    generated_names: dict[int, str] = field(default_factory=dict)
    profile: pd.DataFrame | None = None
    sizes: pd.DataFrame | None = None
    kmeans_ari: float | None = None
    stability: float | None = None
    rule: str = ""
    notes: list[str] = field(default_factory=list)
    matching: pd.DataFrame | None = None
    params: dict = field(default_factory=dict)
    n_all: int = 0

    @property
    def id_column(self) -> str:
        return self.cb.id_column

    def name(self, p: int) -> str:
        return self.names.get(p, f"Persona {p}")

    def classify(self, df: pd.DataFrame) -> np.ndarray:
        """Persona numbers of (new) respondents under the fitted latent class model (modal
        assignment; all persona questions needed as columns, answers may be missing)."""
        codes = self.enc.codes(df)
        data = lca_input(codes, self.enc, np.ones(len(df)), layout=self.layout)
        return self.class_numbers[posterior(self.fit, data).argmax(axis=1)]


def previous_profiles(previous_results: str | Path | None) -> dict | None:
    """The `personas` section of a previous wave's results.json (None when absent or unusable)."""
    per = (load_previous(previous_results) or {}).get(SECTION, {})
    return per if per.get("profiles") else None


def _usable_features(df: pd.DataFrame, cb: Codebook) -> tuple[PersonaFeatures | None, str | None]:
    pf = cb.persona_features
    if pf is None or not pf.all:
        return None, "the codebook declares no `persona_features` (binary, ordinal or continuous columns)."
    missing = [c for c in pf.all if c not in df.columns]
    if missing:
        return None, f"persona feature column(s) {', '.join(missing)} are not in the data."
    return pf, None


def find_personas(df: pd.DataFrame, cb: Codebook, design=None, *, max_personas: int = ARTICLES_MAX,
                  min_share: float = 0.05, min_stability: float = 0.75, min_entropy: float = 0.6,
                  n_init: int = 3, bootstrap_reps: int = 10, stability_all: bool = False, seed: int = 0,
                  persona_names: list[str] | None = None, previous: dict | None = None,
                  max_fit_n: int | None = 20_000) -> PersonaSolution:
    """Fit k = 1 … max_personas latent class models, choose k by the rule, number and name the personas.

    Bootstrap stability is computed for the k the rule has to check (see `choose_k`), or for every k
    with `stability_all`. With more than `max_fit_n` respondents the models are fitted on a seeded
    random subsample of that size (the estimates are already precise there) and everyone is
    classified by the chosen model. `previous` is a previous wave's `personas` results section (see
    `previous_profiles`): personas are then matched to it and keep its numbers and names.
    `persona_names` overrides the names, in persona-number order."""
    from .prepare import design_for
    from .survey_stats import Design

    _, reason = _usable_features(df, cb)
    if reason:
        return PersonaSolution(cb=cb, skipped=reason)
    if max_personas < 1:
        raise ValueError(f"max_personas must be at least 1, got {max_personas}")
    sol = PersonaSolution(cb=cb, n_all=len(df))
    sol.params = {"max_personas": max_personas, "min_share": min_share, "min_stability": min_stability,
                  "min_entropy": min_entropy, "n_init": n_init, "bootstrap_reps": bootstrap_reps,
                  "stability_all": stability_all, "seed": seed, "max_fit_n": max_fit_n}
    if max_personas > ARTICLES_MAX:
        sol.notes.append(f"**More than four personas allowed.** max_personas = {max_personas} is above the "
                         f"articles' rule of at most {ARTICLES_MAX} personas, which keeps a cross-channel "
                         "strategy focused; solutions above four are shown for comparison.")
    design = design if design is not None else design_for(df, cb)
    pf = cb.persona_features
    answered = df[pf.all].notna().any(axis=1).to_numpy()
    if not answered.all():
        sol.notes.append(f"{int((~answered).sum()):,} respondents answered none of the persona questions and "
                         "are not classified.")
    rows = np.flatnonzero(answered)
    sol.df = df.iloc[rows].reset_index(drop=True)
    full_w = np.asarray(design.weights, float)
    sol.weights = full_w[rows]
    sol.design = design if answered.all() else Design(  # the classified rows, raking kept
        sol.weights, None if design.calibration is None else design.calibration[rows],
        None if design.base_weights is None else design.base_weights[rows])
    sol.enc = FeatureEncoder.fit(sol.df, cb, sol.weights)
    sol.codes = sol.enc.codes(sol.df)
    sol.values = natural_values(sol.df, sol.enc, sol.codes)
    data = lca_input(sol.codes, sol.enc, sol.weights)
    fit_data, fit_w = data, sol.weights
    if max_fit_n and len(rows) > max_fit_n:  # choose and fit on a seeded subsample, classify everyone
        sub = np.sort(np.random.default_rng([seed, len(rows)]).choice(len(rows), max_fit_n, replace=False))
        fit_data, fit_w = _subset(data, sub), sol.weights[sub]
        sol.notes.append(f"The models were fitted on a random subsample of {max_fit_n:,} of the {len(rows):,} "
                         "respondents (seeded; `max_fit_n`); every respondent is then classified by the chosen model.")

    fits, records = {}, []
    for k in range(1, min(max_personas, len(fit_w) - 1) + 1):
        fit = fits[k] = fit_lca(fit_data, k, fit_w, n_init=n_init, seed=seed + k)
        records.append({"k": k, "loglik": fit.loglik, "n_parameters": fit.n_parameters, "bic": fit.bic,
                        "min_share": float(fit.shares.min()), "relative_entropy": fit.relative_entropy,
                        "stability": 1.0 if k == 1 else np.nan, "stability_p10": 1.0 if k == 1 else np.nan})
    table = pd.DataFrame(records)

    def stability(k: int) -> np.ndarray:
        return bootstrap_stability(fit_data, fits[k], fit_w, bootstrap_reps, seed)

    if bootstrap_reps > 0 and stability_all:
        for i, k in enumerate(table["k"]):
            if k > 1:
                aris = stability(int(k))
                table.loc[i, ["stability", "stability_p10"]] = [aris.mean(), np.quantile(aris, 0.1)]
    if bootstrap_reps <= 0:
        sol.notes.append("Bootstrap stability was not computed (bootstrap_reps = 0): the rule uses size and "
                         "entropy only.")
    sol.k, sol.table = choose_k(table, min_share, min_stability if bootstrap_reps > 0 else -np.inf, min_entropy,
                                stability if bootstrap_reps > 0 else None)
    sol.rule = selection_rule_text(min_share, min_stability, min_entropy)
    sol.fit = fits[sol.k]
    sol.stability = float(sol.table.loc[sol.table["k"] == sol.k, "stability"].iloc[0]) if sol.k > 1 else None

    # numbering: by size, or carried over from the previous wave
    classes = sol.fit.labels if fit_data is data else posterior(sol.fit, data).argmax(axis=1)
    class_means = np.array([[_weighted_mean_ignore_nan(sol.values[c].to_numpy(float)[classes == j],
                                                       sol.weights[classes == j]) for c in sol.values.columns]
                            for j in range(sol.k)])
    order = order_by_size(np.bincount(classes, weights=sol.weights, minlength=sol.k), class_means)
    number_of_class = {int(c): i + 1 for i, c in enumerate(order)}
    labels = np.array([number_of_class[int(c)] for c in classes])
    numbers = list(range(1, sol.k + 1))
    profile = profile_table(sol.values, labels, sol.weights, numbers, sol.enc)
    generated = generate_names(profile, numbers)
    if previous and sol.k > 1:
        prev_profiles = {int(p["persona"]): p["means"] for p in previous["profiles"]}
        prev_names = {int(p["persona"]): p["name"] for p in previous["profiles"]}
        scale = {c: _weighted_moments(sol.values[c].to_numpy(float), sol.weights)[1] for c in sol.values.columns}
        mapping, sol.matching = match_previous(profile_vectors(profile), prev_profiles, scale)
        if mapping:
            free = iter(range(max(prev_profiles) + 1, max(prev_profiles) + sol.k + 1))
            renumber = {p: mapping.get(p) or next(free) for p in numbers}
            labels = np.array([renumber[p] for p in labels])
            numbers = sorted(renumber.values())
            generated = {renumber[p]: (prev_names[renumber[p]] if p in mapping else n) for p, n in generated.items()}
            profile = profile.assign(persona=profile["persona"].map(renumber))
            sol.notes.append("Personas are matched to the previous wave's (Hungarian matching on standardized "
                             "profiles) and keep their numbers and names"
                             + ("; personas without a match get new numbers." if len(mapping) < sol.k else "."))
        else:
            sol.notes.append("The previous wave's personas share no features with this wave's; personas are "
                             "numbered by size.")
            number_of_class = {c: renumber[p] for c, p in number_of_class.items()}
    sol.labels, sol.numbers, sol.profile = labels, numbers, profile
    sol.class_numbers = np.array([number_of_class[c] for c in range(sol.k)])
    sol.layout = data.layout
    sol.generated_names = dict(sorted(generated.items()))
    sol.names = dict(sol.generated_names)
    if persona_names:
        for p, name in zip(numbers, persona_names):
            if str(name).strip():
                sol.names[p] = str(name).strip()
        if len(persona_names) != len(numbers):
            sol.notes.append(f"{len(persona_names)} persona name(s) were given for {len(numbers)} personas; "
                             "names were applied in persona order and generated names kept for the rest.")
    if sol.k > 1:
        km = kmeans_labels(fit_data.Z, sol.k, fit_w, seed)
        sol.kmeans_ari = float(adjusted_rand_score(sol.class_numbers[sol.fit.labels], km))
    sol.sizes = persona_sizes(sol)
    return sol


def persona_sizes(sol: PersonaSolution) -> pd.DataFrame:
    """Weighted share of each persona (modal assignment) with its design-based 95% interval (logit,
    as R's svyciprop), the unweighted count, and the model's own class share for comparison."""
    from .survey_stats import weighted_proportion

    rows = []
    model_share = dict(zip(sol.class_numbers.tolist(), sol.fit.model.weights_.tolist()))
    for p in sol.numbers:
        r = weighted_proportion((sol.labels == p).astype(float), sol.design)
        rows.append({"persona": p, "name": sol.name(p), **estimate(r["estimate"], r["ci_low"], r["ci_high"],
                                                                   int(len(sol.labels))),
                     "n_persona": int((sol.labels == p).sum()), "model_share": model_share.get(p, np.nan)})
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------ outputs


def _persona_labels(sol: PersonaSolution) -> dict[int, str]:
    return {p: f"{p}. {sol.name(p)}" for p in sol.numbers}


def _short_labels(sol: PersonaSolution) -> dict[int, str]:
    return {p: f"P{p}" for p in sol.numbers}


def _wrap(text: str, width: int) -> str:
    import textwrap

    return textwrap.fill(str(text), width)


def _skipped_section(sol: PersonaSolution, key: str, title: str):
    from .section import Section

    return Section(key=key, title=title, skipped=sol.skipped)


def choice_chart(table: pd.DataFrame, k: int, rule: dict, n: int) -> plt.Figure:
    """BIC by k (left) and the three admissibility criteria with their thresholds (right)."""
    fig, (a, b) = plt.subplots(1, 2, figsize=(plots.FIG_WIDTH, 3.2), layout="constrained")
    a.plot(table["k"], table["bic"], marker="o", color=plots.PALETTE[0])
    chosen = table[table["k"] == k]
    a.scatter(chosen["k"], chosen["bic"], s=140, facecolors="none", edgecolors=plots.PALETTE[1], lw=2,
              label=f"chosen: k = {k}", zorder=3)
    a.set_xlabel("number of personas k")
    a.set_ylabel("BIC (lower is better)")
    a.set_xticks(table["k"])
    a.legend(fontsize=8, loc="upper right")
    crit = [("min_share", "smallest persona share", rule["min_share"], plots.PALETTE[2]),
            ("stability", "bootstrap stability (ARI)", rule["min_stability"], plots.PALETTE[0]),
            ("relative_entropy", "relative entropy", rule["min_entropy"], plots.PALETTE[3])]
    for col, label, thr, color in crit:
        b.plot(table["k"], table[col], marker="o", color=color, label=label)
        b.axhline(thr, color=color, ls=":", lw=1)
    b.set_ylim(0, 1.05)
    b.set_xticks(table["k"])
    b.set_xlabel("number of personas k")
    b.set_ylabel("criterion (dotted: threshold)")
    b.legend(fontsize=7, loc="lower left")
    plots.finish(a, "How many personas do the data support?", n,
                 "Left: model fit (BIC). Right: the admissibility criteria; k = 1 is always admissible.")
    return fig


def choice_section(sol: PersonaSolution):
    """How many personas: the k-selection table and chart, the rule in words, the verdict, and the
    k-means comparison."""
    from .section import Section

    key, title = "choice", "How many personas"
    if sol.skipped:
        return _skipped_section(sol, key, title)
    s = Section(key, title)
    for note in sol.notes:
        s.note(f"> {note}")
    s.note(f"**Rule.** {sol.rule}")
    n = len(sol.labels)
    t = sol.table
    if sol.k == 1:
        best = t.loc[t["bic"].idxmin()]
        verdict = ("**No persona structure.** The rule chooses k = 1: no solution with two or more personas "
                   "passes the criteria" + (f" (the lowest BIC, k = {int(best['k'])}, {best['verdict']})"
                                            if best["k"] != 1 else "") + ". The customers are best described "
                   "as one group; the persona sections below describe that group as a whole.")
    else:
        verdict = (f"**{sol.k} personas.** The rule chooses k = {sol.k}: smallest persona "
                   f"{t.loc[t['chosen'], 'min_share'].iloc[0]:.0%} of customers, bootstrap stability "
                   f"{sol.stability:.2f}, relative entropy {t.loc[t['chosen'], 'relative_entropy'].iloc[0]:.2f}.")
        if sol.k == int(t["k"].max()) and t["bic"].is_monotonic_decreasing:
            verdict += (f" BIC was still falling at k = {sol.k}, the largest number tried (`max_personas`): "
                        "more personas might fit the data a little better, but the cap keeps the strategy "
                        "focused.")
        if sol.kmeans_ari is not None:
            verdict += (f" k-means on the standardized features, the comparison method, agrees with these "
                        f"personas at adjusted Rand index {sol.kmeans_ari:.2f} (1 = the same grouping).")
    s.note(verdict)
    shown = t[["k", "bic", "min_share", "relative_entropy", "stability", "stability_p10", "verdict"]].rename(columns={"bic": "BIC", "min_share": "smallest share", "relative_entropy": "entropy",
                                          "stability": "stability (mean ARI)", "stability_p10": "stability, 10th pct"})
    s.table("k_selection", shown, "Latent class solutions for k = 1 … "
            f"{int(t['k'].max())}: fit, smallest persona, classification entropy and bootstrap stability "
            f"({sol.params['bootstrap_reps']} resamples)", percent=["smallest share"])
    s.figure("k_selection", choice_chart(t, sol.k, sol.params, n))
    return s


def index_heatmap(sol: PersonaSolution) -> plt.Figure:
    """Index scores (persona mean ÷ overall mean × 100) of every feature, coloured by the
    standardized difference so that small and large features compare."""
    import seaborn as sns

    prof = sol.profile
    labels = _persona_labels(sol)
    feats = list(dict.fromkeys(prof["label"]))
    idx = prof.pivot(index="label", columns="persona", values="index").loc[feats, sol.numbers]
    diff = prof.pivot(index="label", columns="persona", values="std_diff").loc[feats, sol.numbers]
    annot = idx.map(lambda v: "–" if pd.isna(v) else f"{v:.0f}")
    fig, ax = plt.subplots(figsize=(plots.FIG_WIDTH, 0.32 * len(feats) + 1.9), layout="constrained")
    sns.heatmap(diff, annot=annot.to_numpy(), fmt="", cmap=plots.DIVERGING + "_r", vmin=-1.5, vmax=1.5,
                linewidths=0.5, linecolor="white", ax=ax, annot_kws={"fontsize": 8},
                cbar_kws={"label": "standardized difference (SD)", "shrink": 0.8})
    ax.set_xticklabels([_wrap(labels[p], 22) for p in sol.numbers], rotation=0, fontsize=8)
    ax.set_xlabel("")
    ax.set_ylabel("")
    plots.finish(ax, "What sets each persona apart?", len(sol.labels),
                 "Numbers: index = persona mean ÷ all customers' mean × 100 (100 = average). "
                 "Colour: difference in SDs (red above, blue below).")
    return fig


def sizes_chart(sol: PersonaSolution) -> plt.Figure:
    sz = sol.sizes
    fig, ax = plt.subplots(figsize=(plots.FIG_WIDTH, 0.45 * len(sz) + 1.3), layout="constrained")
    plots.bar_with_ci(ax, [_wrap(f"{p}. {nm}", 40) for p, nm in zip(sz["persona"], sz["name"])],
                      sz["estimate"], sz["ci_low"], sz["ci_high"])
    ax.set_xlabel("% of customers (weighted), 95% CI")
    plots.finish(ax, "How big is each persona?", len(sol.labels))
    return fig


def profiles_section(sol: PersonaSolution):
    """Sizes with intervals, index scores of every feature, the distinguishing features and names."""
    from .section import Section

    key, title = "profiles", "The personas"
    if sol.skipped:
        return _skipped_section(sol, key, title)
    s = Section(key, title)
    sz = sol.sizes
    s.table("sizes", sz[["persona", "name", "estimate", "ci_low", "ci_high", "n_persona", "model_share"]].rename(
        columns={"n_persona": "respondents", "model_share": "model share"}),
        f"Persona sizes: weighted share of customers with a design-based 95% interval (base n = {len(sol.labels):,}); "
        "model share = the latent class model's own estimate, which also counts uncertain members",
        percent=["estimate", "ci_low", "ci_high", "model share"])
    s.figure("sizes", sizes_chart(sol))
    if sol.k > 1:
        s.figure("index", index_heatmap(sol))
        dist = distinguishing_features(sol.profile)
        if len(dist):
            dist = dist.assign(name=dist["persona"].map(sol.name))[
                ["persona", "name", "label", "mean", "overall", "index", "std_diff"]]
            s.table("distinguishing", dist.rename(columns={"label": "feature", "mean": "persona mean",
                                                           "overall": "all customers", "std_diff": "difference (SD)"}),
                    "Distinguishing features: at least half a standard deviation from the average "
                    "(binary items: share; ratings: mean score; behaviour: mean)")
        renamed = [p for p in sol.numbers if sol.names[p] != sol.generated_names.get(p)]
        s.note("Names are generated from each persona's most distinctive features"
               + (f" (personas {', '.join(map(str, renamed))} renamed by the analyst)" if renamed else "")
               + "; set the notebook parameter `persona_names` to rename them.")
    return s


# ------------------------------------------------------------------- persona × other measures


@dataclass
class Measure:
    """An experience or loyalty measure compared across personas: `values` per respondent (NaN when
    missing); kind "share" (0/1, shown in %), "mean", or "nps" (100 × (promoter − detractor), whose
    mean is the Net Promoter Score)."""

    key: str
    label: str
    kind: str
    values: np.ndarray

    def fmt(self, v: float) -> str:
        if v is None or not np.isfinite(v):
            return "–"
        return f"{v:.0%}" if self.kind == "share" else f"{v:+.0f}" if self.kind == "nps" else f"{v:.2f}"


def _nps_points(x: np.ndarray) -> np.ndarray:
    return np.where(np.isnan(x), np.nan, 100.0 * ((x >= 9).astype(float) - (x <= 6).astype(float)))


def outcome_measures(df: pd.DataFrame, cb: Codebook) -> list[Measure]:
    """The codebook's `scales` (CES, CSAT, NPS, …: means; NPS as the score) and its loyalty `outcomes`
    (binary: share with the `positive` value; nps: the score; likert, count, continuous: means)."""
    from .metrics import scale_values

    out, used = [], set()
    for name, sc in cb.scales.items():
        if not all(c in df for c in sc.columns):
            continue
        x = pd.to_numeric(scale_values(df, cb, name), errors="coerce").to_numpy(float)
        short = name.upper() if len(name) <= 4 else name.replace("_", " ")
        if name.lower() == "nps" or (sc.min == 0 and sc.max == 10 and "nps" in (sc.label + name).lower()):
            out.append(Measure(name, "NPS (score, −100…100)", "nps", _nps_points(x)))
        else:
            out.append(Measure(name, f"{short} (mean, {sc.min:g}–{sc.max:g})", "mean", x))
        used.update(sc.columns)
    for o in cb.outcomes:
        if o.column in used or o.column not in df:
            continue
        label = o.label or o.name.replace("_", " ")
        raw = df[o.column]
        if o.kind == "binary":
            x = o.binary_values(raw).to_numpy()
            out.append(Measure(o.name, f"{label} (%)", "share", x))
        elif o.kind == "nps":
            out.append(Measure(o.name, f"{label}: NPS", "nps", _nps_points(pd.to_numeric(raw, errors="coerce").to_numpy(float))))
        else:
            out.append(Measure(o.name, f"{label} (mean)", "mean", pd.to_numeric(raw, errors="coerce").to_numpy(float)))
        used.add(o.column)
    return out


def equal_means_test(y: np.ndarray, labels: np.ndarray, groups: list, design) -> dict:
    """Design-based Wald test that the mean of y is equal in every group (k − 1 contrasts against
    the last group, the covariance of the domain means from the design's linearization):
    F = W / (k − 1) on (k − 1, n − 1) degrees of freedom, as R's regTermTest on svyglm."""
    from scipy import stats

    answered = ~np.isnan(y)
    est, scores = zip(*[_domain_means(y, answered & (labels == g), design) for g in groups])
    V = design.covariance(np.column_stack(scores))
    k = len(groups)
    C = np.hstack([np.eye(k - 1), -np.ones((k - 1, 1))])
    diff = C @ np.concatenate(est)
    W = float(diff @ np.linalg.solve(C @ V @ C.T, diff))
    n = int(answered.sum())
    F = W / (k - 1)
    return {"f_statistic": F, "ndf": k - 1, "ddf": n - 1, "p_value": float(stats.f.sf(F, k - 1, n - 1)), "n": n}


def measures_by_persona(sol: PersonaSolution, alpha: float = 0.05, correction: str = "holm") -> pd.DataFrame:
    """Each measure by persona: weighted estimate with its design-based 95% interval (logit for
    shares, Wald for means and NPS) and n; the Wald F test of equality across personas
    (`correction` over the measures); and whether each persona differs from all the others
    (design-based difference, corrected within the measure): "▲" above, "▼" below."""
    from .survey_stats import adjust_pvalues
    from .survey_stats import difference_in_means, weighted_mean, weighted_proportion

    rows, tests = [], []
    for m in outcome_measures(sol.df, sol.cb):
        y = m.values
        if np.isnan(y).all():
            continue
        test = equal_means_test(y, sol.labels, sol.numbers, sol.design) if sol.k > 1 else {}
        tests.append(test.get("p_value", np.nan))
        vs_rest = []
        for p in sol.numbers:
            dom = sol.labels == p
            r = (weighted_proportion(y, sol.design, domain=dom) if m.kind == "share"
                 else weighted_mean(y, sol.design, domain=dom))
            d = difference_in_means(y, dom, True, False, sol.design) if sol.k > 1 else {"p_value": np.nan, "estimate": 0}
            vs_rest.append(d)
            rows.append({"measure": m.label, "key": m.key, "kind": m.kind, "persona": p, "name": sol.name(p),
                         **estimate(r["estimate"], r["ci_low"], r["ci_high"], r["n"]),
                         "diff_vs_rest": d["estimate"], "p_vs_rest": d["p_value"], **{k: test.get(k) for k in
                                                                                      ("f_statistic", "ndf", "ddf", "p_value")}})
        adj = adjust_pvalues([d["p_value"] for d in vs_rest], correction)
        for row, pa in zip(rows[-len(sol.numbers):], adj):
            row["p_vs_rest_adjusted"] = pa
            row["marker"] = ("▲" if row["diff_vs_rest"] > 0 else "▼") if np.isfinite(pa) and pa < alpha else ""
        r = (weighted_proportion(y, sol.design) if m.kind == "share" else weighted_mean(y, sol.design))
        rows.append({"measure": m.label, "key": m.key, "kind": m.kind, "persona": 0, "name": "All customers",
                     **estimate(r["estimate"], r["ci_low"], r["ci_high"], r["n"]), "marker": ""})
    out = pd.DataFrame(rows)
    if len(out) and sol.k > 1:
        adj = dict(zip(out["measure"].unique(), adjust_pvalues(tests, correction)))
        out["p_adjusted"] = out["measure"].map(adj)
        out["significant"] = out["p_adjusted"] < alpha
    return out


def _fmt_cell(kind: str, est: float, lo: float, hi: float) -> str:
    if kind == "share":
        return f"{est:.0%} ({lo:.0%}–{hi:.0%})"
    if kind == "nps":
        return f"{est:+.0f} ({lo:+.0f} to {hi:+.0f})"
    return f"{est:.2f} ({lo:.2f}–{hi:.2f})"


def measures_wide(long: pd.DataFrame) -> pd.DataFrame:
    """One row per measure: each persona's estimate (95% CI) and marker, all customers, test."""
    rows = []
    for measure, g in long.groupby("measure", sort=False):
        row = {"measure": measure}
        for _, r in g.iterrows():
            head = "All customers" if r["persona"] == 0 else f"P{int(r['persona'])}"
            row[head] = _fmt_cell(r["kind"], r["estimate"], r["ci_low"], r["ci_high"]) + (
                f" {r['marker']}" if r.get("marker") else "")
        if "p_adjusted" in g:
            first = g.iloc[0]
            row["F"] = first["f_statistic"]
            row["p (corrected)"] = first["p_adjusted"]
        rows.append(row)
    return pd.DataFrame(rows)


def channel_tables(sol: PersonaSolution, alpha: float = 0.05, correction: str = "holm", stage: str = "purchase"):
    """Channel use (each usage column) and the preferred channel at `stage` by persona: weighted
    crosstabs with the Rao–Scott F test (corrected over the channel measures), Cramér's V and
    column-proportion letters (`crosstabs.crosstab`)."""
    from .crosstabs import crosstab
    from .survey_stats import adjust_pvalues

    ch = sol.cb.channels
    if ch is None or sol.k < 2:
        return None, {}
    data = sol.df.assign(persona=sol.labels)
    labels = _short_labels(sol)
    tabs = {}
    for name, col in ch.usage.items():
        if col in data:
            tabs[f"uses {name}"] = crosstab(data, col, "persona", sol.design, alpha, row_labels={1: "used", 0: "not used"},
                                            column_labels=labels)
    if stage in ch.stages and ch.stages[stage] in data and ch.codes:
        tabs[f"preferred {stage} channel"] = crosstab(data, ch.stages[stage], "persona", sol.design, alpha,
                                                      row_labels=ch.codes, column_labels=labels, collapse_sparse=True)
    if not tabs:
        return None, {}
    adj = adjust_pvalues([t.test["p_value"] for t in tabs.values()], correction)
    tests = pd.DataFrame([{"measure": m, "f_statistic": t.test["f_statistic"], "ndf": t.test["ndf"], "ddf": t.test["ddf"],
                           "p_value": t.test["p_value"], "p_adjusted": p, "significant": bool(p < alpha),
                           "cramers_v": t.test["weighted_cramers_v"], "n": t.test["n"]}
                          for (m, t), p in zip(tabs.items(), adj)])
    return tests, tabs


def cross_section(sol: PersonaSolution, alpha: float = 0.05, correction: str = "holm", stage: str = "purchase"):
    """Personas × the other studies: channel use and preference, experience and loyalty by persona."""
    from . import heatmaps as channel_charts
    from .section import Section

    key, title = "by_persona", "Channels, experience and loyalty by persona"
    if sol.skipped:
        return _skipped_section(sol, key, title)
    s = Section(key, title)
    if sol.k < 2:
        s.note("With a single persona there is nothing to compare across personas.")
        return s
    legend = "; ".join(f"P{p} = {sol.name(p)}" for p in sol.numbers)
    s.note(f"Personas: {legend}.")
    tests, tabs = channel_tables(sol, alpha, correction, stage)
    if tests is not None:
        usage = [m for m in tabs if m.startswith("uses ")]
        if usage:
            cells = pd.concat([tabs[m].cells.query("row == 'used'").assign(row=m[5:]) for m in usage])
            s.figure("channel_heatmap", channel_charts.segment_heatmap(
                cells.assign(column=[f"{c} ({l})" for c, l in zip(cells["column"], cells["letter"])],
                             share=cells["proportion"], letters=cells["higher_than"]),
                "Which channels does each persona use?", len(sol.labels),
                f"Weighted % using the channel; letters: significantly higher than that persona "
                f"(z-test, Bonferroni, α = {alpha:g})."))
        pref = [m for m in tabs if m.startswith("preferred")]
        for m in pref:
            tab = tabs[m]
            s.table("preference", tab.banner().rename(columns={tab.row: m}),
                    f"{m.capitalize()} by persona: weighted column % with column-proportion letters")
        s.table("channel_tests", tests[["measure", "f_statistic", "ndf", "ddf", "p_value", "p_adjusted", "cramers_v", "n"]],
                f"Do the personas differ in channel use? Rao–Scott F tests ({correction.capitalize()}-corrected over "
                f"{len(tests)} tests) and Cramér's V of the weighted tables")
    long = measures_by_persona(sol, alpha, correction)
    if len(long):
        s.table("measures", measures_wide(long),
                "Experience and loyalty by persona: weighted estimate (95% CI); ▲/▼ significantly above/below the "
                f"other personas (design-based difference, {correction.capitalize()}-corrected within the measure); "
                f"F = design-based Wald test that all personas are equal ({correction.capitalize()}-corrected over "
                "the measures)")
    else:
        s.note("The codebook declares no scales or loyalty outcomes to compare across personas.")
    s.results = {"channel_tests": [] if tests is None else tests.to_dict(orient="records"),
                 "measures": long.to_dict(orient="records") if len(long) else []}
    return s


# ----------------------------------------------------------------------------------- cards


def _segment_shares(sol: PersonaSolution, mask: np.ndarray) -> list[tuple[str, str, float, float]]:
    """(segment label, level label, persona share, overall share) for the codebook's segments."""
    out = []
    w = sol.weights
    for seg in sol.cb.segments:
        if seg.column not in sol.df:
            continue
        x = sol.df[seg.column]
        keys = x.map(lambda v: None if pd.isna(v) else code_key(v))
        labels = {code_key(k): v for k, v in (seg.labels or {}).items()}
        levels = list(labels) if labels else sorted(keys.dropna().unique())
        ok = keys.notna().to_numpy()
        for lv in levels:
            hit = (keys == lv).to_numpy()
            out.append((seg.label or seg.column, str(labels.get(lv, lv)),
                        float(w[hit & mask].sum() / w[ok & mask].sum()) if (ok & mask).any() else np.nan,
                        float(w[hit].sum() / w[ok].sum())))
    return out


def persona_card(sol: PersonaSolution, p: int, measures: list[Measure] | None = None) -> plt.Figure:
    """One page per persona: size, what sets it apart, key channels, experience and loyalty against all
    customers, and who they are (segments). 7 × 9 in, fits an A4 or Letter page."""
    measures = outcome_measures(sol.df, sol.cb) if measures is None else measures
    mask = sol.labels == p
    w = sol.weights
    size = sol.sizes.set_index("persona").loc[p]
    fig = plt.figure(figsize=(plots.FIG_WIDTH, 9.0), layout="constrained")
    grid = fig.add_gridspec(3, 2, height_ratios=[0.9, 3.2, 3.4], width_ratios=[1, 1])
    head = fig.add_subplot(grid[0, :])
    head.axis("off")
    head.text(0, 0.95, f"Persona {p}: {sol.name(p)}", fontsize=14, fontweight="bold", va="top", color=plots.PALETTE[0])
    head.text(0, 0.5, f"{size['estimate']:.0%} of customers (95% CI {size['ci_low']:.0%}–{size['ci_high']:.0%}); "
                      f"{int(size['n_persona']):,} of {len(sol.labels):,} respondents", fontsize=10, va="top")
    top = distinguishing_features(sol.profile[sol.profile["persona"] == p], threshold=0.3, top=3)
    if len(top):
        head.text(0, 0.15, "Sets them apart: " + "; ".join(
            f"{r['label']} (index {r['index']:.0f})" if np.isfinite(r["index"]) else r["label"]
            for _, r in top.iterrows()), fontsize=9, va="top", color="#444444")

    def bars(ax, labels, persona, overall, color, xlabel, title):
        pos = np.arange(len(labels))
        ax.barh(pos, np.asarray(persona) * 100, height=0.65, color=color, label=f"persona {p}")
        ax.scatter(np.asarray(overall) * 100, pos, marker="|", s=140, color=plots.PALETTE[1], zorder=3,
                   label="all customers")
        ax.set_yticks(pos, [_wrap(lbl, 26) for lbl in labels], fontsize=7.5)
        ax.set_ylim(max(len(labels), 5) - 0.5, -0.5)  # a few bars stay bars, not slabs
        ax.set_xlim(0, 100)
        ax.set_xlabel(xlabel, fontsize=8)
        ax.tick_params(axis="x", labelsize=8)
        ax.legend(fontsize=7, loc="lower right")
        ax.set_title(title, fontsize=10)

    # key channels (or the binary features when the codebook has no channels)
    ax = fig.add_subplot(grid[1, 0])
    usage = {ch: col for ch, col in (sol.cb.channels.usage.items() if sol.cb.channels else []) if col in sol.df}
    items = usage or {sol.enc.labels.get(c, c): c for c in sol.enc.binary}
    if items:
        vals = np.array([[_weighted_mean_ignore_nan(_binary_values(sol.df[c], c)[sel], w[sel])
                          for sel in (mask, np.ones_like(mask))] for c in items.values()])
        bars(ax, list(items), vals[:, 0], vals[:, 1], plots.PALETTE[0], "% using (weighted)",
             "Key channels" if usage else "Yes/no items")
    else:
        ax.axis("off")

    # index scores of the most distinctive features
    ax = fig.add_subplot(grid[1, 1])
    prof = sol.profile[sol.profile["persona"] == p]
    prof = prof.assign(size=prof["std_diff"].abs()).sort_values("size", ascending=False).head(8)
    if sol.k > 1 and len(prof):
        pos = np.arange(len(prof))
        colors = [plots.PALETTE[3] if d > 0 else plots.PALETTE[0] for d in prof["std_diff"]]
        ax.barh(pos, prof["std_diff"], height=0.65, color=colors)
        ax.axvline(0, color="#555555", lw=0.8)
        ax.set_yticks(pos, [_wrap(lbl, 22) for lbl in prof["label"]], fontsize=7.5)
        ax.set_ylim(max(len(prof), 5) - 0.5, -0.5)
        lim = 1.35 * max(prof["std_diff"].abs().max(), 0.5)
        ax.set_xlim(-lim, lim)
        for y, (d, i) in enumerate(zip(prof["std_diff"], prof["index"])):
            if np.isfinite(i):
                ax.text(d, y, f" {i:.0f} ", va="center", ha="left" if d >= 0 else "right", fontsize=7)
        ax.set_xlabel("difference from average (SD); label: index", fontsize=8)
        ax.tick_params(axis="x", labelsize=8)
        ax.set_title("Most distinctive features", fontsize=10)
    else:
        ax.axis("off")

    # experience and loyalty: a small text table
    ax = fig.add_subplot(grid[2, 0])
    ax.axis("off")
    ax.set_title("Experience and loyalty", fontsize=10)
    rows = [(m.label, m.fmt(_weighted_mean_ignore_nan(m.values[mask], w[mask])), m.fmt(_weighted_mean_ignore_nan(m.values, w)))
            for m in measures if (~np.isnan(m.values)).any()]
    if rows:
        y = 0.97
        for text, x in ((f"persona {p}", 0.80), ("all", 0.99)):
            ax.text(x, y, text, ha="right", va="top", fontsize=8, fontweight="bold", transform=ax.transAxes)
        for label, mine, everyone in rows:
            y -= 0.075
            wrapped = _wrap(label, 24)
            ax.text(0.0, y, wrapped, ha="left", va="top", fontsize=8, transform=ax.transAxes)
            ax.text(0.80, y, mine, ha="right", va="top", fontsize=8, transform=ax.transAxes)
            ax.text(0.99, y, everyone, ha="right", va="top", fontsize=8, color="#555555", transform=ax.transAxes)
            y -= 0.045 * wrapped.count("\n")
    else:
        ax.text(0.0, 0.9, "The codebook declares no experience or loyalty measures.", fontsize=8,
                transform=ax.transAxes)

    # who they are
    ax = fig.add_subplot(grid[2, 1])
    segs = _segment_shares(sol, mask)
    if segs:
        bars(ax, [f"{s}: {lv}" for s, lv, _, _ in segs], [x[2] for x in segs], [x[3] for x in segs],
             plots.PALETTE[2], "% of the persona (weighted)", "Who they are")
    else:
        ax.axis("off")
    fig.text(0.01, -0.01, f"Base: n = {len(sol.labels):,} respondents; persona {p}: n = {int(mask.sum()):,}. "
                          "Weighted to the population.", fontsize=8, color="#555555", ha="left", va="top")
    return fig


def cards_section(sol: PersonaSolution):
    from .section import Section

    key, title = "cards", "Persona cards"
    if sol.skipped:
        return _skipped_section(sol, key, title)
    s = Section(key, title)
    measures = outcome_measures(sol.df, sol.cb)
    for p in sol.numbers:
        s.figure(f"card_{p}", persona_card(sol, p, measures))
    return s


# ------------------------------------------------------------------------------ typing tool


def accuracy_chart(curve: pd.DataFrame, chosen: int, chance: float, n: int) -> plt.Figure:
    fig, ax = plt.subplots(figsize=(plots.FIG_WIDTH, 3.4), layout="constrained")
    acc = curve["accuracy"] * 100
    ax.errorbar(curve["questions"], acc, yerr=[acc - curve["ci_low"] * 100, curve["ci_high"] * 100 - acc],
                marker="o", color=plots.PALETTE[0], capsize=3, label="cross-validated accuracy (95% CI)")
    ax.scatter([chosen], [curve.loc[curve["questions"] == chosen, "accuracy"].iloc[0] * 100], s=160,
               facecolors="none", edgecolors=plots.PALETTE[1], lw=2, zorder=3, label=f"tool: {chosen} questions")
    ax.axhline(chance * 100, color="#888888", ls=":", lw=1, label="largest persona (guessing)")
    ax.set_xticks(curve["questions"])
    ax.set_xlabel("number of questions (added in the order of the table below)")
    ax.set_ylabel("% typed into the model's persona")
    ax.set_ylim(max(0, chance * 100 - 10), 100)
    ax.legend(fontsize=8, loc="lower right")
    plots.finish(ax, "How many questions does the typing tool need?", n)
    return fig


def typing_section(sol: PersonaSolution, output_dir: str | Path, max_questions: int = 8, cv_folds: int = 5,
                   seed: int = 0):
    """Build, cross-validate and save the typing tool (`output_dir/typing_tool.json`)."""
    from .section import Section
    from .typing_tool import build_typing_tool

    key, title = "typing_tool", "Typing tool: assigning new customers to a persona"
    if sol.skipped:
        return _skipped_section(sol, key, title)
    s = Section(key, title)
    if sol.k < 2:
        s.note("With a single persona every customer belongs to it; no typing tool is needed.")
        s.results = {"typing_tool": None}
        return s
    if max_questions > 8:
        s.note(f"> max_questions = {max_questions}: a typing tool is meant to be short; the articles' practice "
               "and this study's default is at most eight questions.")
    tool, curve, confusion = build_typing_tool(sol.codes, sol.enc, sol.labels, sol.weights, sol.names,
                                               sol.id_column, max_questions, cv_folds, seed)
    path = tool.save(Path(output_dir) / TYPING_TOOL_FILE)
    acc = tool.accuracy
    s.note(f"With **{acc['questions']} question{'s' if acc['questions'] != 1 else ''}** the tool puts "
           f"**{acc['cv_accuracy']:.0%}** of customers (95% CI {acc['ci_low']:.0%}–{acc['ci_high']:.0%}, "
           f"{acc['folds']}-fold cross-validation, n = {acc['n']:,}) into the persona the full model gives them; "
           f"guessing the largest persona would be right for {acc['chance']:.0%}. Questions enter in order of how "
           "much they separate the personas (stepwise discriminant analysis, Wilks' lambda); the tool keeps the "
           f"fewest questions within {100 * 0.01:.0f} point of the best accuracy. Saved as `{path.name}` beside "
           "the report; `engagement assign --typing-tool typing_tool.json --data NEW.csv` types a new file.")
    s.figure("accuracy", accuracy_chart(curve, acc["questions"], acc["chance"], acc["n"]))
    qs = pd.DataFrame({"order": range(1, len(tool.questions) + 1), "question": tool.questions,
                       "label": [sol.enc.labels.get(q, q) for q in tool.questions],
                       "kind": [sol.enc.kind(q) for q in tool.questions],
                       "accuracy with this and earlier questions": curve["accuracy"].iloc[:len(tool.questions)].to_numpy()})
    s.table("questions", qs, "The typing tool's questions", percent=["accuracy with this and earlier questions"])
    rowpct = confusion.div(confusion.sum(axis=1), axis=0)
    rowpct.index = [f"{p}. {sol.name(p)}" for p in rowpct.index]
    rowpct.columns = [f"typed P{c}" for c in rowpct.columns]
    s.table("confusion", rowpct.reset_index(names="persona (model)"),
            "Where the tool errs: share of each persona typed into each persona (cross-validated, row %)",
            percent=list(rowpct.columns))
    s.results = {"typing_tool_accuracy": acc["cv_accuracy"], "typing_tool": {
        **acc, "file": path.name, "questions_used": tool.questions, "curve": curve.to_dict(orient="records")}}
    return s


# ------------------------------------------------------------------------------- recording


def save_assignments(sol: PersonaSolution, output_dir: str | Path) -> Path | None:
    """`output_dir/personas.parquet`: the id column, `persona` (int) and `persona_name`, one row per
    classified respondent — what the loyalty study joins on. Nothing else (no PII)."""
    if sol.skipped:
        return None
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    table = pd.DataFrame({sol.id_column: sol.df[sol.id_column].to_numpy(), "persona": sol.labels.astype("int64"),
                          "persona_name": [sol.name(p) for p in sol.labels]})
    path = out / PERSONA_FILE
    tmp = path.with_suffix(".tmp")
    table.to_parquet(tmp, index=False)
    tmp.replace(path)
    return path


def collect(sol: PersonaSolution, *sections) -> dict:
    """The `personas` section of results.json."""
    if sol.skipped:
        return {"section": "Personas", "skipped": True, "reason": sol.skipped}
    sizes = [{"persona": int(r["persona"]), "name": r["name"], **estimate(r["estimate"], r["ci_low"], r["ci_high"], r["n"]),
              "n_persona": int(r["n_persona"]), "model_share": r["model_share"]} for _, r in sol.sizes.iterrows()]
    scale = {c: _weighted_moments(sol.values[c].to_numpy(float), sol.weights)[1] for c in sol.values.columns}
    out = {
        "k": sol.k,
        "sizes": sizes,
        "names": {str(p): sol.name(p) for p in sol.numbers},
        "stability": sol.stability,
        "typing_tool_accuracy": None,
        "k_selection": sol.table.to_dict(orient="records"),
        "rule": sol.rule,
        "method": "latent class model (StepMix 3.0, EM, survey weights): Bernoulli / categorical / full-covariance "
                  "Gaussian indicators, missing values by full-information likelihood",
        "parameters": sol.params,
        "kmeans_ari": sol.kmeans_ari,
        "n": int(len(sol.labels)),
        "n_unclassified": int(sol.n_all - len(sol.labels)),
        "features": sol.enc.to_dict(),
        "profiles": [{"persona": p, "name": sol.name(p), "share": float(sol.sizes.set_index("persona").loc[p, "estimate"]),
                      "means": profile_vectors(sol.profile)[p]} for p in sol.numbers],
        "feature_sd": scale,
        "index_scores": sol.profile.to_dict(orient="records"),
        "matched_to_previous": None if sol.matching is None else sol.matching.to_dict(orient="records"),
        "notes": sol.notes,
    }
    for s in sections:
        if not getattr(s, "skipped", None):
            out.update(s.results)
    return out
