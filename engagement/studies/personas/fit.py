"""Fitting the personas: k = 1 … max_personas latent class models, the rule that chooses k, stable
numbering and names. `fit_personas` returns a frozen `PersonaFit` that every other verb reads.

* **Model.** See `lca` (StepMix latent class model, full-information likelihood). Every k is fitted
  from `n_init` starts; the best likelihood wins. Above `max_fit_n` respondents the models are fitted
  on a seeded subsample and everyone is classified by the chosen model.
* **Choosing k.** See `selection`: a k is admissible when its smallest persona, its bootstrap
  stability and its relative entropy pass their thresholds (k = 1 always is); the admissible k with
  the lowest BIC wins. Choosing k = 1 means the data show no persona structure.
* **Stable labels.** Personas are numbered by weighted size (largest = 1), ties broken by profile.
  With a previous wave's profiles (`results.json` → `personas.profiles`), personas are matched to the
  previous ones by the Hungarian algorithm and keep their numbers and names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score

from ...codebook import Codebook
from ...degrade import CannotEstimate, NotEstimated, attempt
from ...trends import load_previous
from .features import FeatureEncoder, _weighted_mean_ignore_nan, _weighted_moments, natural_values
from .lca import LCAFit, _subset, fit_lca_starts, lca_input, posterior
from .profiles import generate_names, match_previous, order_by_size, persona_sizes, profile_table, profile_vectors
from .selection import BootstrapStability, bootstrap_stability, choose_k, kmeans_labels, selection_rule_text

SECTION = "personas"
#: the articles' rule: at most four personas
ARTICLES_MAX = 4
#: solutions are fitted up to this k whatever the cap, so that a binding cap shows
FIT_UP_TO = 8
#: a k is fitted only with at least this many respondents per persona (k ≤ n / 10)
MIN_PER_PERSONA = 10


@dataclass(frozen=True, eq=False)
class PersonaFit:
    """A fitted persona solution: everything the other verbs describe, compare, draw and record.
    `skipped` holds the reason when the codebook declares no usable persona features."""

    cb: Codebook
    skipped: str | None = None
    df: pd.DataFrame | None = None  # the rows that were classified
    design: object = None
    weights: np.ndarray | None = None
    enc: FeatureEncoder | None = None
    codes: pd.DataFrame | None = None
    values: pd.DataFrame | None = None
    table: pd.DataFrame | None = None  # one row per k: fit, size, entropy, stability, verdict
    k: int = 0
    lca: LCAFit | None = None  # the chosen k's latent class model
    labels: np.ndarray | None = None  # persona number of each classified respondent
    class_numbers: np.ndarray | None = None  # persona number of each latent class of `lca`
    layout: dict = field(default_factory=dict)  # blocks of the model's input (see `lca_input`)
    numbers: list[int] = field(default_factory=list)
    names: dict[int, str] = field(default_factory=dict)
    generated_names: dict[int, str] = field(default_factory=dict)
    profile: pd.DataFrame | None = None
    kmeans_ari: float | None = None
    stability: float | None = None
    rule: str = ""
    notes: list[str] = field(default_factory=list)
    matching: pd.DataFrame | None = None
    params: dict = field(default_factory=dict)
    n_all: int = 0
    bootstrap: BootstrapStability | None = None  # the chosen k's bootstrap refits
    cap_binds: bool = False  # the cap (`max_personas`), not the data, chose k
    bic_best_k: int = 0  # lowest BIC over every k fitted (up to FIT_UP_TO)
    not_estimated: NotEstimated | None = None  # why the data could not support the study (degraded)

    @property
    def id_column(self) -> str:
        return self.cb.id_column

    @property
    def sizes(self) -> pd.DataFrame:
        return persona_sizes(self)

    def name(self, p: int) -> str:
        return self.names.get(p, f"Persona {p}")

    def classify(self, df: pd.DataFrame) -> np.ndarray:
        """Persona numbers of (new) respondents under the fitted latent class model (modal
        assignment; all persona questions needed as columns, answers may be missing)."""
        codes = self.enc.codes(df)
        data = lca_input(codes, self.enc, np.ones(len(df)), layout=self.layout)
        return self.class_numbers[posterior(self.lca, data).argmax(axis=1)]

    def to_frame(self) -> pd.DataFrame:
        """The k-selection table (one row per k)."""
        return self.table


def previous_profiles(previous_results: str | Path | None) -> dict | None:
    """The `personas` section of a previous wave's results.json (None when absent or unusable)."""
    per = (load_previous(previous_results) or {}).get(SECTION, {})
    return per if per.get("profiles") else None


