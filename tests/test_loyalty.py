"""Unit tests of the loyalty study: model fitting against statsmodels, metrics against sklearn and brute
force, cross-validation mechanics, interval formulas, dominance analysis, codebook handling, verdicts."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from engagement.studies import loyalty
from engagement.studies.loyalty import dominance
from engagement.studies.loyalty import models
from engagement.studies.loyalty import validation
from engagement.codebook import Codebook
from engagement.degrade import NotEstimated, attempt
from engagement.results import PERSONA_FILE, WEIGHT, load_results
from engagement.simulate import SimulationParams, default_codebook, simulate_survey

from .shared import clean_simulated_survey


@pytest.fixture(scope="module")
def sim():
    """A clean simulated survey of 1,500 (defects dropped, unit weights)."""
    return clean_simulated_survey(1500, 31)[0]


@pytest.fixture(scope="module")
def cb():
    return Codebook.model_validate(default_codebook())


def _ordinal_data(seed=5, n=800, K=5):
    rng = np.random.default_rng(seed)
    X = np.column_stack([rng.integers(1, 8, n), rng.normal(size=n)]).astype(float)
    latent = 0.6 * X[:, 0] - 0.8 * X[:, 1] + rng.logistic(size=n)
    y = np.digitize(latent, np.quantile(latent, np.linspace(0, 1, K + 1)[1:-1]))
    return y, X


# ----------------------------------------------------------------------------- fitting


def test_ordinal_logit_matches_statsmodels_orderedmodel():
    from statsmodels.miscmodels.ordinal_model import OrderedModel

    y, X = _ordinal_data()
    fit = models.fit_ordinal_logit(y, X, names=["a", "b"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = OrderedModel(y, X, distr="logit").fit(method="bfgs", disp=False, maxiter=5000, gtol=1e-10)
    beta = ref.params[:2]
    # statsmodels: first threshold, then log-increments
    theta = np.cumsum(np.r_[ref.params[2], np.exp(ref.params[3:])])
    np.testing.assert_allclose(fit.coef, beta, atol=1e-5)
    np.testing.assert_allclose(fit.thresholds, theta, atol=1e-5)
    np.testing.assert_allclose(fit.loglik, ref.llf, rtol=1e-9)
    np.testing.assert_allclose(fit.bse.values[-2:], ref.bse[:2], rtol=1e-3)
    assert fit.converged and list(fit.params.index) == ["0|1", "1|2", "2|3", "3|4", "a", "b"]


def test_ordinal_probabilities_sum_to_one_and_increase_with_eta():
    y, X = _ordinal_data()
    fit = models.fit_ordinal_logit(y, X)
    P = fit.predict_proba(X)
    np.testing.assert_allclose(P.sum(axis=1), 1.0, atol=1e-12)
    order = np.argsort(fit.linear_predictor(X))
    mean_level = P @ np.arange(P.shape[1])
    assert np.all(np.diff(mean_level[order]) >= -1e-12)


def test_collapsing_rows_and_frequency_weights_are_exact():
    y, X = _ordinal_data(n=600)
    X[:, 1] = np.round(X[:, 1])  # few distinct rows, so collapsing bites
    raw = models.fit_ordinal_logit(y, X, collapse_rows=False)
    col = models.fit_ordinal_logit(y, X, collapse_rows=True)
    np.testing.assert_allclose(col.params, raw.params, atol=1e-9)
    np.testing.assert_allclose(col.bse, raw.bse, rtol=1e-7)
    # integer weights = replicated rows
    w = np.random.default_rng(1).integers(1, 4, len(y)).astype(float)
    rep = np.repeat(np.arange(len(y)), w.astype(int))
    a = models.fit_ordinal_logit(y, X, w)
    b = models.fit_ordinal_logit(y[rep], X[rep])
    np.testing.assert_allclose(a.params, b.params, atol=1e-9)
    np.testing.assert_allclose(a.bse, b.bse, rtol=1e-7)


def test_robust_covariance_matches_statsmodels_logit_hc0():
    import statsmodels.api as sm

    rng = np.random.default_rng(3)
    X = rng.normal(size=(700, 2))
    y = (rng.random(700) < 1 / (1 + np.exp(-(0.3 + X @ [1.0, -0.5])))).astype(int)
    fit = models.fit_logistic(y, X, cov_type="robust")
    ref = sm.Logit(y, sm.add_constant(X)).fit(disp=False, cov_type="HC0")
    np.testing.assert_allclose(fit.params.values, ref.params, atol=1e-8)
    np.testing.assert_allclose(fit.bse.values, ref.bse, rtol=1e-6)
    model = models.fit_logistic(y, X)
    ref2 = sm.Logit(y, sm.add_constant(X)).fit(disp=False)
    np.testing.assert_allclose(model.bse.values, ref2.bse, rtol=1e-6)
    assert model.deviance == pytest.approx(-2 * ref2.llf, rel=1e-10)


def test_binary_labels_use_positive_value():
    rng = np.random.default_rng(4)
    x = rng.normal(size=400)
    yes = rng.random(400) < 1 / (1 + np.exp(-x))
    labels = np.where(yes, "No", "Yes")  # loyal = "No" (did not churn)
    fit = models.fit_logistic(labels, x, positive="No")
    assert fit.coef[0] > 0.5


def test_wls_matches_statsmodels():
    import statsmodels.api as sm

    rng = np.random.default_rng(8)
    X = rng.normal(size=(300, 2))
    y = 1 + X @ [0.5, -1.0] + rng.normal(size=300)
    w = rng.uniform(0.5, 2.0, 300)
    fit = models.fit_ols(y, X, w)
    ref = sm.WLS(y, sm.add_constant(X), weights=w).fit()
    np.testing.assert_allclose(fit.params.values, ref.params, atol=1e-10)
    np.testing.assert_allclose(fit.bse.values, ref.bse, rtol=1e-8)
    assert fit.r2 == pytest.approx(ref.rsquared, rel=1e-10)
    rob = models.fit_ols(y, X, w, cov_type="robust")
    np.testing.assert_allclose(rob.bse.values, ref.get_robustcov_results("HC1").bse, rtol=1e-8)


def test_nested_tests():
    y, X = _ordinal_data()
    small = models.fit_ordinal_logit(y, X[:, :1], names=["a"])
    big = models.fit_ordinal_logit(y, X, names=["a", "b"])
    t = models.nested_test(small, big)
    assert t["test"] == "likelihood ratio" and t["df"] == 1
    assert t["statistic"] == pytest.approx(2 * (big.loglik - small.loglik))
    assert t["p_value"] < 1e-6  # b has a strong planted effect
    assert t["delta_r2"] == pytest.approx(big.r2 - small.r2)
    rob = models.fit_ordinal_logit(y, X, names=["a", "b"], cov_type="robust")
    tw = models.nested_test(small, rob)
    assert tw["test"] == "Wald (robust)" and tw["p_value"] < 1e-6


# ----------------------------------------------------------------------------- metrics


def test_concordance_is_weighted_auc_for_binary():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(2)
    score = np.round(rng.normal(size=500), 1)  # ties
    y = (rng.random(500) < 1 / (1 + np.exp(-score))).astype(int)
    w = rng.uniform(0.2, 3, 500)
    assert validation.concordance(score, y) == pytest.approx(roc_auc_score(y, score), abs=1e-12)
    assert validation.concordance(score, y, w) == pytest.approx(roc_auc_score(y, score, sample_weight=w), abs=1e-12)


def test_concordance_matches_brute_force_for_ordinal_with_ties():
    rng = np.random.default_rng(6)
    score = rng.integers(0, 6, 120).astype(float)
    y = np.clip(score + rng.integers(-2, 3, 120), 0, 6)
    w = rng.uniform(0.5, 2, 120)
    num = den = 0.0
    for i in range(120):
        for j in range(120):
            if y[i] > y[j]:
                ww = w[i] * w[j]
                den += ww
                num += ww * (1.0 if score[i] > score[j] else 0.5 if score[i] == score[j] else 0.0)
    assert validation.concordance(score, y, w) == pytest.approx(num / den, abs=1e-12)
    # coarsening when the table would be too large changes almost nothing
    cont = score + rng.normal(scale=0.1, size=120)
    assert validation.concordance(cont, y, w, max_cells=50) == pytest.approx(validation.concordance(cont, y, w), abs=0.02)


def test_fold_metrics_against_direct_formulas():
    rng = np.random.default_rng(12)
    x = rng.normal(size=(400, 1))
    y = (rng.random(400) < 1 / (1 + np.exp(-x[:, 0]))).astype(int)
    fit = models.fit_logistic(y[:300], x[:300])
    m = validation._metrics_fold("binary", fit, x[300:], y[300:], np.ones(100), y[:300], np.ones(300))
    p = fit.predict_proba(x[300:])
    yt = y[300:]
    ll = np.sum(yt * np.log(p) + (1 - yt) * np.log(1 - p))
    base = y[:300].mean()
    ll0 = np.sum(yt * np.log(base) + (1 - yt) * np.log(1 - base))
    assert m["log_loss"] == pytest.approx(-ll / 100)
    assert m["brier"] == pytest.approx(np.mean((p - yt) ** 2))
    assert m["r2"] == pytest.approx(1 - ll / ll0)
    cs = 1 - np.exp(2 * (ll0 - ll) / 100)
    assert m["nagelkerke"] == pytest.approx(cs / (1 - np.exp(2 * ll0 / 100)))
    assert m["gini"] == pytest.approx(2 * m["auc"] - 1)


# ----------------------------------------------------------------------------- cross-validation


def test_stratified_folds_balance_and_cover_every_row():
    strata = np.repeat([0, 1, 2], [50, 31, 200])
    folds = validation.stratified_folds(strata, 5, 3, seed=9)
    assert folds.shape == (3, len(strata))
    for r in range(3):
        for s in range(3):
            counts = np.bincount(folds[r, strata == s], minlength=5)
            assert counts.max() - counts.min() <= 1
    assert not np.array_equal(folds[0], folds[1])
    np.testing.assert_array_equal(folds, validation.stratified_folds(strata, 5, 3, seed=9))


def test_cross_validation_is_seeded_and_pairs_models(sim):
    y = sim["repurchase"].to_numpy()
    ok = ~np.isnan(y) & sim["ces"].notna().to_numpy() & sim["csat"].notna().to_numpy()
    y = y[ok].astype(int) - 1
    designs = {"ces": sim.loc[ok, ["ces"]].to_numpy(float), "csat": sim.loc[ok, ["csat"]].to_numpy(float)}
    a = validation.cross_validate(y, designs, "ordinal", n_splits=4, n_repeats=3, seed=2)
    b = validation.cross_validate(y, designs, "ordinal", n_splits=4, n_repeats=3, seed=2)
    np.testing.assert_array_equal(a.values("ces", "gini"), b.values("ces", "gini"))
    assert len(a.values("ces", "gini")) == 12 and a.n_test == pytest.approx(ok.sum() / 4, abs=1)
    folds = a.folds
    assert set(folds["model"]) == {"ces", "csat"} and len(folds) == 24
    # the out-of-sample Gini of a one-predictor model is the test-fold Somers' D of the raw score
    assert a.summary().query("model == 'ces' and metric == 'gini'")["estimate"].iloc[0] == pytest.approx(
        2 * validation.concordance(designs["ces"][:, 0], y) - 1, abs=0.01)


def test_corrected_interval_formula():
    v = np.array([0.1, 0.3, 0.2, 0.25, 0.15, 0.22])
    res = validation.corrected_t_interval(v, n_train=800, n_test=200)
    se = np.sqrt((1 / 6 + 200 / 800) * v.var(ddof=1))
    assert res["se"] == pytest.approx(se)
    assert res["ci_high"] - res["estimate"] == pytest.approx(stats.t.ppf(0.975, 5) * se)
    naive = v.std(ddof=1) / np.sqrt(6)
    assert res["se"] > 1.5 * naive


def test_ratio_interval():
    rng = np.random.default_rng(0)
    b = 0.4 + 0.02 * rng.normal(size=50)
    a = 1.2 * b + 0.01 * rng.normal(size=50)
    r = validation.corrected_ratio_interval(a, b, 4000, 1000)
    assert r["estimate"] == pytest.approx(a.mean() / b.mean())
    assert r["ci_low"] < r["estimate"] < r["ci_high"] and 1.1 < r["ci_low"] and r["ci_high"] < 1.3
    assert np.isnan(validation.corrected_ratio_interval(a, -b, 4000, 1000)["estimate"])


# ----------------------------------------------------------------------------- importance


def test_general_dominance_sums_to_r2_and_splits_symmetric_predictors():
    rng = np.random.default_rng(21)
    n = 3000
    z = rng.normal(size=(n, 3))
    y = z[:, 0] + z[:, 1] + 0.3 * z[:, 2] + rng.normal(size=n)
    dom = dominance.dominance_analysis("linear", y, z, ["a", "b", "c"], n_boot=30, seed=1)
    full = models.fit_ols(y, z).r2
    assert dom["dominance"].sum() == pytest.approx(full, rel=1e-10)
    assert dom["share"].sum() == pytest.approx(1.0)
    assert dom.loc[0, "dominance"] == pytest.approx(dom.loc[1, "dominance"], abs=0.03)
    assert dom.loc[2, "dominance"] < dom.loc[0, "dominance"] / 4
    assert (dom["ci_low"] <= dom["dominance"]).all() and (dom["dominance"] <= dom["ci_high"]).all()
    # two predictors: Shapley value = average of the two orders of entry
    r2 = {(): 0.0, (0,): models.fit_ols(y, z[:, :1]).r2, (1,): models.fit_ols(y, z[:, 1:2]).r2, (0, 1): models.fit_ols(y, z[:, :2]).r2}
    g = dominance.general_dominance(r2, 2)
    assert g[0] == pytest.approx(0.5 * (r2[(0,)] + r2[(0, 1)] - r2[(1,)]))


@pytest.mark.parametrize("family", ["ordinal", "binary"])
def test_one_step_bootstrap_matches_full_refits(family):
    """The dominance bootstrap takes one Newton step per replicate; refitting every replicate to
    convergence gives the same interval ends (to well below the bootstrap's own error)."""
    y, X = _ordinal_data(n=1000)
    if family == "binary":
        y = (y >= 2).astype(int)
    a = dominance.dominance_analysis(family, y, X, ["a", "b"], n_boot=40, seed=3)
    rng = np.random.default_rng(3)  # the same resamples as the implementation draws
    counts = [np.bincount(rng.integers(0, len(y), len(y)), minlength=len(y)).astype(float) for _ in range(40)]
    full = np.array([dominance.dominance_analysis(family, y, X, ["a", "b"], weights=c, n_boot=0)["dominance"]
                     for c in counts])
    lo, hi = np.quantile(full, [0.025, 0.975], axis=0)
    width = hi - lo
    assert np.all(np.abs(a["ci_low"] - lo) < 0.005 * width) and np.all(np.abs(a["ci_high"] - hi) < 0.005 * width)
    assert a["dominance"].sum() == pytest.approx(models.fit_model(family, y, X).r2, abs=1e-8)


# ----------------------------------------------------------------------------- study layer


def test_sparse_levels_are_merged_into_smaller_neighbour():
    y = np.array([0] * 3 + [1] * 4 + [2] * 50 + [3] * 60 + [4] * 2)
    codes, labels, notes = loyalty.merge_sparse_levels(y, 10)
    assert labels == ["0–2", "3–4"]
    assert np.bincount(codes).min() >= 10 and notes


def test_reversed_and_composite_scales(sim, cb):
    raw = cb.model_dump()
    raw["scales"]["ces"] = {"column": "effort", "min": 1, "max": 7, "higher_is_better": False}
    raw["scales"]["sat_mix"] = {"items": ["csat", "att_convenience"], "min": 1, "max": 5}
    cb2 = Codebook.model_validate(raw)
    df = sim.assign(effort=8 - sim["ces"])
    inputs = loyalty.loyalty_inputs(cb2)
    ces = inputs.predictor("ces")
    assert ces.reversed and any("reversed" in n for n in inputs.notes)
    pd.testing.assert_series_equal(ces.scores(df, cb2), sim["ces"].astype(float), check_names=False)
    mix = inputs.predictor("sat_mix").scores(df, cb2)
    expected = sim[["csat", "att_convenience"]].mean(axis=1, skipna=False)
    pd.testing.assert_series_equal(mix, expected, check_names=False)
    # best box (default: two points) of the reversed scale is its lowest raw answers (least effort)
    best = ces.best_box(ces.scores(df, cb2))
    assert best[df["effort"] <= 2].eq(1).all() and best[df["effort"] >= 3].eq(0).all()


def test_models_and_predictors_follow_the_codebook(sim, cb):
    study = loyalty.prepare(sim, cb, seed=1)
    nps = next(o for o in study.inputs.outcomes if o.name == "nps")
    rep = next(o for o in study.inputs.outcomes if o.name == "repurchase")
    assert [p.name for p in study.inputs.predictors_for(nps)] == ["ces", "csat"]  # NPS is the outcome
    assert [p.name for p in study.inputs.predictors_for(rep)] == ["ces", "csat", "nps"]
    models = study.models_for(rep)
    assert list(models) == ["ces", "csat", "nps", "both", "both + controls"]
    assert models["both"][0] == ["ces", "csat"] and models["both + controls"][1]
    assert study.primary.name == "repurchase"  # first likert (stated-intention) outcome
    d = study.outcome_data(rep)
    assert set(d.C.columns) == {"age_group_2", "age_group_3", "age_group_4", "age_group_5", "gender_2"}
    assert abs(np.average(d.Z["ces"], weights=d.w)) < 1e-12


def test_skips_when_codebook_lacks_inputs(sim, cb):
    raw = cb.model_dump()
    no_ces = dict(raw, scales={k: v for k, v in raw["scales"].items() if k != "ces"})
    study = loyalty.prepare(sim, Codebook.model_validate(no_ces))
    assert study.skip_reason is None and "CES" in study.comparison_skip_reason
    comparison = loyalty.compare_predictors(study, n_splits=3, n_repeats=1)
    assert set(comparison.summary["model"]) == {"both", "both + controls"}  # CSAT + NPS compared instead
    assert "both" in study.models_for(study.primary)
    c13 = attempt("loyalty.answer", loyalty.compare_c13, study, n_boot=0)
    assert isinstance(c13, NotEstimated) and "CES" in c13.reason
    res = loyalty.results_section(study, comparison=comparison, c13=c13)
    assert "ratio" not in res and "claims" not in res and res["outcomes"]
    none = dict(raw, outcomes=[])
    assert "outcomes" in loyalty.prepare(sim, Codebook.model_validate(none)).skip_reason
    bare = dict(raw, scales={})
    assert "scales" in loyalty.prepare(sim, Codebook.model_validate(bare)).skip_reason


def test_binary_outcome_stored_as_labels(sim, cb):
    raw = cb.model_dump()
    raw["outcomes"] = [{"name": "churn", "column": "churn", "kind": "binary", "positive": "No"}]
    df = sim.assign(churn=np.where(sim["retained_12m"] == 1, "No", "Yes"))
    study = loyalty.prepare(df, Codebook.model_validate(raw))
    y = study.inputs.outcomes[0].values(df)
    np.testing.assert_array_equal(y.to_numpy(), sim["retained_12m"].to_numpy(float))


def test_study_end_to_end_small(sim, cb, tmp_path):
    study = loyalty.prepare(sim, cb, seed=4)
    comparison = loyalty.compare_predictors(study, n_splits=3, n_repeats=2)
    c13 = loyalty.compare_c13(study, n_boot=30)
    v = c13.verdict
    assert v["better"] in ("ces", "csat", "not distinguishable") and "Somers' D" in v["sentence"]
    assert set(c13.table["statistic"]) == {"somers_d", "kendall_tau_b", "pseudo_r2", "log_loss"}
    assert set(c13.table["coding"]) == {"as asked", "top-2 box"}
    inc = loyalty.incremental_validity(study)
    assert len(inc) == 8 and (inc["ΔR²"] > 0).all()
    loyalty.record(tmp_path, study, c13=c13, comparison=comparison, incremental=inc)
    res = load_results(tmp_path)["loyalty"]
    assert res["ratio"]["statistic"].startswith("ratio of Somers' D")
    assert {"estimate", "ci_low", "ci_high", "n"} <= set(res["ratio"])
    claim = res["claims"][0]
    assert claim["id"] == "C13" and claim["claimed"] == 1.4 and claim["verdict"] == v["c13"]
    assert v["text"].startswith(claim["verdict"])  # summary and ledger use the same word
    out = {o["name"]: o for o in res["outcomes"]}
    assert set(out) == {"nps", "repurchase", "retained_12m", "orders_365d"}
    assert out["repurchase"]["primary"] and out["repurchase"]["model"].startswith("ordinal logit")
    assert [m["model"] for m in out["retained_12m"]["models"]] == ["both", "both + controls"]
    gini = out["retained_12m"]["models"][0]["metrics"]["gini"]
    assert gini["ci_low"] < gini["estimate"] < gini["ci_high"]


def test_heterogeneity_and_shape_run(sim, cb):
    study = loyalty.prepare(sim, cb, seed=4)
    het = loyalty.heterogeneity(study, study.channel_groups(), what="channel", min_n=60)
    table, tests = het.groups, het.tests
    assert set(table["predictor"]) == {"CES", "CSAT"} and (table["n"] >= 60).all()
    assert len(tests) == 2 and tests["p_value"].between(0, 1).all()
    shape = loyalty.shape_of_effect(study)
    assert list(shape["predictor"]) == ["CES", "CSAT"] and (shape["df"] == [5, 3]).all()


def test_key_driver_quadrants(sim, cb):
    study = loyalty.prepare(sim, cb, seed=4)
    kd = loyalty.driver_importance(study, ["att_price", "att_convenience", "att_tech"])
    assert kd["share"].sum() == pytest.approx(1.0)
    assert set(kd["quadrant"]) <= {"fix first", "keep up", "low priority", "possible overkill"}
    assert kd["performance"].between(0, 100).all()


def test_grouped_ols_equals_row_level_fit():
    rng = np.random.default_rng(13)
    X = rng.integers(1, 6, (500, 2)).astype(float)
    y = X @ [0.4, -0.2] + rng.normal(size=500)
    w = rng.uniform(0.5, 2, 500) * (rng.random(500) < 0.8)  # a fold: some rows weighted 0
    pat = validation._Patterns(X, y, None)
    g = validation._grouped_ols(pat, y, w)
    r = models.fit_ols(y[w > 0], X[w > 0], w[w > 0])
    np.testing.assert_allclose(np.r_[g.intercept, g.coef], np.r_[r.intercept, r.coef], atol=1e-10)


def test_persona_groups_from_the_persona_study(sim, cb, tmp_path):
    study = loyalty.prepare(sim, cb, seed=4)
    assert study.persona_groups(tmp_path) is None  # persona study not run: section skipped
    per = pd.DataFrame({"resp_id": sim["resp_id"], "persona": np.where(sim["use_app"] == 1, 1, 2),
                        "persona_name": np.where(sim["use_app"] == 1, "Digital", "Other")})
    per.to_parquet(tmp_path / PERSONA_FILE)
    groups = study.persona_groups(tmp_path)
    assert groups.notna().all() and set(groups) == {"Digital", "Other"}
    het = loyalty.heterogeneity(study, groups, what="persona")
    table, tests = het.groups, het.tests
    assert set(table["persona"]) == {"Digital", "Other"} and len(tests) == 2


@pytest.mark.notebooks
def test_notebook_records_the_loyalty_section(small_survey, tmp_path):
    """Notebook 20 runs top to bottom with injected parameters and records what the findings report
    reads: loyalty.outcomes, loyalty.ratio (estimate, interval, statistic, n), loyalty.verdict and the
    C13 claims entry."""
    import papermill as pm

    from engagement.config import NOTEBOOKS_DIR

    out = tmp_path / "run"
    pm.execute_notebook(str(NOTEBOOKS_DIR / "20-loyalty-ces-vs-csat.ipynb"), str(tmp_path / "20.ipynb"),
                        parameters={"data_path": str(small_survey["survey"]), "codebook_path": str(small_survey["codebook"]),
                                    "output_dir": str(out), "cv_repeats": 2, "cv_folds": 3, "n_bootstrap": 20,
                                    "c13_bootstrap": 20},
                        cwd=str(NOTEBOOKS_DIR), progress_bar=False)
    res = load_results(out)["loyalty"]
    assert [o["name"] for o in res["outcomes"]] == ["nps", "repurchase", "retained_12m", "orders_365d"]
    assert {"estimate", "ci_low", "ci_high", "statistic", "n"} <= set(res["ratio"])
    assert res["verdict"]["better"] in ("ces", "csat", "not distinguishable")
    assert res["verdict"]["c13"] == res["claims"][0]["verdict"]
    assert {r["statistic"] for r in res["c13"]["table"]} == {"somers_d", "kendall_tau_b", "pseudo_r2", "log_loss"}
    assert res["claims"][0]["id"] == "C13"
    assert res["power"]["a_priori"] and res["power"]["n_needed"] >= res["power"]["n_srs"] > 0
    assert res["heterogeneity"]["persona"]["skipped"]  # notebook 30 has not run in this folder
    # the default codebook declares driver items: the quad map is recorded with intervals
    assert [d["predictor"] for d in res["key_drivers"]] == ["drv_delivery", "drv_website", "drv_staff", "drv_value", "drv_range"]
    assert all(d["share_ci_low"] <= d["share"] <= d["share_ci_high"] for d in res["key_drivers"])
