"""Findings (analysis layer of notebook 90): executive summary, claims ledger and methods notes,
written from the recorded results of the other notebooks — never from hard-coded text.

Each summary sentence is built only when its numbers were recorded, and carries the estimate, its
95% interval and the base size, exactly as they stand in results.json.
"""

from __future__ import annotations

import pandas as pd

from ...claims import CLAIMS, MARGINS, UNTESTABLE_REASON


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def _interval(e: dict, fmt=_pct) -> str:
    return f"{fmt(e['estimate'])} (95% CI {fmt(e['ci_low'])}–{fmt(e['ci_high'])}, n = {int(e['n']):,})"


def recorded_claims(results: dict) -> dict[str, dict]:
    """Every claims entry any notebook recorded, by claim id."""
    found: dict[str, dict] = {}
    for section in results.values():
        if isinstance(section, dict):
            for entry in section.get("claims", []) or []:
                if isinstance(entry, dict) and "id" in entry:
                    found[entry["id"]] = entry
    return found


def is_weighted(results: dict) -> bool:
    """Whether notebook 00 weighted the data (weights or raking margins in the codebook)."""
    method = results.get("data_quality", {}).get("weighting", {}).get("method", "")
    return bool(method) and not method.startswith("unweighted")


def executive_summary(results: dict, period: str = "") -> list[str]:
    """Three to six findings, each a sentence with its number, interval and base size. `period` is the
    survey's reference period in words (the codebook's `survey.period`, e.g. "in the last six months")."""
    out: list[str] = []
    ch = results.get("channels", {})
    if isinstance(ch.get("multichannel_share"), dict):
        out.append(f"**Customers are multichannel:** {_interval(ch['multichannel_share'])} used at least two "
                   f"channels{' ' + period.strip() if period and period.strip() else ''}.")
    lead = ch.get("purchase_leader")
    if isinstance(lead, dict) and "channel" in lead:
        out.append(f"**{lead['channel'].capitalize()} leads at purchase:** {_interval(lead)} prefer it to buy.")
    pains = [p for p in ch.get("pain_points") or [] if isinstance(p, dict) and "estimate" in p]
    if pains:
        # the worst touchpoint (largest gap to the average) carries the numbers; the others are named
        worst = max(pains, key=lambda p: abs(p["overall_mean"] - p["estimate"]))
        others = sorted({p["channel"] for p in pains} - {worst["channel"]})
        out.append(f"**Pain point: {worst['channel']}.** Mean {worst['scale'].upper()} after a {worst['channel']} "
                   f"interaction is {worst['estimate']:.2f} (95% CI {worst['ci_low']:.2f}–{worst['ci_high']:.2f}, "
                   f"n = {int(worst['n']):,}) against {worst['overall_mean']:.2f} overall"
                   + (f"; {', '.join(others)} also significantly worse" if others else "")
                   + " (multiple-comparison corrected).")
    loy = results.get("loyalty", {})
    ratio = loy.get("ratio")
    if isinstance(ratio, dict) and ratio.get("estimate") is not None:
        stat = ratio.get("statistic", "ratio of out-of-sample accuracy")
        c13 = recorded_claims(results).get("C13")
        if c13 is not None:  # the ledger's word, so that summary and ledger agree
            verdict_text = f"{c13['verdict']} (margin {c13.get('margin', MARGINS['ratio'].text)})"
        else:
            verdict = loy.get("verdict", "")
            verdict_text = verdict.get("text", verdict.get("verdict", "")) if isinstance(verdict, dict) else str(verdict)
        out.append(f"**CES vs CSAT:** {stat} = {ratio['estimate']:.2f} (95% CI {ratio['ci_low']:.2f}–{ratio['ci_high']:.2f}"
                   f"{', n = ' + format(int(ratio['n']), ',') if ratio.get('n') else ''}); the claim that CES is "
                   f"\"40% more accurate\" (ratio 1.40): {verdict_text}.")
    per = results.get("personas", {})
    if per.get("k") and isinstance(per.get("sizes"), list):
        sizes = "; ".join(f"{s.get('name', s.get('persona'))} {_pct(s['estimate'])} "
                          f"({_pct(s['ci_low'])}–{_pct(s['ci_high'])})" for s in per["sizes"])
        n = per["sizes"][0].get("n")
        out.append(f"**{per['k']} persona{'s' if per['k'] != 1 else ''}** ({'weighted ' if is_weighted(results) else ''}shares, 95% CI"
                   f"{', n = ' + format(int(n), ',') if n else ''}): {sizes}.")
        if per.get("structure") in ("weak", "none") and per.get("structure_sentence"):
            out.append(per["structure_sentence"])  # weak separation is part of the answer, not a footnote
    metrics = results.get("data_quality", {}).get("metrics", {})
    if "nps" in metrics:
        m = metrics["nps"]
        out.append(f"**Net Promoter Score** {m['estimate']:+.0f} points (95% CI {m['ci_low']:+.0f} to "
                   f"{m['ci_high']:+.0f}, n = {int(m['n']):,}).")
    elif "csat_top_box" in metrics:
        out.append(f"**Satisfaction:** {_interval(metrics['csat_top_box'])} in the top boxes.")
    for key, m in metrics.items():  # binary loyalty outcomes (retention and the like)
        if key.startswith("outcome_") and len(out) < 6:
            out.append(f"**{m['metric']}:** {_interval(m)}.")
    dq = results.get("data_quality", {})
    if len(out) < 3 and dq.get("n_raw"):
        ess = dq.get("weighting", {}).get("diagnostics", {}).get("kish_ess")
        out.append(f"**Sample:** {dq['n_clean']:,} of {dq['n_raw']:,} responses analysed after screening"
                   + (f"; weighted to the population margins (Kish effective n {ess:,.0f})." if ess and
                      dq.get("weighting", {}).get("variables") else "."))
    return out[:6]


