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


def join_note(p: Prepared) -> str:
    """The join of customer records in words: match rates, and every warning (low or uneven matching)."""
    joins = getattr(p.survey, "joins", [])
    if not joins:
        return "_The codebook joins no customer records to the survey (no `extracts`)._"
    parts = []
    for r in joins:
        if r.level == "customer":
            parts.append(f"**{r.extract}**: {r.matched_rows:,} of {r.survey_rows:,} respondents found "
                         f"({r.match_rate:.1%}); {r.unmatched_extract_keys:,} customers in the extract did not answer "
                         f"the survey; respondents with no record are kept, with that behaviour missing.")
        else:
            parts.append(f"**{r.extract}** (order level, {r.extract_rows:,} rows): {r.matched_rows:,} respondents "
                         f"have at least one order on file; {r.duplicate_keys:,} repeated order lines counted once; "
                         f"derived: {', '.join(r.columns)}.")
    warnings = [w for r in joins for w in r.warnings]
    text = " ".join(parts)
    if warnings:
        text += "\n\n" + "\n".join(f"> **Warning.** {w}" for w in warnings)
    return text
