"""Key-driver quad map on the default survey recovers the planted importance and performance."""

import json

from engagement.config import DEFAULT_CODEBOOK, DEFAULT_DATA_DIR, DEFAULT_SURVEY
from engagement.studies import loyalty
from engagement.prepare import design_for, prepare_survey
from engagement.simulate import DRIVERS


def test_quad_map_recovers_planted_drivers():
    p = prepare_survey(DEFAULT_SURVEY, DEFAULT_CODEBOOK)
    cb = p.survey.codebook
    drivers = loyalty.driver_columns(cb, p.data)
    assert drivers == list(DRIVERS)
    data = loyalty.prepare(p.data, cb, design=design_for(p.data, cb))
    table = loyalty.driver_importance(data, drivers).set_index("predictor")
    strength = json.loads((DEFAULT_DATA_DIR / "truth.json").read_text())["driver_strength"]
    # importance ranks follow the planted strengths, the weak drivers clearly below the strong ones
    by_importance = list(table["share"].sort_values(ascending=False).index)
    assert by_importance == sorted(strength, key=strength.get, reverse=True)
    # important and under-performing (planted low levels) -> fix first; important and strong -> keep up
    assert table.loc["drv_value", "quadrant"] == "fix first"
    assert table.loc["drv_website", "quadrant"] == "keep up"
    assert table.loc["drv_range", "quadrant"] == "low priority"
