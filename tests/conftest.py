"""Shared fixtures: small simulated surveys written once per session, and the one pipeline run on
the embedded default survey with default parameters that every test reading its outputs shares."""

from __future__ import annotations

import pytest

from engagement.simulate import SimulationParams, write_survey


@pytest.fixture(scope="session")
def small_survey(tmp_path_factory):
    """A 600-respondent default-model survey: paths of survey.csv, codebook.yaml, truth.csv, truth.json."""
    return write_survey(tmp_path_factory.mktemp("small"), SimulationParams(n=600, seed=11))


@pytest.fixture(scope="session")
def default_run(tmp_path_factory):
    """`engagement run` on the embedded default survey with the default parameters (the full persona
    search): a RunResult. Run once per session (several minutes) and only read by the tests: the
    results compared with tests/data/results_default.json (test_structure) and the layout of the
    default report (test_layout). Its own empty reports folder, so no earlier wave becomes its trend."""
    from engagement.pipeline import run_pipeline

    out = tmp_path_factory.mktemp("default") / "run"
    return run_pipeline(out=out, reports_dir=out.parent / "reports", progress=lambda *_: None)
