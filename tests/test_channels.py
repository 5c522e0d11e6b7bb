"""The channel-preferences study: unit checks, planted-truth recovery on the simulator, and the
notebook on the default survey and on the Telco example codebook.

Planted truth (engagement.simulate): channel use depends on age group (through the personas) and
not on gender or region; phone and social are the planted pain points of the last service
interaction. Seeds are fixed; where a single seed would leave a 5% chance of failure by design
(interval coverage, false positives under a true null) a family of seeds is run and the observed
rate is checked against its binomial range instead.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from engagement import crosstabs, survey_stats
from engagement.studies import channels
from engagement.codebook import Codebook, load_codebook
from engagement.config import DEFAULT_CODEBOOK, DEFAULT_SURVEY, EXAMPLES_DIR, NOTEBOOKS_DIR
from engagement.prepare import design_for, prepare_survey, weight_survey
from engagement.results import WEIGHT
from engagement.simulate import SimulationParams, default_codebook, simulate_survey
from engagement.survey_stats import Design

DEFECTS = ["speeder", "straightliner", "attention_fail", "duplicate"]


def simulated(n: int, seed: int) -> tuple[pd.DataFrame, Codebook, dict]:
    """A screened (defects dropped by their planted flags), raked sample and its population truth."""
    params = SimulationParams(n=n, seed=seed)
    df, truth, pop = simulate_survey(params)
    df = df[~truth[DEFECTS].any(axis=1).to_numpy()].reset_index(drop=True)
    cb = Codebook.model_validate(default_codebook(params))
    df[WEIGHT] = weight_survey(df, cb)[0]
    return df, cb, pop


@pytest.fixture(scope="module")
def default_run():
    """The embedded default survey through the pipeline's own preparation (5,000 respondents)."""
    cb = load_codebook(DEFAULT_CODEBOOK)
    df = prepare_survey(DEFAULT_SURVEY, cb).data
    return df, cb, design_for(df, cb)


@pytest.fixture(scope="module")
def small():
    df, cb, pop = simulated(800, 11)
    return df, cb, design_for(df, cb), pop


# ------------------------------------------------------------------------------- units


def test_adjust_pvalues_matches_statsmodels():
    from statsmodels.stats.multitest import multipletests

    rng = np.random.default_rng(5)
    for _ in range(20):
        p = rng.random(rng.integers(1, 15)) ** 3
        for method in ("holm", "bonferroni"):
            assert np.allclose(survey_stats.adjust_pvalues(p, method), multipletests(p, method=method)[1])
    out = survey_stats.adjust_pvalues([0.01, np.nan, 0.04], "holm")
    assert np.isnan(out[1]) and out[0] == pytest.approx(0.02) and out[2] == pytest.approx(0.04)
    with pytest.raises(ValueError):
        survey_stats.adjust_pvalues([0.1], "sidak")


def test_codes_match_across_types_and_missing_stays_missing():
    s = pd.Series([1, 2.0, "3", None, 9])
    mapped = crosstabs.relabel(s, {1: "store", 2: "web", 3: "app"})
    assert mapped.tolist() == ["store", "web", "app", None, None]
    hit = crosstabs.in_values(pd.Series([4.0, 5, 3, np.nan]), [4, 5])
    assert hit.tolist()[:3] == [1.0, 1.0, 0.0] and np.isnan(hit.iloc[3])


def test_multichannel_share_is_the_weighted_share_of_complete_rows():
    df = pd.DataFrame({"a": [1, 1, 0, 1, np.nan], "b": [1, 0, 0, 1, 1], "c": [0, 0, 1, 1, 1]})
    cb = Codebook.model_validate({"id": "id", "channels": {"usage": {"a": "a", "b": "b", "c": "c"}}})
    w = np.array([1.0, 2.0, 1.0, 4.0, 10.0])
    res = channels.multichannel_share(df, cb, Design(w))
    assert res["n"] == 4  # the row with a missing usage answer is out of the base
    assert res["estimate"] == pytest.approx((1 + 4) / (1 + 2 + 1 + 4))
    assert res["ci_low"] < res["estimate"] < res["ci_high"]
    dist = channels.repertoire_distribution(df, cb, Design(w))
    assert dist["channels"].tolist() == [1, 2, 3]
    assert dist["estimate"].sum() == pytest.approx(1.0)


