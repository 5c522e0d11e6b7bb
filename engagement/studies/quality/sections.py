"""Report text of notebook 00: the sample and weighting sentences."""

from __future__ import annotations

from ...prepare import Prepared


def sample_sentence(p: Prepared) -> str:
    t = p.screening.table
    n_raw, n_clean = int(t["remaining"].iloc[0]), len(p.data)
    removed = n_raw - n_clean
    pii = ", ".join(f"`{c}`" for c in p.survey.dropped_pii) or "none"
    return (f"The file holds **{n_raw:,}** completed responses. Screening removed **{removed:,}** "
            f"({removed / n_raw:.1%}), leaving **{n_clean:,}** for analysis. Personal-data columns dropped "
            f"at ingest: {pii}.")


def weighting_sentence(p: Prepared) -> str:
    d = p.weighting["diagnostics"]
    text = f"Weighting: {p.weighting['method']}."
    if "variables" in p.weighting:
        text += (f" Raked on {', '.join(p.weighting['variables'])} in {p.weighting['iterations']} passes "
                 f"({'converged' if p.weighting['converged'] else 'NOT converged'}).")
    text += (f" Kish effective sample size **{d['kish_ess']:,.0f}** of {d['n']:,} "
             f"(design effect {d['kish_deff']:.2f}); weights range {d['min']:.2f}–{d['max']:.2f}.")
    return text


def metrics_caption(p: Prepared) -> str:
    from .diagnostics import is_weighted

    return f"{'Weighted estimates' if is_weighted(p) else 'Estimates (unweighted)'} with 95% intervals and base sizes"


def margins_note(p: Prepared) -> str:
    """Why there is no margins table, when there is none."""
    return ("_The codebook declares no population margins, so the sample is not raked"
            + (" (its weights come from the weight column)._" if p.survey.codebook.weight else "; estimates are unweighted._"))