def claims_ledger(results: dict) -> pd.DataFrame:
    """The claims this survey tested: claimed figure, our estimate with its 95% interval, the
    Bonferroni-adjusted interval and declared margin the verdict rests on, and the verdict — in seed
    order. Claims the survey did not test are in `claims_not_tested`, not in the table."""
    found = recorded_claims(results)
    rows = []
    for c in CLAIMS:
        e = found.get(c.id)
        if e is not None:
            rows.append({"id": c.id, "claim": c.text, "claimed": c.claimed_text, "estimate": e.get("estimate"),
                         "ci_low": e.get("ci_low"), "ci_high": e.get("ci_high"),
                         "ci_low_adjusted": e.get("ci_low_adjusted"), "ci_high_adjusted": e.get("ci_high_adjusted"),
                         "margin": e.get("margin", MARGINS[c.kind].text), "kind": c.kind, "n": e.get("n"),
                         "verdict": e.get("verdict")})
    return pd.DataFrame(rows, columns=["id", "claim", "claimed", "estimate", "ci_low", "ci_high", "ci_low_adjusted",
                                       "ci_high_adjusted", "margin", "kind", "n", "verdict"])


def claims_not_tested(results: dict) -> str:
    """One or two lines naming the seed claims the ledger leaves out, and why ("" when none)."""
    found = recorded_claims(results)
    untestable = [c.id for c in CLAIMS if c.measured_by == "untestable"]
    unmapped = [c.id for c in CLAIMS if c.measured_by != "untestable" and c.id not in found]
    lines = []
    if unmapped:
        lines.append(f"Not tested, because this survey's codebook maps no item or metric to them: {', '.join(unmapped)}.")
    if untestable:
        lines.append(f"{', '.join(untestable)} are untestable on any customer survey: {UNTESTABLE_REASON}.")
    return " ".join(lines)


def methods_table(results: dict, versions: dict, input_sha256: str) -> pd.DataFrame:
    dq = results.get("data_quality", {})
    w = dq.get("weighting", {})
    d = w.get("diagnostics", {})
    rows = [
        ("Completed responses", f"{dq.get('n_raw', '–'):,}" if dq.get("n_raw") else "–"),
        ("Analysed after screening", f"{dq.get('n_clean', '–'):,}" if dq.get("n_clean") else "–"),
        ("Screening removals", "; ".join(f"{k}: {v}" for k, v in dq.get("removed_by_rule", {}).items()) or "none"),
        ("Weighting", w.get("method", "–")),
        ("Kish effective n / design effect", f"{d.get('kish_ess', float('nan')):,.0f} / {d.get('kish_deff', float('nan')):.2f}" if d else "–"),
        ("Reliability (Cronbach's alpha)", "; ".join(f"{r['scale']}: {r['alpha']:.2f}" for r in dq.get("reliability", [])) or "none declared"),
        ("Intervals", "95%; design-based (linearization, accounting for raking); logit intervals for shares"),
        ("Input file SHA-256", input_sha256),
        ("Software", ", ".join(f"{k} {v}" for k, v in versions.items())),
    ]
    return pd.DataFrame(rows, columns=["item", "value"])
