"""Wave over wave: what changed since the previous survey wave, and is the change real?

Two waves are independent samples, so the change of a design-based estimate has variance
se₁² + se₀² (each se from its own wave's design, raking included). Changes are tested with a
z-test and the p-values Holm-corrected across all metrics compared, because a trend table invites
reading every row as a finding.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from .survey_stats import adjust_pvalues

Z95 = stats.norm.ppf(0.975)


def _se(entry: dict) -> float | None:
    if entry.get("se") is not None:
        return float(entry["se"])
    if entry.get("ci_low") is not None and entry.get("ci_high") is not None:
        return (entry["ci_high"] - entry["ci_low"]) / (2 * Z95)  # Wald-equivalent
    return None


def _tracked(results: dict) -> dict[str, dict]:
    """The headline numbers that are compared across waves, by a stable key."""
    out = {}
    for key, m in results.get("data_quality", {}).get("metrics", {}).items():
        out[key] = {**m, "label": m.get("metric", key)}
    ms = results.get("channels", {}).get("multichannel_share")
    if isinstance(ms, dict):
        out["multichannel_share"] = {**ms, "label": "Uses ≥2 channels", "unit": "share"}
    for s in results.get("personas", {}).get("sizes", []) or []:
        name = s.get("name") or f"persona {s.get('persona')}"
        out[f"persona_size:{name}"] = {**s, "label": f"Persona size: {name}", "unit": "share"}
    return out


def load_previous(path: str | Path | None) -> dict | None:
    if not path:
        return None
    p = Path(path)
    return json.loads(p.read_text()) if p.exists() else None


def wave_changes(current: dict, previous: dict, alpha: float = 0.05) -> pd.DataFrame:
    """One row per metric found in both waves: previous, current, change with 95% CI, Holm p."""
    cur, prev = _tracked(current), _tracked(previous)
    rows = []
    for key in cur:
        if key not in prev:
            continue
        a, b = prev[key], cur[key]
        se_a, se_b = _se(a), _se(b)
        if se_a is None or se_b is None or a.get("estimate") is None or b.get("estimate") is None:
            continue
        diff = b["estimate"] - a["estimate"]
        se = float(np.hypot(se_a, se_b))
        z = diff / se if se > 0 else np.nan
        rows.append({"key": key, "metric": b["label"], "unit": b.get("unit", ""), "previous": a["estimate"],
                     "current": b["estimate"], "change": diff, "ci_low": diff - Z95 * se, "ci_high": diff + Z95 * se,
                     "n_previous": a.get("n"), "n_current": b.get("n"), "z": z,
                     "p_value": float(2 * stats.norm.sf(abs(z))) if np.isfinite(z) else np.nan})
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    ok = table["p_value"].notna()
    table["p_holm"] = np.nan
    table.loc[ok, "p_holm"] = adjust_pvalues(table.loc[ok, "p_value"].to_numpy(), "holm")
    table["significant"] = table["p_holm"] < alpha
    return table
