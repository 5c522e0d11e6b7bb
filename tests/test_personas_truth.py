"""Planted-truth tests of the persona study (fixed seeds), the real-data run, and the notebook.

The default survey plants four personas (truth.csv); a survey simulated with one persona plants no
structure; two simulated waves share the four personas; a fresh sample from the same model checks
the typing tool's reported accuracy.
"""

from __future__ import annotations

import json

import nbformat
import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.metrics import adjusted_rand_score

from engagement.studies import personas as P
from engagement.studies.personas import sections
from engagement.codebook import load_codebook
from engagement.config import DEFAULT_CODEBOOK, DEFAULT_SEED, DEFAULT_SURVEY, DEFAULT_TRUTH, EXAMPLES_DIR, NOTEBOOKS_DIR
from engagement.prepare import analysis_data, design_for
from engagement.results import to_jsonable
from engagement.simulate import SimulationParams, simulate_survey, simulate_waves, write_survey
from engagement.studies.personas.typing_tool import train_typing_tool

DEFECTS = ["speeder", "straightliner", "attention_fail", "duplicate"]


def _solve(data_path, codebook_path, out, **kwargs):
    cb = load_codebook(codebook_path)
    df = analysis_data(data_path, codebook_path, out)
    return P.fit_personas(df, cb, design_for(df, cb), seed=kwargs.pop("seed", DEFAULT_SEED), **kwargs)


def _majority(truth: pd.Series, labels: np.ndarray) -> dict[int, str]:
    """Persona number -> the planted persona most of its members have."""
    return pd.crosstab(labels, truth.to_numpy()).idxmax(axis=1).to_dict()


@pytest.fixture(scope="module")
def default(tmp_path_factory):
    """The default survey with the notebook's default parameters."""
    out = tmp_path_factory.mktemp("personas_default")
    sol = _solve(DEFAULT_SURVEY, DEFAULT_CODEBOOK, out)
    truth = pd.read_csv(DEFAULT_TRUTH).set_index("resp_id").loc[sol.df["resp_id"]]
    return sol, truth, out


def test_default_survey_recovers_the_four_planted_personas(default):
    sol, truth, _ = default
    assert sol.k == 4
    ari = adjusted_rand_score(truth["persona"], sol.labels)
    assert ari >= 0.8, f"ARI {ari:.3f} against the planted personas"
    # each planted persona is the majority of exactly one recovered persona
    assert sorted(_majority(truth["persona_name"], sol.labels).values()) == sorted(truth["persona_name"].unique())
    assert sol.stability >= 0.75
    assert sol.sizes["estimate"].sum() == pytest.approx(1.0)
    assert (sol.sizes["ci_low"] < sol.sizes["estimate"]).all() and (sol.sizes["estimate"] < sol.sizes["ci_high"]).all()
    # the comparison method finds a similar, but weaker, grouping
    assert 0.5 < sol.kmeans_ari < 1


def test_rerun_on_the_same_data_gives_identical_labels_and_names(default, tmp_path):
    sol, _, out = default
    again = _solve(DEFAULT_SURVEY, DEFAULT_CODEBOOK, out)
    assert np.array_equal(again.labels, sol.labels)
    assert again.names == sol.names
    assert again.table.equals(sol.table)
    P.save_assignments(sol, tmp_path / "a")
    P.save_assignments(again, tmp_path / "b")
    a, b = (pd.read_parquet(tmp_path / x / P.PERSONA_FILE) for x in "ab")
    assert a.equals(b)
    assert list(a.columns) == ["resp_id", "persona", "persona_name"] and a["persona"].dtype == "int64"


def test_one_planted_persona_gives_one_persona(tmp_path):
    paths = write_survey(tmp_path / "data", SimulationParams(n_personas=1, seed=DEFAULT_SEED))
    sol = _solve(paths["survey"], paths["codebook"], tmp_path / "run")
    assert sol.k == 1, sol.table[["k", "bic", "min_share", "relative_entropy", "verdict"]].to_string()
    assert sol.names == {1: "All customers"}
    # the richer solutions were considered and rejected by the rule, not never tried
    assert len(sol.table) == 8 and not sol.table.loc[sol.table["k"] > 1, "chosen"].any()
    text = sections.choice(sol).text
    assert "No persona structure" in text


def test_typing_tool_reaches_its_reported_accuracy_on_fresh_respondents(default):
    sol, _, _ = default
    tool, _, _ = train_typing_tool(sol.codes, sol.enc, sol.labels, sol.weights, sol.names, sol.id_column,
                                   max_questions=8, cv_folds=5, seed=DEFAULT_SEED)
    assert len(tool.questions) <= 8
    fresh, truth, _ = simulate_survey(SimulationParams(n=5000, seed=DEFAULT_SEED + 101))
    fresh = fresh[truth[DEFECTS].sum(axis=1).eq(0).to_numpy()].reset_index(drop=True)
    agree = float(np.mean(tool.predict(fresh) == sol.classify(fresh)))
    reported = tool.accuracy["cv_accuracy"]
    assert reported > 0.75
    assert abs(agree - reported) < 0.025, f"holdout agreement {agree:.3f}, reported {reported:.3f}"


