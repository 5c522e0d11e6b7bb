import json

import numpy as np
import pandas as pd

from engagement.codebook import load_codebook
from engagement.simulate import SimulationParams, population_truth, simulate_survey, write_survey


def test_same_seed_gives_identical_bytes(tmp_path):
    a = write_survey(tmp_path / "a", SimulationParams(n=300, seed=5))
    b = write_survey(tmp_path / "b", SimulationParams(n=300, seed=5))
    for key in a:
        assert a[key].read_bytes() == b[key].read_bytes(), key
    c = write_survey(tmp_path / "c", SimulationParams(n=300, seed=6))
    assert c["survey"].read_bytes() != a["survey"].read_bytes()


def test_truth_is_kept_out_of_the_survey(tmp_path):
    paths = write_survey(tmp_path, SimulationParams(n=200, seed=1))
    survey = pd.read_csv(paths["survey"])
    assert "persona" not in survey.columns and "persona_name" not in survey.columns
    truth = pd.read_csv(paths["truth"])
    assert list(truth["resp_id"]) == list(survey["resp_id"])
    assert set(truth["persona"]) <= {1, 2, 3, 4}


def test_written_codebook_validates_and_declares_pii(tmp_path):
    paths = write_survey(tmp_path, SimulationParams(n=100, seed=2))
    cb = load_codebook(paths["codebook"])
    assert cb.pii == ["email"]
    assert cb.scales["ces"].higher_is_better and cb.scales["ces"].max == 7
    assert {o.kind for o in cb.outcomes} == {"nps", "likert", "binary", "count"}


def test_planted_defects_have_the_requested_rates():
    p = SimulationParams(n=4000, seed=3)
    df, truth, _ = simulate_survey(p)
    assert truth["duplicate"].sum() == round(p.duplicate_rate * p.n)
    assert truth["speeder"].sum() == round(p.speeder_rate * p.n)
    assert truth["attention_fail"].sum() == round(p.attention_fail_rate * p.n)
    assert len(df) == p.n + truth["duplicate"].sum()
    # item non-response is present but modest
    assert 0.01 < df["csat"].isna().mean() < 0.06


def test_sample_is_skewed_away_from_population_margins():
    df, _, _ = simulate_survey(SimulationParams(n=5000, seed=4))
    young = (df["age_group"] == 1).mean()
    assert young > 0.18  # population share is 0.12


def test_population_multichannel_share_matches_a_large_draw():
    p = SimulationParams(n=60000, seed=9, skew_sample=False, speeder_rate=0, straightliner_rate=0,
                         attention_fail_rate=0, duplicate_rate=0)
    df, _, pop = simulate_survey(p)
    used = df[[c for c in df if c.startswith("use_")]].sum(axis=1)
    assert abs((used >= 2).mean() - pop["multichannel_share"]) < 0.006  # ~5 SE at n = 60,000


def test_loyalty_truth_direction_follows_parameters():
    assert population_truth(SimulationParams(effect_effort=0.6, effect_satisfaction=0.3))["loyalty_stronger_predictor"] == "ces"
    assert population_truth(SimulationParams(effect_effort=0.3, effect_satisfaction=0.6))["loyalty_stronger_predictor"] == "csat"
    assert population_truth(SimulationParams(effect_effort=0.4, effect_satisfaction=0.4))["loyalty_stronger_predictor"] == "equal"


def test_one_persona_model():
    df, truth, pop = simulate_survey(SimulationParams(n=500, seed=1, n_personas=1))
    assert set(truth["persona"]) == {1}
    assert pop["persona_share"] == [1.0]


def test_waves_drift(tmp_path):
    from engagement.simulate import simulate_waves

    written = simulate_waves(tmp_path, waves=2, base=SimulationParams(n=3000, seed=8))
    assert [p["survey"].parent.name for p in written] == ["2026-Q1", "2026-Q2"]
    first, second = (pd.read_csv(p["survey"]) for p in written)
    assert second["ces"].mean() > first["ces"].mean()
    assert json.loads(written[1]["truth_json"].read_text())["params"]["wave"] == "2026-Q2"
    assert np.isfinite(second["nps"]).all()