def test_stage_shares_sum_to_one_per_stage(small):
    df, cb, design, _ = small
    shares = channels.stage_shares(df, cb, design)
    assert set(shares["stage"]) == set(cb.channels.stages)
    assert np.allclose(shares.groupby("stage")["estimate"].sum(), 1.0)
    assert ((shares["ci_low"] <= shares["estimate"]) | shares["ci_low"].isna()).all()


def test_crosstab_merges_sparse_levels_and_letters_follow_banner_order():
    rng = np.random.default_rng(3)
    n = 600
    seg = rng.integers(1, 4, n)
    pref = np.where(rng.random(n) < 0.5 + 0.15 * (seg == 3), 1, 2)
    seg[:24] = np.tile([1, 2, 3], 8)
    pref[:12], pref[12:24] = 3, 4  # two levels with 4 respondents per column: merged, 8 per column
    df = pd.DataFrame({"pref": pref, "seg": seg})
    labels = {1: "store", 2: "web", 3: "chat", 4: "sms"}
    tab = channels.crosstab(df, "pref", "seg", Design.unweighted(n), row_labels=labels,
                            column_labels={1: "north", 2: "south", 3: "east"}, collapse_sparse=True)
    assert tab.collapsed == ["chat", "sms"] and tab.excluded == []
    assert list(dict.fromkeys(tab.cells["row"])) == ["store", "web", "other"]
    assert list(dict.fromkeys(tab.cells["column"])) == ["north", "south", "east"]
    assert tab.cells["letter"].tolist()[:3] == ["A", "B", "C"]
    store_east = tab.cells[(tab.cells["row"] == "store") & (tab.cells["column"] == "east")].iloc[0]
    assert set(store_east["higher_than"]) <= {"A", "B"}
    banner = tab.banner()
    assert list(banner.columns) == ["pref", "north (A)", "south (B)", "east (C)"]
    assert 0 <= tab.test["p_value"] <= 1 and tab.test["cramers_v"] > 0
    # one thin level: merging cannot help, so it is left out of the table and the test still runs
    df.loc[:23, "pref"] = np.r_[np.full(3, 3), np.full(21, 1)]
    tab = channels.crosstab(df, "pref", "seg", Design.unweighted(n), row_labels=labels, collapse_sparse=True)
    assert tab.collapsed == [] and tab.excluded == ["chat"]
    assert tab.test["n"] == n - 3 and np.isfinite(tab.test["p_value"])


def test_sections_skip_with_a_reason_when_the_codebook_lacks_their_inputs(small):
    df, cb, design, _ = small
    bare = cb.model_copy(update={"channels": None, "claims": [], "persona_features": None,
                                 "behaviour": cb.behaviour.model_copy(update={"orders": None, "revenue": None})})
    sections = [channels.reach_and_repertoire(df, bare, design), channels.stage_preferences(df, bare, design),
                channels.journey_map(df, bare, design), channels.drivers(df, bare, design),
                channels.who_differs(df, bare, design)]
    assert all(s.skipped for s in sections)
    results = channels.collect(*sections)
    assert results["claims"] == []
    assert all(results[s.key]["skipped"] and results[s.key]["reason"] for s in sections)
    no_ratings = cb.model_copy(update={"scales": {}})
    assert "CES or CSAT" in channels.journey_map(df, no_ratings, design).skipped


def test_claims_entries_carry_claimed_estimate_interval_and_verdict(small):
    df, cb, design, _ = small
    sec = channels.drivers(df, cb, design)
    entries = {e["id"]: e for e in sec.results["claims"]}
    expected = {c.id for c in cb.claims} | {"C07", "C14", "C15"}
    assert set(entries) == expected
    for e in entries.values():
        assert e["ci_low"] <= e["estimate"] <= e["ci_high"]
        assert e["verdict"] in ("consistent", "higher", "lower", "inconclusive")
        assert e["ci_low_adjusted"] <= e["ci_low"] and e["ci_high"] <= e["ci_high_adjusted"]
        assert e["n"] > 0 and e["claimed"] is not None
    # C07 counts the declared shopping channels only (store, web, app), not e-mail or SMS
    assert cb.channels.shopping == ["store", "web", "app"]
    used = df[["use_store", "use_web", "use_app"]].sum(axis=1)
    expected = np.average(used >= 2, weights=design.weights)
    assert entries["C07"]["estimate"] == pytest.approx(expected)
    assert entries["C07"]["estimate"] < channels.multichannel_share(df, cb, design)["estimate"]
    assert entries["C14"]["unit"] == "ratio" and entries["C15"]["estimate"] > 0