def test_waves_keep_persona_numbers_and_names(default, tmp_path):
    sol, truth, _ = default
    previous = json.loads(json.dumps(to_jsonable(P.collect(sol))))
    wave2 = simulate_waves(tmp_path / "waves", waves=2)[1]
    truth2 = pd.read_csv(wave2["truth"]).set_index("resp_id")

    matched = _solve(wave2["survey"], wave2["codebook"], tmp_path / "run", previous=previous)
    assert matched.numbers == sol.numbers and matched.names == sol.names
    assert _majority(truth2.loc[matched.df["resp_id"], "persona_name"], matched.labels) == \
        _majority(truth["persona_name"], sol.labels)
    assert len(matched.matching) == 4 and (matched.matching["distance"] < 0.3).all()

    # previous numbers and names in a different order: they still follow the people, not the sizes
    perm = {1: 3, 2: 4, 3: 1, 4: 2}
    shuffled = {**previous, "profiles": [{**p, "persona": perm[p["persona"]], "name": f"Name {perm[p['persona']]}"}
                                         for p in previous["profiles"]]}
    again = _solve(wave2["survey"], wave2["codebook"], tmp_path / "run", previous=shuffled)
    assert again.names == {q: f"Name {q}" for q in (1, 2, 3, 4)}
    before = _majority(truth["persona_name"], sol.labels)
    after = _majority(truth2.loc[again.df["resp_id"], "persona_name"], again.labels)
    assert {perm[p]: name for p, name in before.items()} == after


def test_analyst_names_override_the_generated_ones(default):
    sol, _, _ = default
    named = P.fit_personas(sol.df, sol.cb, sol.design, seed=DEFAULT_SEED, persona_names=["Loyal", "", "Thrifty"],
                            bootstrap_reps=0)
    assert named.names[1] == "Loyal" and named.names[3] == "Thrifty"
    assert named.names[2] == named.generated_names[2] and named.names[4] == named.generated_names[4]
    assert any("names were applied in persona order" in n for n in named.notes)


def test_telco_example_runs_end_to_end(tmp_path):
    from tests.shared import shared_dir

    data = shared_dir() / "data" / "telco_churn" / "Telco-Customer-Churn.csv"
    codebook = EXAMPLES_DIR / "telco_churn.yaml"
    sol = _solve(data, codebook, tmp_path, seed=1)
    assert not sol.skipped and 1 <= sol.k <= 4
    assert len(sol.labels) == 7043
    from engagement.studies.personas import figures

    profiles = P.describe(sol)
    channel_use, measures = P.compare_channels(sol), P.compare_measures(sol)
    views = [sections.choice(sol), sections.sizes(sol, profiles), sections.distinguishing(sol, profiles),
             sections.by_persona(sol, channel_use, measures)]
    assert not any(v.skipped for v in views)
    typing = P.build_typing_tool(sol, seed=1)
    P.save_typing_tool(typing, tmp_path)
    cards = figures.persona_cards(sol, profiles)
    res = json.loads(json.dumps(to_jsonable(P.collect(sol, profiles, typing))))
    assert res["k"] == sol.k and len(res["sizes"]) == sol.k
    assert sum(s["estimate"] for s in res["sizes"]) == pytest.approx(1.0)
    if sol.k > 1:
        assert res["typing_tool_accuracy"] > res["typing_tool"]["chance"]
        assert (tmp_path / P.TYPING_TOOL_FILE).exists()
        assert len(cards) == sol.k
    # every feature is on its own scale in the profiles (tenure in months, charges in dollars)
    means = pd.DataFrame(res["index_scores"]).groupby("feature")["overall"].first()
    assert 25 < means["tenure"] < 40 and 55 < means["MonthlyCharges"] < 75


def _run_notebook(tmp_path, data_path, codebook_path, **params):
    import papermill as pm

    out = tmp_path / "run"
    nb_path = tmp_path / "30.ipynb"
    pm.execute_notebook(str(NOTEBOOKS_DIR / "30-personas.ipynb"), str(nb_path),
                        parameters={"data_path": str(data_path), "codebook_path": str(codebook_path),
                                    "output_dir": str(out), **params}, cwd=str(NOTEBOOKS_DIR), progress_bar=False)
    nb = nbformat.read(nb_path, as_version=4)
    streams = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "stream"]
    assert not streams, f"the notebook printed: {streams[:1]}"
    return nb, json.loads((out / "results" / "personas.json").read_text()), out


@pytest.mark.notebooks
def test_notebook_on_a_small_survey(tmp_path, small_survey):
    nb, res, out = _run_notebook(tmp_path, small_survey["survey"], small_survey["codebook"],
                                 max_personas=3, n_init=1, bootstrap_reps=5)
    assert {"k", "sizes", "names", "stability", "typing_tool_accuracy", "k_selection", "profiles"} <= set(res)
    assert {"persona", "name", "estimate", "ci_low", "ci_high", "n"} <= set(res["sizes"][0])
    per = pd.read_parquet(out / P.PERSONA_FILE)
    assert list(per.columns) == ["resp_id", "persona", "persona_name"]
    if res["k"] > 1:
        assert (out / P.TYPING_TOOL_FILE).exists()
    images = sum("image/png" in o.get("data", {}) for c in nb.cells for o in c.get("outputs", []))
    assert images >= 2 + res["k"]


@pytest.mark.notebooks
def test_notebook_without_persona_features_shows_skip_notes(tmp_path, small_survey):
    raw = yaml.safe_load(small_survey["codebook"].read_text())
    raw.pop("persona_features")
    codebook = tmp_path / "codebook.yaml"
    codebook.write_text(yaml.safe_dump(raw, sort_keys=False))
    nb, res, out = _run_notebook(tmp_path, small_survey["survey"], codebook)
    assert res["skipped"] and "persona_features" in res["reason"]
    notes = [o["data"].get("text/markdown", "") for c in nb.cells for o in c.get("outputs", []) if "data" in o]
    assert sum("skipped" in t for t in notes) == 5
    assert not (out / P.PERSONA_FILE).exists()