def _usable_features(df: pd.DataFrame, cb: Codebook) -> str | None:
    pf = cb.persona_features
    if pf is None or not pf.all:
        return "the codebook declares no `persona_features` (binary, ordinal or continuous columns)."
    missing = [c for c in pf.all if c not in df.columns]
    if missing:
        return f"persona feature column(s) {', '.join(missing)} are not in the data."
    return None


def fit_personas(df: pd.DataFrame, cb: Codebook, design=None, *, max_personas: int = ARTICLES_MAX,
                 min_share: float = 0.05, min_stability: float = 0.75, min_entropy: float = 0.6,
                 n_init: int = 20, bootstrap_reps: int = 10, stability_all: bool = False, seed: int = 0,
                 persona_names: list[str] | None = None, previous: dict | None = None,
                 max_fit_n: int | None = 20_000, fit_up_to: int = FIT_UP_TO,
                 bootstrap_starts: int = 3) -> PersonaFit:
    """Fit k = 1 … max_personas latent class models, choose k by the rule, number and name the personas.

    Every k from 1 to `fit_up_to` (at least `max_personas`) is fitted from `n_init` independent
    starts, and the share of starts reaching the best log-likelihood is reported; only k up to
    `max_personas` can be chosen, the others show whether the cap binds. Each bootstrap refit starts
    from `bootstrap_starts` independent starts. Bootstrap stability is computed for the k the rule has to check (see `choose_k`), or for every k
    with `stability_all`. With more than `max_fit_n` respondents the models are fitted on a seeded
    random subsample of that size (the estimates are already precise there) and everyone is
    classified by the chosen model. `previous` is a previous wave's `personas` results section (see
    `previous_profiles`): personas are then matched to it and keep its numbers and names.
    `persona_names` overrides the names, in persona-number order.

    Real data that cannot support the study (too few respondents, no feature that varies, answers
    the coding cannot read, a model that cannot be fitted) give a `PersonaFit` whose `skipped`
    says why and whose `not_estimated` is the `degrade.NotEstimated` to record: the run publishes."""
    reason = _usable_features(df, cb)
    if reason:
        return PersonaFit(cb=cb, skipped=reason)
    if max_personas < 1:
        raise ValueError(f"max_personas must be at least 1, got {max_personas}")
    result = attempt(SECTION, _fit_personas, df, cb, design, max_personas=max_personas, min_share=min_share,
                     min_stability=min_stability, min_entropy=min_entropy, n_init=n_init,
                     bootstrap_reps=bootstrap_reps, stability_all=stability_all, seed=seed,
                     persona_names=persona_names, previous=previous, max_fit_n=max_fit_n, fit_up_to=fit_up_to,
                     bootstrap_starts=bootstrap_starts)
    if isinstance(result, NotEstimated):
        return PersonaFit(cb=cb, skipped=f"not estimated: {result.reason}", not_estimated=result, n_all=len(df))
    return result