def test_c07_is_not_tested_without_declared_shopping_channels(small):
    df, cb, design, _ = small
    no_shopping = cb.model_copy(update={"channels": cb.channels.model_copy(update={"shopping": []})})
    assert "C07" not in set(channels.claim_estimates(df, no_shopping, design)["id"])


def test_pain_points_respect_scale_direction(small):
    """Reversing CES (8 − x) and declaring it lower-is-better must flag the same channels."""
    df, cb, design, _ = small
    base = channels.service_ratings(df, cb, design)
    flipped_df = df.assign(ces=8 - df["ces"])
    scales = dict(cb.scales)
    scales["ces"] = cb.scales["ces"].model_copy(update={"higher_is_better": False})
    flipped = channels.service_ratings(flipped_df, cb.model_copy(update={"scales": scales}), design)
    a = base[base["scale"] == "ces"].set_index("channel")
    b = flipped[flipped["scale"] == "ces"].set_index("channel")
    assert a["pain_point"].equals(b["pain_point"]) and a["status"].equals(b["status"])
    assert np.allclose(a["p_adjusted"], b["p_adjusted"])


# ------------------------------------------------------------------------- planted truth


def test_intervals_cover_the_planted_channel_use():
    """20 seeds × (multichannel share + 8 channel-use shares) = 180 raked 95% intervals; the share
    covering population_truth must be in the binomial range of a 95% procedure. (The simulator's
    channel_use_share ignores the 'no channel -> main channel' fix-up, which raises true store use by
    0.002; that is a tenth of an SE at n = 2,000.)"""
    covered, total, multi_cover = 0, 0, 0
    for seed in range(101, 121):
        df, cb, pop = simulated(2000, seed)
        design = design_for(df, cb)
        m = channels.multichannel_share(df, cb, design)
        multi_cover += m["ci_low"] <= pop["multichannel_share"] <= m["ci_high"]
        reach = channels.channel_reach(df, cb, design).set_index("channel")
        hits = [reach.at[c, "ci_low"] <= share <= reach.at[c, "ci_high"] for c, share in pop["channel_use_share"].items()]
        covered += sum(hits) + (m["ci_low"] <= pop["multichannel_share"] <= m["ci_high"])
        total += len(hits) + 1
    low = stats.binom.ppf(0.001, total, 0.95)
    assert covered >= low, f"{covered}/{total} intervals cover the planted truth"
    assert multi_cover >= stats.binom.ppf(0.001, 20, 0.95)


def test_default_survey_recovers_the_multichannel_share(default_run):
    df, cb, design = default_run
    truth = json.loads((DEFAULT_SURVEY.parent / "truth.json").read_text())
    m = channels.multichannel_share(df, cb, design)
    assert m["ci_low"] <= truth["multichannel_share"] <= m["ci_high"]
    assert m["ci_high"] - m["ci_low"] < 0.03


def test_age_differences_detected_and_gender_region_nulls_hold_their_level():
    """Across 40 seeds (n = 1,000 each): channel use differs by age group in every sample, while the
    family-wise rate of 'gender (or region) differs' after Holm correction stays within the binomial
    range of a 5% procedure (80 null families)."""
    age_hits, null_hits, null_families = 0, 0, 0
    for seed in range(201, 241):
        df, cb, _ = simulated(1000, seed)
        tests, _ = channels.segment_tests(df, cb, design_for(df, cb))
        differs = tests.groupby("segment")["significant"].any()
        age_hits += bool(differs["age_group"])
        null_hits += int(differs["gender"]) + int(differs["region"])
        null_families += 2
    assert age_hits == 40
    assert null_hits <= stats.binom.ppf(0.995, null_families, 0.05), f"{null_hits}/{null_families} false positives"


