"""Wave-over-wave tests on planted changes: a planted change is detected, no change is not."""

import pytest

from engagement.studies.quality import data_quality_results, reliability_table
from engagement.metrics import headline_metrics
from engagement.prepare import prepare_survey
from engagement.simulate import SimulationParams, write_survey
from engagement.trends import wave_changes


def wave_results(tmp_path, name, **params):
    paths = write_survey(tmp_path / name, SimulationParams(n=3000, **params))
    p = prepare_survey(paths["survey"], paths["codebook"])
    metrics = headline_metrics(p.data, p.survey.codebook)
    return {"data_quality": data_quality_results(p, reliability_table(p.data, p.survey.codebook), metrics)}


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    return wave_results(tmp_path_factory.mktemp("w0"), "w0", seed=100)


def test_planted_change_in_effort_is_detected(base, tmp_path):
    # ease of service improves by 0.4 SD: CES and CES top box rise, the rest of the model holds still
    later = wave_results(tmp_path, "w1", seed=101, wave_ease_shift=0.4)
    t = wave_changes(later, base).set_index("key")
    assert t.loc["ces_mean", "significant"] and t.loc["ces_mean", "change"] > 0
    assert t.loc["ces_top_box", "significant"]
    # a metric the change does not touch stays put
    assert not t.loc["bounce_rate", "significant"]


def test_no_change_is_not_flagged(base, tmp_path):
    same = wave_results(tmp_path, "w2", seed=102)
    t = wave_changes(same, base)
    assert len(t) >= 10
    assert not t["significant"].any(), t.loc[t["significant"], ["key", "change", "p_holm"]]


def test_change_interval_is_built_from_both_waves_ses(base):
    t = wave_changes(base, base)
    assert (t["change"] == 0).all()
    ms = base["data_quality"]["metrics"]["ces_mean"]
    row = t.set_index("key").loc["ces_mean"]
    assert row["ci_high"] == pytest.approx(1.959964 * (2 ** 0.5) * ms["se"], rel=1e-5)
