"""The `loyalty` section of results.json, assembled from the study's named results."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from ...degrade import NotEstimated
from ...results import estimate
from ...results import record as record_section
from .c13 import PRIMARY_TEXT, C13Comparison
from .comparison import Comparison, cv_models
from .inputs import SECTION, LoyaltyData
from .models import FAMILY_LABEL
from .power import PowerPlan
from .sample import fitting_data
from .shape import Heterogeneity
from .text import records

#: section key -> title of its skip note in results.json
TITLES = {"answer": "CES vs CSAT", "descriptives": "Loyalty by level", "comparison": "Out-of-sample comparison",
          "incremental": "Incremental validity", "dominance": "Dominance analysis", "key_drivers": "Key-driver quad map",
          "shape": "Shape of the effect", "channel": "By channel", "persona": "By persona", "power": "Power"}


def _note(key: str, result: NotEstimated) -> dict:
    return {"section": TITLES.get(key, key), "skipped": True, "reason": result.reason}


def _table(key: str, result: Any) -> Any:
    if isinstance(result, NotEstimated):
        return _note(key, result)
    return records(result)


def results_section(data: LoyaltyData, *, c13: C13Comparison | NotEstimated | None = None,
                    comparison: Comparison | NotEstimated | None = None,
                    levels: pd.DataFrame | NotEstimated | None = None,
                    worst_vs_best: pd.DataFrame | NotEstimated | None = None,
                    correlations: pd.DataFrame | NotEstimated | None = None,
                    incremental: pd.DataFrame | NotEstimated | None = None,
                    dominance: pd.DataFrame | NotEstimated | None = None,
                    drivers: pd.DataFrame | NotEstimated | None = None,
                    shape: pd.DataFrame | NotEstimated | None = None,
                    by_channel: Heterogeneity | NotEstimated | None = None,
                    by_persona: Heterogeneity | NotEstimated | None = None,
                    power: PowerPlan | NotEstimated | None = None) -> dict:
    """The `loyalty` section: per-outcome metrics, the ratio, the verdicts, the C13 claims entry and
    every other result given (a `NotEstimated` is recorded as a skip note with its reason; None = not run)."""
    sections: dict = {}
    if levels is not None or worst_vs_best is not None or correlations is not None:
        parts = {"levels": levels, "worst_vs_best": worst_vs_best, "correlations": correlations}
        skipped = next((r for r in parts.values() if isinstance(r, NotEstimated)), None)
        sections["descriptives"] = (_note("descriptives", skipped) if skipped is not None else
                                    {k: records(v) if v is not None else [] for k, v in parts.items()})
    for key, result in (("incremental", incremental), ("dominance", dominance), ("key_drivers", drivers),
                        ("shape", shape)):
        if result is not None:
            sections[key] = _table(key, result)
    if by_channel is not None or by_persona is not None:
        sections["heterogeneity"] = {
            what: (_note(what, het) if isinstance(het, NotEstimated) else
                   {"groups": records(het.groups), "tests": records(het.tests)})
            for what, het in (("channel", by_channel), ("persona", by_persona)) if het is not None}
    if isinstance(power, NotEstimated):
        sections["power"] = _note("power", power)
    elif power is not None:
        sections["power"] = power.as_record()
    if isinstance(comparison, NotEstimated):
        sections["comparison"] = _note("comparison", comparison)
    if isinstance(c13, NotEstimated):
        sections["answer"] = _note("answer", c13)
    elif c13 is not None:
        sections |= {"c13": {"table": records(c13.table), "primary_statistic": PRIMARY_TEXT, "bootstrap": c13.n_boot,
                             "interval": "percentile, paired design-aware bootstrap (raked weights recalibrated)"},
                     "ratio": c13.ratio, "verdict": c13.verdict, "claims": [c13.claim]}
    fit = fitting_data(data)
    if fit.fit_sample is not None:  # only above `max_fit_n`: the default survey's section is unchanged
        sections["fit_sample"] = {**fit.fit_sample.as_record(), "note": fit.fit_sample.note()}
    if data.skip_reason:
        return {"skipped": True, "reason": data.skip_reason, **sections}
    comp = comparison if isinstance(comparison, Comparison) else None
    return {**_comparison_section(data, comp), **sections} if comp else {**_inputs_section(data), **sections}


def _inputs_section(data: LoyaltyData) -> dict:
    return {
        "outcomes": [],
        "primary_outcome": data.primary.name if data.primary else None,
        "predictors": [{"name": p.name, "label": p.label, "columns": p.columns, "reversed": p.reversed}
                       for p in data.inputs.predictors],
        "notes": data.inputs.notes,
        "weighted": data.weighted,
        "cv": None,
    }


def _comparison_section(data: LoyaltyData, comparison: Comparison) -> dict:
    outs = []
    for o in data.inputs.outcomes:
        if o.name not in comparison.cv:
            continue
        cv = comparison.cv[o.name]
        d = fitting_data(data).outcome_data(o)  # the data the models were cross-validated on
        s = comparison.summary[comparison.summary["outcome"] == o.name]
        models = []
        for m, (preds, ctrl, label) in cv_models(data, o).items():
            sm = s[s["model"] == m]
            models.append({"model": m, "label": label, "predictors": preds, "controls": ctrl,
                           "metrics": {r.metric: estimate(r.estimate, r.ci_low, r.ci_high, cv.n)
                                       for r in sm.itertuples()}})
        outs.append({"name": o.name, "label": o.label, "kind": o.kind, "model": FAMILY_LABEL[o.family],
                     "n": cv.n, "primary": o is data.primary, "levels": d.levels, "notes": d.notes, "models": models})
    cv0 = next(iter(comparison.cv.values()), None)
    out = {**_inputs_section(data), "outcomes": outs,
           "cv": {"folds": cv0.n_splits, "repeats": cv0.n_repeats, "seed": data.seed,
                  "interval": "Nadeau–Bengio corrected resampled t",
                  "models": "more than one parameter (one-score models: see c13)"} if cv0 else None}
    if comparison.excluded:
        out["excluded_outcomes"] = comparison.excluded
    return out


def record(output_dir: str | Path, data: LoyaltyData, **results: Any) -> None:
    """Write the `loyalty` section of results.json (keyword results as in `results_section`)."""
    record_section(output_dir, SECTION, results_section(data, **results))


def degraded_sections(data: LoyaltyData, *results: Any) -> list[NotEstimated]:
    """What `degrade.record_degraded` should list: the whole study as one entry when the codebook
    gives it no inputs, else every result that could not be estimated."""
    if data.skip_reason:
        return [NotEstimated(SECTION, data.skip_reason)]
    return [r for r in results if isinstance(r, NotEstimated)]