def test_default_survey_flags_the_planted_pain_points(default_run):
    df, cb, design = default_run
    service = channels.service_ratings(df, cb, design)
    ces = service[service["scale"] == "ces"].set_index("channel")
    assert ces.at["phone", "pain_point"] and ces.at["social", "pain_point"]
    # the channels with the highest planted ease are never pain points on either rating
    assert not service[service["channel"].isin(["store", "web", "app"])]["pain_point"].any()
    recorded = channels.journey_map(df, cb, design).results["pain_points"]
    assert {"phone", "social"} <= {p["channel"] for p in recorded}
    sec = channels.who_differs(df, cb, design)
    assert sec.results["who_differs"]["segments_differing"] == {"age_group": True, "gender": False, "region": False}


# ------------------------------------------------------------------------------ notebook


def _run_notebook(tmp_path, data_path, codebook_path):
    import nbformat
    import papermill as pm

    out = tmp_path / "run"
    nb_path = tmp_path / "10.ipynb"
    pm.execute_notebook(str(NOTEBOOKS_DIR / "10-channel-preferences.ipynb"), str(nb_path),
                        parameters={"data_path": str(data_path), "codebook_path": str(codebook_path),
                                    "output_dir": str(out)}, cwd=str(NOTEBOOKS_DIR), progress_bar=False)
    nb = nbformat.read(nb_path, as_version=4)
    streams = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "stream"]
    assert not [o for o in streams if o.get("name") == "stderr"], "the notebook printed warnings"
    return nb, json.loads((out / "results" / "channels.json").read_text())


@pytest.mark.notebooks
def test_notebook_on_a_small_default_survey(tmp_path):
    from engagement.simulate import write_survey

    paths = write_survey(tmp_path / "data", SimulationParams(n=600, seed=7))
    nb, res = _run_notebook(tmp_path, paths["survey"], paths["codebook"])
    assert set(res["multichannel_share"]) == {"estimate", "ci_low", "ci_high", "n"}
    assert res["purchase_leader"]["channel"] and isinstance(res["pain_points"], list)
    assert {"C07", "C03a", "C12", "C14", "C15"} <= {e["id"] for e in res["claims"]}
    images = sum("image/png" in o.get("data", {}) for c in nb.cells for o in c.get("outputs", []))
    assert images >= 12
    assert not any(v.get("skipped") for v in res.values() if isinstance(v, dict))


@pytest.mark.notebooks
def test_notebook_on_the_telco_example_codebook_shows_skip_notes(tmp_path):
    from tests.shared import shared_dir

    data = shared_dir() / "data" / "telco_churn" / "Telco-Customer-Churn.csv"
    nb, res = _run_notebook(tmp_path, data, EXAMPLES_DIR / "telco_churn.yaml")
    assert res["claims"] == []
    for key in ("reach", "stages", "journey_map", "drivers", "who_differs"):
        assert res[key]["skipped"] and res[key]["reason"]
    notes = [o["data"].get("text/markdown", "") for c in nb.cells for o in c.get("outputs", []) if "data" in o]
    # one short "not analysed" list, one line for the whole study, instead of five skip notes
    assert sum("skipped" in t for t in notes) == 1
    assert sum("Not analysed" in t for t in notes) == 1 and "`channels`" in "".join(notes)


def test_journey_map_reuses_the_stage_section(small):
    df, cb, design, _ = small
    stages = channels.stage_preferences(df, cb, design)
    assert channels.journey_map(df, cb, design, stages=stages).results == channels.journey_map(df, cb, design).results


def test_journey_map_judges_channels_against_their_stage_when_the_stage_is_known(small):
    df, cb, design, _ = small
    rng = np.random.default_rng(8)
    staged = df.assign(last_stage=rng.choice(["support", "returns"], len(df)))
    cb2 = cb.model_copy(update={"channels": cb.channels.model_copy(update={"last_interaction_stage": "last_stage"})})
    sec = channels.journey_map(staged, cb2, design)
    by_stage = sec.tables["service_by_stage"]
    assert set(by_stage["stage"]) == {"support", "returns"}
    service = channels.service_ratings(staged, cb2, design)
    for (stage, scale), g in service.groupby(["stage", "scale"]):
        within = staged["last_stage"] == stage
        y = staged[scale].where(staged["last_channel"].notna() & within)
        assert g["overall_mean"].iloc[0] == pytest.approx(np.average(y.dropna(), weights=design.weights[y.notna().to_numpy()]))
    assert all(p["stage"] in {"support", "returns"} for p in sec.results["pain_points"])
    assert "journey" in sec.figures  # the figure shows the channel ratings pooled over stages
