"""How many respondents are needed to tell a CES ÷ CSAT ratio of 1.0 from 1.4 — planned a priori.

No outcome of the survey enters (no post-hoc power at the observed effect; Hoenig & Heisey 2001):
the spread of the primary statistic (log of the Somers' D ratio) per respondent, σ₁, comes from a
planning survey drawn by `engagement.simulate` in its CES-ahead world (population ratio ≈ 1.5, near
the 1.4 alternative; simple random sample, bootstrap replicates), and the survey enters only through
its design effect (Kish, from the weights). Respondents needed for a two-sided test at level α with
the given power: n = deff · ((z₁₋α/₂ + z_power) · σ₁ / ln(1.4 / 1.0))².
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from ...survey_stats import single_threaded
from .c13 import _Cells
from .inputs import LoyaltyData

#: planning world and size (documented in the module docstring)
PLANNING_WORLD = "ces_ahead"
PLANNING_N = 3000


@dataclass(frozen=True)
class PowerPlan:
    """A priori sample size for the primary C13 comparison."""

    ratio_null: float
    ratio_alternative: float
    alpha: float
    power: float
    sigma_log_ratio: float  # per-respondent SD of log(ratio) under simple random sampling
    design_effect: float  # Kish's, from the survey weights
    n_srs: int
    n_needed: int
    n_survey: int
    planning: str

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([{
            "tell apart ratios": f"{self.ratio_null:.1f} vs {self.ratio_alternative:.1f}",
            "test": f"two-sided, α = {self.alpha:g}, power {self.power:.0%}",
            "SD of log ratio per respondent (σ₁)": self.sigma_log_ratio,
            "design effect (Kish)": self.design_effect,
            "respondents needed (simple random sample)": self.n_srs,
            "respondents needed at this design": self.n_needed,
            "respondents in this survey": self.n_survey}])

    def as_record(self) -> dict:
        return {"ratio_null": self.ratio_null, "ratio_alternative": self.ratio_alternative, "alpha": self.alpha,
                "power": self.power, "sigma_log_ratio": self.sigma_log_ratio, "design_effect": self.design_effect,
                "n_srs": self.n_srs, "n_needed": self.n_needed, "n_survey": self.n_survey, "planning": self.planning,
                "a_priori": True}


def kish_design_effect(w: np.ndarray) -> float:
    w = np.asarray(w, float)
    return float(len(w) * np.sum(w**2) / np.sum(w) ** 2)


@single_threaded()
def planned_sample_size(data: LoyaltyData, *, ratio_null: float = 1.0, ratio_alternative: float = 1.4,
                        alpha: float = 0.05, power: float = 0.8, reps: int = 200) -> PowerPlan:
    """Respondents needed to tell `ratio_null` from `ratio_alternative` (module docstring)."""
    from ...simulate import SimulationParams, simulate_survey

    pilot, _, _ = simulate_survey(SimulationParams(
        n=PLANNING_N, seed=data.seed + 17, skew_sample=False, speeder_rate=0, straightliner_rate=0,
        attention_fail_rate=0, duplicate_rate=0, item_missing_rate=0), c13_world=PLANNING_WORLD,
        _population_truth=False)
    y = np.unique(pilot["repurchase"].to_numpy(float), return_inverse=True)[1]
    cells = {k: _Cells(pilot[k].to_numpy(float), y, "linear") for k in ("ces", "csat")}  # Somers' D only
    rng = np.random.default_rng(data.seed + 19)
    logs = []
    for _ in range(reps):
        wb = np.bincount(rng.integers(0, PLANNING_N, PLANNING_N), minlength=PLANNING_N).astype(float)
        d = {k: c.statistics(wb)[0] for k, c in cells.items()}
        logs.append(np.log(d["ces"] / d["csat"]))
    sigma = float(np.std(logs, ddof=1) * np.sqrt(PLANNING_N))
    z = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)
    n_srs = int(np.ceil((z * sigma / np.log(ratio_alternative / ratio_null)) ** 2))
    deff = kish_design_effect(data.weights)
    n_survey = int(data.scores.notna().all(axis=1).sum()) if len(data.scores.columns) else len(data.df)
    return PowerPlan(ratio_null=ratio_null, ratio_alternative=ratio_alternative, alpha=alpha, power=power,
                     sigma_log_ratio=sigma, design_effect=deff, n_srs=n_srs, n_needed=int(np.ceil(deff * n_srs)),
                     n_survey=n_survey,
                     planning=f"simulated planning survey ({PLANNING_WORLD} world, n = {PLANNING_N:,}, "
                              f"{reps} bootstrap replicates); design effect from this survey's weights")
