"""Shared fixtures: small simulated surveys written once per session."""

from __future__ import annotations

import pytest

from engagement.simulate import SimulationParams, write_survey


@pytest.fixture(scope="session")
def small_survey(tmp_path_factory):
    """A 600-respondent default-model survey: paths of survey.csv, codebook.yaml, truth.csv, truth.json."""
    return write_survey(tmp_path_factory.mktemp("small"), SimulationParams(n=600, seed=11))
