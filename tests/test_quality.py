"""Screening recovers the planted defects of the simulator, and the table adds up."""

import pandas as pd

from engagement.codebook import load_codebook
from engagement.ingest import read_survey
from engagement.quality import screen


def test_screening_recovers_planted_defects(small_survey):
    cb = load_codebook(small_survey["codebook"])
    s = read_survey(small_survey["survey"], cb)
    truth = pd.read_csv(small_survey["truth"])
    res = screen(s.data, cb)
    # every planted duplicate, speeder and attention failure is caught
    for rule in ("duplicate", "speeder", "attention_fail"):
        planted = truth[rule] == 1
        assert res.flags.loc[planted, rule].all(), rule
    assert (res.flags["duplicate"] == (truth["duplicate"] == 1)).all()
    assert (res.flags["attention_fail"] == (truth["attention_fail"] == 1)).all()
    # speeders: at most a handful of genuine fast respondents besides the planted ones
    assert res.flags["speeder"].sum() <= (truth["speeder"] == 1).sum() + 0.01 * len(truth)
    planted_straight = truth["straightliner"] == 1
    assert res.flags.loc[planted_straight, "straightliner"].all()
    # the table adds up: each removed respondent is counted once
    t = res.table
    assert t["removed"].iloc[1:].sum() == len(s.data) - len(res.clean)
    assert t["remaining"].iloc[-1] == len(res.clean)


def test_duplicates_can_be_switched_off(small_survey, tmp_path):
    import yaml

    raw = yaml.safe_load(small_survey["codebook"].read_text())
    raw["screening"]["check_duplicates"] = False
    p = tmp_path / "cb.yaml"
    p.write_text(yaml.safe_dump(raw))
    cb = load_codebook(p)
    res = screen(read_survey(small_survey["survey"], cb).data, cb)
    assert res.flags["duplicate"].sum() == 0


def test_analysis_data_rebuilds_when_the_inputs_change(small_survey, tmp_path):
    from engagement.prepare import analysis_data
    from engagement.simulate import SimulationParams, write_survey

    first = analysis_data(small_survey["survey"], small_survey["codebook"], tmp_path)
    again = analysis_data(small_survey["survey"], small_survey["codebook"], tmp_path)
    assert again.equals(first)
    other = write_survey(tmp_path / "other", SimulationParams(n=300, seed=99))
    switched = analysis_data(other["survey"], other["codebook"], tmp_path)
    assert len(switched) < len(first) and not switched["resp_id"].isin(first["resp_id"]).all()
