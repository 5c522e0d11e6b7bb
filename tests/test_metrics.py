"""Seed metric definitions: estimates equal the textbook formulas, intervals cover planted truth."""

import numpy as np
import pytest

from engagement.metrics import member_aov_uplift, nps_estimate, ratio_estimate, headline_metrics
from engagement.prepare import prepare_survey
from engagement.simulate import MEMBER_AOV_UPLIFT, SimulationParams, write_survey
from engagement.survey_stats import Design


def test_nps_is_promoters_minus_detractors():
    scores = np.array([10, 9, 9, 8, 7, 6, 0, 3, 10, np.nan])
    res = nps_estimate(scores, Design.unweighted(len(scores)))
    valid = scores[~np.isnan(scores)]
    assert res["estimate"] == pytest.approx(100 * ((valid >= 9).mean() - (valid <= 6).mean()))
    assert res["n"] == 9
    # without missing answers, the linearized SE of a difference of shares is sqrt(var(d)/n), d in {-1, 0, 1}
    full = nps_estimate(valid, Design.unweighted(len(valid)))
    d = (valid >= 9).astype(float) - (valid <= 6)
    assert full["se"] == pytest.approx(100 * d.std(ddof=1) / np.sqrt(len(d)), rel=1e-12)
    # a missing answer is handled as a domain (as survey::svymean(na.rm = TRUE)), not by dropping the row
    assert res["se"] != full["se"]


def test_ratio_estimator_matches_delta_method():
    rng = np.random.default_rng(0)
    x = rng.poisson(5, 400).astype(float) + 1
    y = x * rng.lognormal(3, 0.4, 400)
    res = ratio_estimate(y, x, Design.unweighted(400))
    r = y.sum() / x.sum()
    assert res["estimate"] == pytest.approx(r)
    delta_se = np.sqrt(np.var(y - r * x, ddof=1) / 400) / x.mean()
    assert res["se"] == pytest.approx(delta_se, rel=1e-10)
    # weights change the estimate the way a weighted ratio should
    w = np.where(np.arange(400) < 200, 2.0, 1.0)
    rw = ratio_estimate(y, x, Design(w))
    assert rw["estimate"] == pytest.approx((w * y).sum() / (w * x).sum())


def test_member_aov_uplift_recovers_planted_truth(tmp_path):
    # one persona, so membership is the only thing that moves order value
    paths = write_survey(tmp_path, SimulationParams(n=8000, seed=31, n_personas=1))
    p = prepare_survey(paths["survey"], paths["codebook"])
    res = member_aov_uplift(p.data, p.survey.codebook)
    assert res["ci_low"] < MEMBER_AOV_UPLIFT < res["ci_high"]
    assert res["ci_high"] - res["ci_low"] < 0.08


def test_headline_metrics_cover_every_declared_metric(small_survey):
    p = prepare_survey(small_survey["survey"], small_survey["codebook"])
    m = headline_metrics(p.data, p.survey.codebook).set_index("key")
    for key in ("ces_mean", "csat_mean", "csat_top_box", "nps", "purchase_frequency", "average_order_value",
                "repeat_purchase_rate", "guest_checkout_rate", "bounce_rate", "click_through_rate"):
        row = m.loc[key]
        assert row["ci_low"] <= row["estimate"] <= row["ci_high"], key
        assert row["n"] > 0
    shares = m[m["unit"] == "share"]
    assert ((shares["estimate"] > 0) & (shares["estimate"] < 1)).all()


def _composite_survey():
    """100 respondents on a 3-item 1–7 scale: 57 average exactly 6 or 7, 27 average 6⅓ or 6⅔, 16
    average 4. 84% average 6 or more; an exact match of the mean on the top boxes finds only 57%."""
    import pandas as pd

    rows = [(6, 6, 6)] * 30 + [(7, 7, 7)] * 27 + [(6, 6, 7)] * 15 + [(6, 7, 7)] * 12 + [(4, 4, 4)] * 16
    return pd.DataFrame(rows, columns=["q1", "q2", "q3"])


def _composite_codebook(**scale):
    from engagement.codebook import Codebook

    return Codebook.model_validate({"scales": {"csat": {"items": ["q1", "q2", "q3"], "min": 1, "max": 7,
                                                        "top_box": [6, 7], **scale}}})


def test_top_box_of_a_composite_counts_item_means_at_the_threshold():
    df = _composite_survey()
    m = headline_metrics(df, _composite_codebook(), Design.unweighted(len(df))).set_index("key")
    assert m.loc["csat_top_box", "estimate"] == pytest.approx(0.84)  # not 0.57
    assert "item mean ≥ 6" in m.loc["csat_top_box", "metric"]


def test_top_box_of_a_composite_uses_a_declared_threshold_on_the_mean():
    df = _composite_survey()
    cb = _composite_codebook(top_box_mean_at_least=6.5)
    m = headline_metrics(df, cb, Design.unweighted(len(df))).set_index("key")
    assert m.loc["csat_top_box", "estimate"] == pytest.approx(0.39)  # 27 at 7 and 12 at 6⅔


def test_purchase_frequency_and_repeat_rate_count_active_customers_only():
    import pandas as pd

    from engagement.codebook import Codebook

    df = pd.DataFrame({"orders": [0, 0, 0, 0, 1, 1, 2, 4]})
    cb = Codebook.model_validate({"behaviour": {"orders": "orders", "window": "last 365 days"}})
    m = headline_metrics(df, cb, Design.unweighted(len(df))).set_index("key")
    assert m.loc["purchase_frequency", "estimate"] == pytest.approx(8 / 4)  # orders ÷ customers with an order
    assert m.loc["repeat_purchase_rate", "estimate"] == pytest.approx(2 / 4)
    assert m.loc["purchase_frequency", "n"] == 4
    assert "last 365 days" in m.loc["purchase_frequency", "metric"]
