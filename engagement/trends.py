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


def show_trends(results: dict, previous_results: str | Path | None) -> pd.DataFrame | None:
    """The report's trend section: a table and a chart of changes, or a note when there is no
    previous wave. Returns the table (None without a previous wave)."""
    import matplotlib.pyplot as plt

    from .nb import show_markdown, show_table
    from .plots import PALETTE, finish

    previous = load_previous(previous_results)
    if previous is None:
        show_markdown("_This is the first wave of this survey in `reports/`: no trend to show yet._")
        return None
    table = wave_changes(results, previous)
    if table.empty:
        show_markdown("_The previous wave recorded none of the same metrics._")
        return table
    n_sig = int(table["significant"].sum())
    show_markdown(f"Compared with the previous wave, **{n_sig} of {len(table)}** tracked metrics changed "
                  f"significantly (z-test on independent design-based estimates, Holm-corrected, α = 0.05).")
    shown = table[["metric", "previous", "current", "change", "ci_low", "ci_high", "p_holm", "significant"]]
    show_table(shown, caption="Change since the previous wave (95% CI of the change)")
    shares = table[table["unit"] == "share"]
    if not shares.empty:
        fig, ax = plt.subplots(figsize=(7, 0.4 * len(shares) + 1.2))
        pos = np.arange(len(shares))
        ch = shares["change"].to_numpy() * 100
        colors = [PALETTE[3] if s else "#999999" for s in shares["significant"]]
        ax.barh(pos, ch, xerr=[ch - shares["ci_low"] * 100, shares["ci_high"] * 100 - ch], color=colors, capsize=3)
        ax.axvline(0, color="black", lw=0.8)
        ax.set_yticks(pos, shares["metric"])
        ax.invert_yaxis()
        ax.set_xlabel("change, percentage points (95% CI); coloured = significant after Holm")
        finish(ax, "What changed since the previous wave?", int(shares["n_current"].min()))
        plt.show()
    return table