def _varying(df: pd.DataFrame, cb: Codebook) -> tuple[Codebook, list[str]]:
    """The codebook with the persona features that do not vary among these respondents left out
    (a constant answer separates nobody), and a note per feature left out."""
    pf = cb.persona_features
    constant = [c for c in pf.all if df[c].dropna().map(str).nunique() < 2]
    if not constant:
        return cb, []
    if len(constant) == len(pf.all):
        raise CannotEstimate("no persona feature varies among the respondents (every answer is the same "
                             f"within {', '.join(constant)}), so there is nothing to group customers by.")
    kept = pf.model_copy(update={kind: [c for c in getattr(pf, kind) if c not in constant]
                                 for kind in ("binary", "ordinal", "continuous")})
    notes = [f"Persona feature(s) {', '.join(constant)} have the same answer (or none) for every respondent "
             "and were left out: a constant separates nobody."]
    return cb.model_copy(update={"persona_features": kept}), notes


def _fit_personas(df: pd.DataFrame, cb: Codebook, design, *, max_personas: int, min_share: float,
                  min_stability: float, min_entropy: float, n_init: int, bootstrap_reps: int,
                  stability_all: bool, seed: int, persona_names: list[str] | None, previous: dict | None,
                  max_fit_n: int | None, fit_up_to: int, bootstrap_starts: int) -> PersonaFit:
    from ...prepare import design_for
    from ...survey_stats import Design

    notes: list[str] = []
    params = {"max_personas": max_personas, "min_share": min_share, "min_stability": min_stability,
              "min_entropy": min_entropy, "n_init": n_init, "bootstrap_reps": bootstrap_reps,
              "stability_all": stability_all, "seed": seed, "max_fit_n": max_fit_n, "fit_up_to": fit_up_to,
              "bootstrap_starts": bootstrap_starts}
    if max_personas > ARTICLES_MAX:
        notes.append(f"**More than four personas allowed.** max_personas = {max_personas} is above the "
                     f"articles' rule of at most {ARTICLES_MAX} personas, which keeps a cross-channel "
                     "strategy focused; solutions above four are shown for comparison.")
    design = design if design is not None else design_for(df, cb)
    pf = cb.persona_features
    answered = df[pf.all].notna().any(axis=1).to_numpy()
    if not answered.all():
        notes.append(f"{int((~answered).sum()):,} respondents answered none of the persona questions and "
                     "are not classified.")
    rows = np.flatnonzero(answered)
    if len(rows) < 2 * MIN_PER_PERSONA:
        raise CannotEstimate(f"only {len(rows)} respondent(s) answered the persona questions; telling even two "
                             f"personas apart needs at least {2 * MIN_PER_PERSONA} ({MIN_PER_PERSONA} per persona).")
    data_rows = df.iloc[rows].reset_index(drop=True)
    full_w = np.asarray(design.weights, float)
    weights = full_w[rows]
    design = design if answered.all() else Design(  # the classified rows, raking kept
        weights, None if design.calibration is None else design.calibration[rows],
        None if design.base_weights is None else design.base_weights[rows])
    cb, dropped = _varying(data_rows, cb)
    notes += dropped
    try:
        enc = FeatureEncoder.fit(data_rows, cb, weights)
        codes = enc.codes(data_rows)
    except ValueError as exc:  # answers the coding cannot read: say which, and let the run publish
        raise CannotEstimate(f"the persona features could not be coded: {exc}") from None
    values = natural_values(data_rows, enc, codes)
    data = lca_input(codes, enc, weights)
    fit_data, fit_w = data, weights
    if max_fit_n and len(rows) > max_fit_n:  # choose and fit on a seeded subsample, classify everyone
        sub = np.sort(np.random.default_rng([seed, len(rows)]).choice(len(rows), max_fit_n, replace=False))
        fit_data, fit_w = _subset(data, sub), weights[sub]
        notes.append(f"The models were fitted on a random subsample of {max_fit_n:,} of the {len(rows):,} "
                     "respondents (seeded; `max_fit_n`); every respondent is then classified by the chosen model.")

    fits, records = {}, []
    k_top = min(max(fit_up_to, max_personas), len(fit_w) // MIN_PER_PERSONA)
    if k_top < max_personas:
        notes.append(f"With {len(fit_w):,} respondents at most {k_top} personas were fitted "
                     f"({MIN_PER_PERSONA} respondents per persona at least).")
    for k in range(1, k_top + 1):
        try:
            fit = fits[k] = fit_lca_starts(fit_data, k, fit_w, n_starts=n_init, seed=seed)
        except (np.linalg.LinAlgError, ValueError, FloatingPointError) as exc:
            if k == 1:
                raise CannotEstimate(f"the one-group model could not be fitted ({type(exc).__name__}: {exc}).") from None
            notes.append(f"The model with {k} personas could not be fitted ({type(exc).__name__}); larger "
                         "solutions were not tried.")
            break
        records.append({"k": k, "loglik": fit.loglik, "n_parameters": fit.n_parameters, "bic": fit.bic,
                        "min_share": float(fit.shares.min()), "relative_entropy": fit.relative_entropy,
                        "stability": 1.0 if k == 1 else np.nan, "stability_p10": 1.0 if k == 1 else np.nan,
                        "n_starts": len(fit.start_logliks), "best_loglik_share": fit.best_share})
    fitted = pd.DataFrame(records)
    table = fitted[fitted["k"] <= max_personas].reset_index(drop=True)
    boot: dict[int, BootstrapStability] = {}

    def stability(k: int) -> np.ndarray:
        boot[k] = bootstrap_stability(fit_data, fits[k], fit_w, bootstrap_reps, seed, bootstrap_starts)
        return np.nan_to_num(boot[k].aris, nan=0.0)  # a failed refit counts as not reproduced

    if bootstrap_reps > 0 and stability_all:
        for i, k in enumerate(table["k"]):
            if k > 1:
                aris = stability(int(k))
                table.loc[i, ["stability", "stability_p10"]] = [aris.mean(), np.quantile(aris, 0.1)]
    if bootstrap_reps <= 0:
        notes.append("Bootstrap stability was not computed (bootstrap_reps = 0): the rule uses size and "
                     "entropy only.")
    k, table = choose_k(table, min_share, min_stability if bootstrap_reps > 0 else -np.inf, min_entropy,
                        stability if bootstrap_reps > 0 else None)
    table, cap_binds, bic_best_k = _beyond_cap(table, fitted, k, max_personas, min_share, min_entropy)
    chosen = fits[k]
    chosen_stability = float(table.loc[table["k"] == k, "stability"].iloc[0]) if k > 1 else None

    # numbering: by size, or carried over from the previous wave
    classes = chosen.labels if fit_data is data else posterior(chosen, data).argmax(axis=1)
    class_means = np.array([[_weighted_mean_ignore_nan(values[c].to_numpy(float)[classes == j],
                                                       weights[classes == j]) for c in values.columns]
                            for j in range(k)])
    order = order_by_size(np.bincount(classes, weights=weights, minlength=k), class_means)
    number_of_class = {int(c): i + 1 for i, c in enumerate(order)}
    labels = np.array([number_of_class[int(c)] for c in classes])
    numbers = list(range(1, k + 1))
    profile = profile_table(values, labels, weights, numbers, enc)
    generated = generate_names(profile, numbers)
    matching = None
    if previous and k > 1:
        prev_profiles = {int(p["persona"]): p["means"] for p in previous["profiles"]}
        prev_names = {int(p["persona"]): p["name"] for p in previous["profiles"]}
        scale = {c: _weighted_moments(values[c].to_numpy(float), weights)[1] for c in values.columns}
        mapping, matching = match_previous(profile_vectors(profile), prev_profiles, scale)
        if mapping:
            free = iter(range(max(prev_profiles) + 1, max(prev_profiles) + k + 1))
            renumber = {p: mapping.get(p) or next(free) for p in numbers}
            labels = np.array([renumber[p] for p in labels])
            numbers = sorted(renumber.values())
            generated = {renumber[p]: (prev_names[renumber[p]] if p in mapping else n) for p, n in generated.items()}
            profile = profile.assign(persona=profile["persona"].map(renumber))
            notes.append("Personas are matched to the previous wave's (Hungarian matching on standardized "
                         "profiles) and keep their numbers and names"
                         + ("; personas without a match get new numbers." if len(mapping) < k else "."))
            number_of_class = {c: renumber[p] for c, p in number_of_class.items()}
        else:
            notes.append("The previous wave's personas share no features with this wave's; personas are "
                         "numbered by size.")
    class_numbers = np.array([number_of_class[c] for c in range(k)])
    generated = dict(sorted(generated.items()))
    names = dict(generated)
    if persona_names:
        for p, name in zip(numbers, persona_names):
            if str(name).strip():
                names[p] = str(name).strip()
        if len(persona_names) != len(numbers):
            notes.append(f"{len(persona_names)} persona name(s) were given for {len(numbers)} personas; "
                         "names were applied in persona order and generated names kept for the rest.")
    kmeans_ari = None
    if k > 1:
        km = kmeans_labels(fit_data.Z, k, fit_w, seed)
        kmeans_ari = float(adjusted_rand_score(class_numbers[chosen.labels], km))
    return PersonaFit(cb=cb, df=data_rows, design=design, weights=weights, enc=enc, codes=codes, values=values,
                      table=table, k=k, lca=chosen, labels=labels, class_numbers=class_numbers, layout=data.layout,
                      numbers=numbers, names=names, generated_names=generated, profile=profile,
                      kmeans_ari=kmeans_ari, stability=chosen_stability,
                      rule=selection_rule_text(min_share, min_stability, min_entropy), notes=notes,
                      matching=matching, params=params, n_all=len(df), bootstrap=boot.get(k),
                      cap_binds=cap_binds, bic_best_k=bic_best_k)


def _beyond_cap(table: pd.DataFrame, fitted: pd.DataFrame, k: int, max_personas: int, min_share: float,
                min_entropy: float) -> tuple[pd.DataFrame, bool, int]:
    """The k-selection table with the solutions above the cap appended (never chosen), whether the
    cap binds (k = max_personas and a larger k has a lower BIC and passes the size and entropy
    rules; stability is not computed above the cap), and the k with the lowest BIC overall."""
    beyond = fitted[fitted["k"] > max_personas].copy()
    bic_chosen = float(table.loc[table["k"] == k, "bic"].iloc[0])
    better = beyond[(beyond["bic"] < bic_chosen) & (beyond["min_share"] >= min_share)
                    & (beyond["relative_entropy"] >= min_entropy)]
    if len(beyond):
        beyond["admissible"] = None
        beyond["verdict"] = ["above max_personas: shown for comparison" + (", lower BIC" if b < bic_chosen else "")
                             for b in beyond["bic"]]
        beyond["chosen"] = False
        table = pd.concat([table, beyond], ignore_index=True)
    bic_best_k = int(fitted.loc[fitted["bic"].idxmin(), "k"])
    return table, bool(k == max_personas and len(better)), bic_best_k


def stability(fit: PersonaFit) -> pd.DataFrame:
    """Bootstrap stability of the chosen solution, one row per persona: the mean and 10th percentile
    over the resamples of the share of its members a refit (independent starts, label-matched by
    the Hungarian algorithm) keeps together, beside the overall adjusted Rand index. Empty when no
    bootstrap was run (one persona, or bootstrap_reps = 0)."""
    boot = fit.bootstrap
    if fit.skipped or boot is None:
        return pd.DataFrame(columns=["persona", "name", "agreement", "agreement_p10", "ari", "resamples", "starts"])
    return pd.DataFrame([{"persona": int(fit.class_numbers[c]), "name": fit.name(int(fit.class_numbers[c])),
                          "agreement": float(np.nanmean(boot.agreement[:, c])),
                          "agreement_p10": float(np.nanquantile(boot.agreement[:, c], 0.1)),
                          "ari": boot.mean, "resamples": len(boot.aris), "starts": boot.starts}
                         for c in range(fit.k)]).sort_values("persona").reset_index(drop=True)
