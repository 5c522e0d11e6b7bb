"""Unit tests of the persona study: feature coding, the missing-value Gaussian emission, the k rule,
names, wave matching, the design-based equality test, the typing tool and the skip path."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from engagement.studies import personas as P
from engagement.studies.personas import emission, features, lca, sections
from engagement.codebook import Codebook
from engagement.errors import InputError
from engagement.simulate import SimulationParams, default_codebook, simulate_survey
from engagement.survey_stats import Design, difference_in_means
from engagement.studies.personas.typing_tool import TypingTool, assign_personas, train_typing_tool, wilks_order


def _codebook(**persona_features) -> Codebook:
    return Codebook.model_validate({"id": "id", "persona_features": persona_features})


# ------------------------------------------------------------------------------ feature coding


def test_binary_coding_accepts_numbers_booleans_and_yes_no_text():
    assert np.array_equal(features._binary_values(pd.Series([0, 1, None]), "x"), [0, 1, np.nan], equal_nan=True)
    assert np.array_equal(features._binary_values(pd.Series([True, False]), "x"), [1, 0])
    text = pd.Series(["Yes", "No", "No internet service", None, " yes "])
    assert np.array_equal(features._binary_values(text, "x"), [1, 0, 0, np.nan, 1], equal_nan=True)
    with pytest.raises(ValueError, match="declared binary"):
        features._binary_values(pd.Series([0, 2]), "x")
    with pytest.raises(ValueError, match="declared binary"):
        features._binary_values(pd.Series(["Yes", "Maybe"]), "x")


def test_encoder_levels_transforms_and_two_part():
    rng = np.random.default_rng(1)
    n = 400
    orders = rng.poisson(0.8, n)  # many zeros: two-part
    df = pd.DataFrame({"id": range(n), "use": rng.integers(0, 2, n),
                       "contract": rng.choice(["Two year", "Month-to-month", "One year"], n),
                       "rating": rng.integers(1, 6, n).astype(float),
                       "orders": orders, "spend": orders * rng.lognormal(3, 1, n), "age": rng.normal(45, 10, n)})
    df.loc[3, "rating"] = np.nan
    cb = Codebook.model_validate({"id": "id", "persona_features": {
        "binary": ["use"], "ordinal": ["contract", "rating"], "continuous": ["orders", "spend", "age"]},
        "columns": {"contract": {"type": "str", "allowed": ["Month-to-month", "One year", "Two year"]}}})
    enc = P.FeatureEncoder.fit(df, cb)
    assert enc.levels["contract"] == ["Month-to-month", "One year", "Two year"]  # the declared order
    assert enc.levels["rating"] == ["1", "2", "3", "4", "5"]
    # spend is right-skewed, so every non-negative continuous feature shares the log scale
    assert enc.transform["spend"]["log"] and enc.transform["orders"]["log"]
    assert enc.transform["orders"]["two_part"] and not enc.transform["age"]["two_part"]
    codes = enc.codes(df)
    assert np.isnan(codes.loc[3, "rating"])
    assert codes["contract"].tolist()[:3] == [enc.levels["contract"].index(v) for v in df["contract"][:3]]
    z = codes["orders"]
    assert abs(np.average(z)) < 1e-9 and abs(z.std(ddof=0) - 1) < 1e-9
    data = lca.lca_input(codes, enc, np.ones(n))
    # the two-part indicators join the binary block; zeros become missing in the Gaussian block
    assert "orders > 0" in data.layout["binary_complete"] and "spend > 0" in data.layout["binary_complete"]
    cont = data.X[:, -3:]
    assert np.isnan(cont[orders == 0, 0]).all() and not np.isnan(cont[orders > 0, 0]).any()
    with pytest.raises(ValueError, match="outside"):
        enc.codes(df.assign(contract="Three year"))


def test_encoder_survives_a_json_roundtrip():
    cb = _codebook(ordinal=["q"])
    df = pd.DataFrame({"id": [1, 2, 3], "q": [1, 2, 3]})
    enc = P.FeatureEncoder.fit(df, cb)
    again = P.FeatureEncoder.from_dict(json.loads(json.dumps(enc.to_dict())))
    assert again.codes(df).equals(enc.codes(df))


def test_feature_labels_from_channels_and_names():
    cb = Codebook.model_validate(default_codebook())
    labels = P.feature_labels(cb)
    assert labels["use_app"] == "uses app"
    assert labels["att_price"] == "price"
    assert labels["orders_365d"] == "orders"


# ----------------------------------------------------------------- the missing-value Gaussian


def _emission(k=2, d=3):
    emission.register_emissions()
    from stepmix.emission.build_emission import EMISSION_DICT

    return EMISSION_DICT[emission.GAUSSIAN_FULL_NAN](n_components=k, random_state=0, reg_covar=0.0)


def test_gaussian_full_nan_density_is_the_marginal_normal():
    em = _emission()
    means = np.array([[0.0, 1.0, -1.0], [2.0, 0.0, 1.0]])
    A = np.array([[1.0, 0.3, 0.2], [0.3, 2.0, -0.4], [0.2, -0.4, 1.5]])
    covs = np.stack([A, A * 0.5 + np.eye(3) * 0.2])
    em.parameters = {"means": means, "covariances": covs}
    X = np.array([[0.5, 0.2, 0.1], [np.nan, 1.0, 0.0], [1.0, np.nan, np.nan], [np.nan] * 3])
    ll = em.log_likelihood(X)
    for c in range(2):
        assert ll[0, c] == pytest.approx(stats.multivariate_normal(means[c], covs[c]).logpdf(X[0]))
        o = [1, 2]
        assert ll[1, c] == pytest.approx(stats.multivariate_normal(means[c][o], covs[c][np.ix_(o, o)]).logpdf(X[1, o]))
        assert ll[2, c] == pytest.approx(stats.norm(means[c][0], np.sqrt(covs[c][0, 0])).logpdf(1.0))
        assert ll[3, c] == 0.0  # nothing observed: no information


def test_gaussian_full_nan_m_step_is_the_weighted_ml_on_complete_data_and_em_under_mcar():
    rng = np.random.default_rng(3)
    cov = np.array([[1.0, 0.8], [0.8, 1.0]])
    X = rng.multivariate_normal([1.0, -1.0], cov, 4000)
    w = rng.uniform(0.5, 2, len(X))
    em = _emission(k=1, d=2)
    em.initialize(X, w[:, None])
    mu = np.average(X, axis=0, weights=w)
    S = np.cov(X.T, aweights=w, bias=True)
    assert np.allclose(em.parameters["means"][0], mu)
    assert np.allclose(em.parameters["covariances"][0], S)
    # 30% of the second coordinate missing completely at random: EM recovers the full-data estimate
    Xm = X.copy()
    Xm[rng.random(len(X)) < 0.3, 1] = np.nan
    em = _emission(k=1, d=2)
    em.initialize(Xm, w[:, None])
    for _ in range(200):
        em.m_step(Xm, w[:, None])
    assert np.allclose(em.parameters["means"][0], mu, atol=0.05)
    assert np.allclose(em.parameters["covariances"][0], S, atol=0.06)


# ------------------------------------------------------------------------------- choosing k


def _table(rows):
    return pd.DataFrame(rows, columns=["k", "bic", "min_share", "relative_entropy", "stability", "stability_p10"])


def test_rule_checks_stability_only_where_it_decides():
    t = _table([[1, 100, 1, 1, 1, 1], [2, 90, .3, .9, np.nan, np.nan], [3, 80, .2, .9, np.nan, np.nan],
                [4, 70, .02, .9, np.nan, np.nan]])
    asked = []

    def stability(k):
        asked.append(k)
        return np.full(5, 0.5 if k == 3 else 0.95)

    k, table = P.choose_k(t, 0.05, 0.75, 0.6, stability)
    assert k == 2
    assert asked == [3, 2]  # k = 4 fails on size before any bootstrap; k = 3 then k = 2 by BIC
    v = table.set_index("k")["verdict"]
    assert v[4].startswith("fails: smallest persona") and v[3].startswith("fails: stability") and v[2] == "chosen"
    assert v[1] == "admissible, higher BIC"


def test_rule_falls_back_to_one_persona():
    t = _table([[1, 100, 1, 1, 1, 1], [2, 90, .01, .9, np.nan, np.nan], [3, 95, .2, .4, np.nan, np.nan]])
    k, table = P.choose_k(t, 0.05, 0.75, 0.6, lambda k: np.ones(3))
    assert k == 1
    assert table.set_index("k").loc[3, "verdict"].startswith("fails: entropy")
    # without bootstrap (threshold -inf) the rule uses size and entropy only
    t2 = _table([[1, 100, 1, 1, 1, 1], [2, 90, .3, .9, np.nan, np.nan]])
    assert P.choose_k(t2, 0.05, -np.inf, 0.6)[0] == 2


# --------------------------------------------------------------------- names, matching, tests


def _profile(rows):
    return pd.DataFrame(rows, columns=["feature", "label", "kind", "persona", "std_diff"])


def test_generated_names_read_the_profile_and_are_unique():
    prof = _profile([
        ["use_app", "uses app", "binary", 1, 0.9], ["use_social", "uses social", "binary", 1, 0.7],
        ["att_tech", "tech", "ordinal", 1, 0.5], ["use_store", "uses store", "binary", 1, -0.8],
        ["use_app", "uses app", "binary", 2, -0.9], ["att_tech", "tech", "ordinal", 2, 1.2],
        ["senior", "senior citizen", "binary", 2, -0.6], ["use_store", "uses store", "binary", 2, 0.2],
        ["use_app", "uses app", "binary", 3, 0.1], ["att_tech", "tech", "ordinal", 3, 0.1],
        ["use_app", "uses app", "binary", 4, 0.1], ["att_tech", "tech", "ordinal", 4, -0.1]])
    names = P.generate_names(prof, [1, 2, 3, 4])
    assert names[1] == "App & social users, low store use"
    assert names[2] == "High tech, low app use"
    assert names[3] == "Average profile (3)" and names[4] == "Average profile (4)"
    assert P.generate_names(prof, [1, 2, 3, 4]) == names
    assert P.generate_names(prof, [1]) == {1: "All customers"}


def test_hungarian_matching_recovers_a_permutation():
    rng = np.random.default_rng(0)
    feats = [f"f{i}" for i in range(6)]
    prev = {p: dict(zip(feats, rng.normal(size=6))) for p in (1, 2, 3, 4)}
    perm = {1: 3, 2: 1, 3: 4, 4: 2}  # current persona -> previous persona
    cur = {c: {f: v + rng.normal(0, 0.05) for f, v in prev[p].items()} for c, p in perm.items()}
    mapping, table = P.match_previous(cur, prev, dict.fromkeys(feats, 1.0))
    assert mapping == perm
    assert (table["distance"] < 0.2).all()
    # one persona fewer now: every current persona still finds its own
    del cur[4]
    assert P.match_previous(cur, prev, dict.fromkeys(feats, 1.0))[0] == {1: 3, 2: 1, 3: 4}


def test_equal_means_test_with_two_groups_is_the_squared_t():
    rng = np.random.default_rng(5)
    n = 300
    g = rng.integers(1, 3, n)
    y = rng.normal(0, 1, n) + 0.3 * (g == 2)
    y[rng.random(n) < 0.1] = np.nan
    design = Design(rng.uniform(0.5, 2, n))
    res = P.equal_means_test(y, g, [1, 2], design)
    t = difference_in_means(y, g, 1, 2, design)["statistic"]
    assert res["f_statistic"] == pytest.approx(t**2, rel=1e-10)
    assert res["ndf"] == 1


# ------------------------------------------------------------------------------- typing tool


def test_wilks_order_takes_the_informative_questions_first():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 3, 900)
    X = np.column_stack([rng.normal(size=900), y + rng.normal(0, 0.5, 900), rng.normal(size=900),
                         (y == 2) + rng.normal(0, 0.8, 900)])
    assert wilks_order(X, y, 4)[:2] == [1, 3]
    assert len(wilks_order(X, y, 2)) == 2


@pytest.fixture(scope="module")
def small_solution():
    df, truth, _ = simulate_survey(SimulationParams(n=1200, seed=5))
    clean = truth[["speeder", "straightliner", "attention_fail", "duplicate"]].sum(axis=1).eq(0).to_numpy()
    df = df[clean].reset_index(drop=True)
    cb = Codebook.model_validate(default_codebook())
    return P.fit_personas(df, cb, Design.unweighted(len(df)), max_personas=3, n_init=2, bootstrap_reps=3, seed=3)


def test_typing_tool_json_roundtrip_and_assign(small_solution, tmp_path):
    sol = small_solution
    assert sol.k > 1
    tool, curve, confusion = train_typing_tool(sol.codes, sol.enc, sol.labels, sol.weights, sol.names,
                                               sol.id_column, max_questions=5, cv_folds=3, seed=1)
    assert 1 <= len(tool.questions) <= 5 and len(curve) == 5
    assert tool.accuracy["cv_accuracy"] > tool.accuracy["chance"]
    assert confusion.to_numpy().sum() == len(sol.labels)
    path = tool.save(tmp_path / "typing_tool.json")
    again = TypingTool.load(path)
    assert np.array_equal(again.predict(sol.df), tool.predict(sol.df))
    # the saved discriminant functions give sklearn's predictions
    raw = json.loads(path.read_text())
    assert raw["questions"][0]["column"] == tool.questions[0] and "coef" in raw["personas"][0]

    new = sol.df.assign(email="someone@example.com")  # a PII column must not travel to the output
    new.loc[0, tool.questions] = np.nan  # answered none of the questions
    data = tmp_path / "new.csv"
    new.to_csv(data, index=False)
    out = assign_personas(path, data, tmp_path / "typed.csv")
    typed = pd.read_csv(out)
    assert list(typed.columns) == [sol.id_column, "persona", "persona_name"]
    assert typed.loc[0, "persona"] == 0 and pd.isna(typed.loc[0, "persona_name"])
    assert set(typed["persona"].iloc[1:]) <= set(sol.numbers)
    assert (typed["persona"].iloc[1:].to_numpy() == tool.predict(new.iloc[1:])).all()
    with pytest.raises(InputError, match=tool.questions[0]):
        new.drop(columns=tool.questions[0]).to_csv(data, index=False)
        assign_personas(path, data)
    with pytest.raises(InputError, match="typing tool"):
        assign_personas(tmp_path / "missing.json", data)


def test_classify_reproduces_the_fitted_labels_and_handles_new_gaps(small_solution):
    sol = small_solution
    assert np.array_equal(sol.classify(sol.df), sol.labels)
    gaps = sol.df.copy()
    gaps.loc[:9, sol.enc.binary[0]] = np.nan  # a block that was complete at fitting time
    assert set(sol.classify(gaps)) <= set(sol.numbers)


# --------------------------------------------------------------------------------- skip path


def test_without_persona_features_every_section_is_skipped(tmp_path):
    cb = Codebook.model_validate({"id": "id"})
    df = pd.DataFrame({"id": range(10), "x": range(10)})
    sol = P.fit_personas(df, cb)
    assert sol.skipped and "persona_features" in sol.skipped
    profiles = None
    typing = P.build_typing_tool(sol)
    for view in (sections.choice(sol), sections.sizes(sol, profiles), sections.distinguishing(sol, profiles),
                 sections.by_persona(sol, None, None), sections.typing_tool(typing, sol)):
        assert view.skipped
    assert typing.skipped and P.save_typing_tool(typing, tmp_path) is None
    assert P.save_assignments(sol, tmp_path) is None
    assert P.collect(sol) == {"section": "Personas", "skipped": True, "reason": sol.skipped}
    missing = P.fit_personas(df, _codebook(binary=["nope"]))
    assert "nope" in missing.skipped


def test_more_than_four_personas_comes_with_a_note(small_solution):
    sol = small_solution
    df = sol.df
    big = P.fit_personas(df, sol.cb, Design.unweighted(len(df)), max_personas=5, n_init=1, bootstrap_reps=0, seed=1)
    assert any("above the articles' rule" in n for n in big.notes)
    assert (big.table["k"] <= 5).sum() == 5 and len(big.table) == P.FIT_UP_TO  # fitted past the cap to 8


def test_large_samples_are_fitted_on_a_subsample_and_everyone_is_classified(small_solution):
    df = small_solution.df
    sol = P.fit_personas(df, small_solution.cb, Design.unweighted(len(df)), max_personas=3, n_init=2,
                          bootstrap_reps=3, seed=3, max_fit_n=600)
    assert any("subsample of 600" in n for n in sol.notes)
    assert len(sol.labels) == len(df) and set(sol.labels) == set(sol.numbers)
    assert np.array_equal(sol.classify(df), sol.labels)


def test_respondents_without_any_persona_answer_are_left_unclassified(small_solution, tmp_path):
    df = small_solution.df.copy()
    df.loc[:4, small_solution.enc.features] = np.nan
    sol = P.fit_personas(df, small_solution.cb, Design.unweighted(len(df)), max_personas=2, n_init=1,
                          bootstrap_reps=0, seed=3)
    assert any(n.startswith("5 respondents answered none") for n in sol.notes)
    assert len(sol.labels) == len(df) - 5 and sol.design.n == len(df) - 5
    saved = pd.read_parquet(P.save_assignments(sol, tmp_path))
    assert not set(df.loc[:4, "resp_id"]) & set(saved["resp_id"])


# ------------------------------------------------------------------------------ package shape


def test_analysis_modules_import_no_matplotlib_and_print_nothing():
    """Issue 13: analysis returns data; drawing lives in `figures`, words and tables in `sections`."""
    import ast
    import subprocess
    import sys
    from pathlib import Path

    package = Path(P.__file__).parent
    analysis = [f for f in package.glob("*.py") if f.stem not in ("figures", "sections")]
    for f in package.glob("*.py"):
        assert len(f.read_text().splitlines()) < 500, f"{f.name} is over 500 lines"
    for f in analysis:
        tree = ast.parse(f.read_text())
        imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        imported |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        assert not any("matplotlib" in m or m.endswith("plots") for m in imported), f.name
        calls = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
        assert not calls & {"print", "display"}, f.name
    # importing the study (and the typing tool on its own) loads no matplotlib and no import cycle
    code = ("import sys; import engagement.studies.personas.typing_tool; import engagement.studies.personas; "
            "assert not any(m.startswith('matplotlib') for m in sys.modules)")
    subprocess.run([sys.executable, "-c", code], check=True)
