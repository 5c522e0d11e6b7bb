"""The typing tool's cross-validation on a seeded, persona-stratified sample above CV_MAX_N (issue 11)."""

from types import SimpleNamespace

import numpy as np
import pandas as pd

from engagement.studies.personas import typing_tool as tt


def _data(n=3000, seed=4):
    rng = np.random.default_rng(seed)
    y = rng.integers(1, 4, n)
    codes = pd.DataFrame({f"q{j}": y * (j % 2) + rng.normal(0, 1, n) for j in range(5)})
    enc = SimpleNamespace(features=list(codes.columns), labels={})
    return codes, enc, y, np.ones(n)


def test_cv_on_a_stratified_sample_above_the_cap_and_on_everyone_below(monkeypatch):
    codes, enc, y, w = _data()
    names = {1: "a", 2: "b", 3: "c"}
    full, _, conf_full = tt.train_typing_tool(codes, enc, y, w, names, "id", max_questions=4, seed=1)
    assert full.accuracy["n"] == len(y) and "cv_sample" not in full.accuracy
    monkeypatch.setattr(tt, "CV_MAX_N", 1000)
    sampled, _, conf = tt.train_typing_tool(codes, enc, y, w, names, "id", max_questions=4, seed=1)
    assert sampled.accuracy["n"] == 1000 and "1,000 of the 3,000" in sampled.accuracy["cv_sample"]
    assert int(conf.to_numpy().sum()) == 1000
    # stratified: each persona's share in the sample within a respondent of its share overall
    shares = np.bincount(y)[1:] / len(y) * 1000
    assert np.all(np.abs(conf.sum(axis=1).to_numpy() - shares) <= 1)
    # the tool itself is fitted on everyone: with as many questions, the same tool as without the cap
    if sampled.accuracy["questions"] == full.accuracy["questions"]:
        assert sampled.questions == full.questions
        np.testing.assert_allclose(sampled.coef, full.coef)
    assert abs(sampled.accuracy["cv_accuracy"] - full.accuracy["cv_accuracy"]) < 0.05
