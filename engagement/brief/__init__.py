"""The findings brief: the first pages of findings.pdf, for a reader with five minutes.

Built in Python from results.json (and the codebook's labels), never from notebook output: the three
questions (channels, CES vs CSAT, personas), each with one chart carrying its 95% interval and base,
a one-sentence answer, what it means for the business and how sure we are; then the claims on trial
as one table; then notes on the data. Every key is read defensively: a section that is missing or
listed in results["degraded"] is reported as not estimated, with the reason.

Fixed text comes from the message catalogues (see `i18n`); labels come from the codebook as given.
"""

from __future__ import annotations

import html
import math
from typing import Any

from ..claims import CLAIMS
from . import charts
from .i18n import LANGUAGES, Translator

__all__ = ["LANGUAGES", "Translator", "build_brief", "brief_language"]

esc = html.escape
#: English channel names that read as acronyms
_ACRONYMS = frozenset({"sms", "tv", "atm", "ivr", "pos"})


def brief_language(codebook=None, lang: str | None = None) -> str:
    """--lang wins; else the codebook's `survey.language`; else English."""
    if lang:
        return lang
    survey = getattr(codebook, "survey", None)
    chosen = getattr(survey, "language", None) or "en"
    return chosen if chosen in LANGUAGES else "en"


# ---- reading results defensively ---------------------------------------------------------------
def _d(obj: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def _num(x: Any) -> float | None:
    try:
        f = float(x)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _est(entry: Any) -> tuple[float, float, float] | None:
    """(estimate, low, high) of a results entry, or None when any is missing."""
    if not isinstance(entry, dict):
        return None
    vals = tuple(_num(entry.get(k)) for k in ("estimate", "ci_low", "ci_high"))
    return None if any(v is None for v in vals) else vals  # type: ignore[return-value]


def _degraded_reason(results: dict, section: str) -> str | None:
    """The reason a section (or any of its parts) was not estimated, from results["degraded"]."""
    deg = results.get("degraded")
    if not isinstance(deg, dict):
        return None
    reasons = [str(r) for key, r in deg.items() if key == section or str(key).startswith(section + ".")]
    return "; ".join(reasons) if reasons else None


class _Brief:
    def __init__(self, results: dict, codebook, lang: str, meta: dict):
        self.r = results if isinstance(results, dict) else {}
        self.cb = codebook
        self.tr = Translator(lang)
        self.lang = lang
        self.meta = meta or {}
        self.not_estimated: list[tuple[str, str]] = []  # (what, why) for the data notes
        self.answers: list[tuple[str, str, str]] = []  # (section id, question, answer html) for the summary

    # ---- small formatting helpers -----------------------------------------------------------
    def base(self, n) -> str:
        _ = self.tr._
        return _("Base: n = {n} respondents; bars show 95% intervals.").format(n=self.tr.n(n))

    def channel_label(self, name: str) -> str:
        """Channel names are the codebook's keys; English ones get a capital, others are as given."""
        if not name.isascii():
            return name
        return name.upper() if name.lower() in _ACRONYMS else name[:1].upper() + name[1:]

    def not_estimated_block(self, what: str, why: str) -> str:
        _ = self.tr._
        self.not_estimated.append((what, why))
        label = _("Not estimated.")
        self.answers.append(("", what, f"{esc(label)} {esc(why)}"))
        return f'<p class="answer not-estimated">{esc(label)} {esc(why)}</p>'

    def question(self, qid: str, heading: str, answer: str, chart: str | None, meaning: str,
                 certainty: str) -> str:
        _ = self.tr._
        fig = (f'<figure class="brief-chart"><img src="{chart}" alt="{esc(heading)}"></figure>'
               if chart else "")
        self.answers.append((qid, heading, answer))
        means, sure = _("What it means:"), _("How sure we are:")
        return (f'<section class="question" id="{qid}">\n<h2>{esc(heading)}</h2>\n'
                f'<p class="answer">{answer}</p>\n{fig}\n'
                f'<p class="meaning"><strong>{esc(means)}</strong> {meaning}</p>\n'
                f'<p class="certainty"><strong>{esc(sure)}</strong> {certainty}</p>\n'
                f"</section>")

    # ---- header ---------------------------------------------------------------------------------
    def header(self) -> str:
        _ = self.tr._
        m = self.meta
        survey = m.get("survey") or getattr(getattr(self.cb, "survey", None), "name", None) or _("Survey")
        bits = [_("Findings brief")]
        if m.get("wave"):
            bits.append(_("Wave {wave}").format(wave=m["wave"]))
        if m.get("date") or m.get("run_date"):
            bits.append(self.tr.date(str(m.get("date") or m.get("run_date"))))
        n = m.get("n") or _d(self.r, "data_quality", "n_clean")
        if n:
            bits.append(_("n = {n} respondents").format(n=self.tr.n(n)))
        return (f'<header class="brief-head">\n<h1>{esc(str(survey))}</h1>\n'
                f'<p class="sub">{esc(" · ".join(bits))}</p>\n</header>')

    # ---- question 1: channels ---------------------------------------------------------------------
    def channels(self) -> str:
        _ = self.tr._
        tr = self.tr
        heading = _("Which channels do customers use?")
        ch = self.r.get("channels")
        reach = [e for e in (_d(ch, "reach") or []) if _est(e) and e.get("channel")]
        if not isinstance(ch, dict) or not reach:
            why = (_degraded_reason(self.r, "channels")
                   or _("The survey has no questions on channel use, so this was not estimated."))
            return (f'<section class="question" id="q-channels">\n<h2>{esc(heading)}</h2>\n'
                    f"{self.not_estimated_block(heading, why)}\n</section>")
        reach = sorted(reach, key=lambda e: -float(e["estimate"]))
        n = max(int(e.get("n") or 0) for e in reach)
        multi, lead = _est(ch.get("multichannel_share")), ch.get("purchase_leader")
        parts = []
        if multi:
            parts.append(_("{share} of customers use two or more channels").format(share=tr.pct(multi[0])))
        if _est(lead) and lead.get("channel"):
            parts.append(_("{channel} leads at purchase, preferred by {share}").format(
                channel=self.channel_label(str(lead["channel"])), share=tr.pct(lead["estimate"])))
        top = reach[0]
        if not parts:
            parts.append(_("{channel} reaches the most customers ({share})").format(
                channel=self.channel_label(str(top["channel"])), share=tr.pct(top["estimate"])))
        answer = esc(_("; ").join(parts)) + esc(_("."))
        lead_idx = {i for i, e in enumerate(reach) if _est(lead) and e["channel"] == lead.get("channel")}
        chart = charts.share_bars(
            [self.channel_label(str(e["channel"])) for e in reach],
            [e["estimate"] for e in reach], [e["ci_low"] for e in reach], [e["ci_high"] for e in reach],
            xlabel=_("Customers using the channel (%)"), base_text=self.base(n), lang=self.lang,
            highlight=lead_idx)
        pains = [p for p in ch.get("pain_points") or [] if _est(p) and _num(p.get("overall_mean")) is not None]
        meaning = esc(_("Customers move between channels, so the experience has to be planned "
                        "across channels rather than one channel at a time."))
        if pains:
            worst = max(pains, key=lambda p: abs(float(p["overall_mean"]) - float(p["estimate"])))
            meaning += " " + esc(_("Fix the weakest service touchpoint first: after contact by {channel}, "
                                   "the {scale} average is {value} against {overall} overall.").format(
                channel=self.channel_label(str(worst.get("channel", ""))),
                scale=str(worst.get("scale", "")).upper(), value=tr.num(worst["estimate"], 2),
                overall=tr.num(worst["overall_mean"], 2)))
        half = max((float(e["ci_high"]) - float(e["ci_low"])) / 2 for e in reach)
        certainty = esc(_("Very sure about the pattern: each share is known to within ±{points} "
                          "percentage points (95% interval, n = {n}); comparisons between channels are "
                          "corrected for multiple testing.").format(points=tr.num(100 * half, 1), n=tr.n(n)))
        return self.question("q-channels", heading, answer, chart, meaning, certainty)

    # ---- question 2: CES vs CSAT -----------------------------------------------------------------
    def loyalty(self) -> str:
        _ = self.tr._
        tr = self.tr
        heading = _("Does effort (CES) or satisfaction (CSAT) predict loyalty better?")
        loy = self.r.get("loyalty")
        ratio = _est(_d(loy, "ratio"))
        outcomes = [o for o in (_d(loy, "outcomes") or []) if isinstance(o, dict)]
        if not isinstance(loy, dict) or ratio is None:
            why = (_degraded_reason(self.r, "loyalty")
                   or _("The survey does not measure both effort (CES) and satisfaction (CSAT) "
                        "together with a loyalty outcome, so this was not estimated."))
            return (f'<section class="question" id="q-loyalty">\n<h2>{esc(heading)}</h2>\n'
                    f"{self.not_estimated_block(heading, why)}\n</section>")
        primary = str(_d(loy, "ratio", "outcome") or loy.get("primary_outcome") or "")
        labels = {str(o.get("name")): str(o.get("label") or o.get("name")) for o in outcomes}
        for o in getattr(self.cb, "outcomes", []) or []:
            labels[o.name] = o.label or labels.get(o.name, o.name)
        outcome = labels.get(primary, primary)
        est, lo, hi = ratio
        better = str(_d(loy, "verdict", "better") or ("ces" if lo > 1 else "csat" if hi < 1 else ""))
        if better == "ces":
            answer = _("Effort predicts “{outcome}” better than satisfaction: CES ranks customers {ratio} as "
                       "well as CSAT ({low}–{high}, ratio of Somers' D).")
        elif better == "csat":
            answer = _("Satisfaction predicts “{outcome}” better than effort: CES ranks customers only {ratio} "
                       "as well as CSAT ({low}–{high}, ratio of Somers' D).")
        else:
            answer = _("Effort and satisfaction predict “{outcome}” about equally well: CES ranks customers "
                       "{ratio} as well as CSAT ({low}–{high}, ratio of Somers' D).")
        answer = esc(answer.format(outcome=outcome, ratio=tr.times(est), low=tr.times(lo), high=tr.times(hi)))
        # chart: Somers' D of CES and of CSAT for every outcome, scales as asked, with 95% intervals
        groups, ces, csat, n_min = [], [], [], None
        for row in _d(loy, "c13", "table") or []:
            if not (isinstance(row, dict) and row.get("statistic") == "somers_d" and row.get("coding") == "as asked"):
                continue
            a_ = _est({"estimate": row.get("ces"), "ci_low": row.get("ces_low"), "ci_high": row.get("ces_high")})
            b_ = _est({"estimate": row.get("csat"), "ci_low": row.get("csat_low"), "ci_high": row.get("csat_high")})
            if a_ and b_:
                groups.append(labels.get(str(row.get("outcome")), str(row.get("outcome_label") or row.get("outcome"))))
                ces.append(a_)
                csat.append(b_)
                if row.get("n"):
                    n_min = int(row["n"]) if n_min is None else min(n_min, int(row["n"]))
        chart = None
        if groups:
            chart = charts.paired_bars(groups, ces, csat, ("CES", "CSAT"),
                                       xlabel=_("Ranking accuracy (Somers' D: 0 = chance, 1 = perfect)"),
                                       base_text=self.base(n_min or _d(loy, "ratio", "n") or 0), lang=self.lang)
        meaning = esc(_("Making contact easy matters more for loyalty than making it pleasant: put "
                        "effort reduction first.") if better == "ces" else
                      _("Satisfaction is the stronger signal: keep it as the lead service metric.")
                      if better == "csat" else
                      _("Neither metric is clearly better: track both."))
        claim = next((c for c in _d(loy, "claims") or [] if isinstance(c, dict) and c.get("id") == "C13"), None)
        if claim and claim.get("verdict"):
            meaning += " " + esc(_("The articles' claim that effort predicts loyalty 40% more accurately ({claimed}): "
                                   "{verdict} (we find {ratio}).").format(
                claimed=tr.times(1.40), verdict=self.verdict_word(str(claim["verdict"])), ratio=tr.times(est)))
            if _d(loy, "verdict", "depends_on_statistic"):
                meaning += " " + esc(_("Another reasonable accuracy statistic would give another verdict: see the "
                                       "comparison table in the appendix."))
        fix = [str(k.get("label")) for k in _d(loy, "key_drivers") or []
               if isinstance(k, dict) and k.get("quadrant") == "fix first" and k.get("label")]
        if fix:
            meaning += " " + esc(_("Fix first: {drivers}.").format(drivers=_(", ").join(fix)))
        n = _d(loy, "ratio", "n")
        excludes = lo > 1 or hi < 1
        certainty = esc((_("Sure: the 95% interval ({low}–{high}) excludes equal accuracy (1.00×).") if excludes
                         else _("Not sure which is better: the 95% interval ({low}–{high}) includes equal "
                                "accuracy (1.00×).")).format(low=tr.times(lo), high=tr.times(hi)))
        certainty += " " + esc(_("Both scales are compared on the same {n} customers; the interval comes from "
                                 "redrawing them (paired bootstrap, weights recalibrated each time).").format(
            n=tr.n(n or 0)))
        return self.question("q-loyalty", heading, answer, chart, meaning, certainty)

    # ---- question 3: personas ---------------------------------------------------------------------
    def personas(self) -> str:
        _ = self.tr._
        tr = self.tr
        heading = _("Which customer personas are there?")
        per = self.r.get("personas")
        sizes = [s for s in (_d(per, "sizes") or []) if _est(s)]
        if not isinstance(per, dict) or not sizes:
            why = (_degraded_reason(self.r, "personas")
                   or _("The survey has no persona questions declared, so this was not estimated."))
            return (f'<section class="question" id="q-personas">\n<h2>{esc(heading)}</h2>\n'
                    f"{self.not_estimated_block(heading, why)}\n</section>")
        sizes = sorted(sizes, key=lambda s: -float(s["estimate"]))
        names = [str(s.get("name") or _("Persona {number}").format(number=s.get("persona", "?"))) for s in sizes]
        n = max(int(s.get("n") or 0) for s in sizes)
        answer = esc(_("{k} personas; the largest, “{name}”, is {share} of customers.").format(
            k=tr.n(len(sizes)), name=names[0], share=tr.pct(sizes[0]["estimate"])))
        chart = charts.share_bars(names, [s["estimate"] for s in sizes], [s["ci_low"] for s in sizes],
                                  [s["ci_high"] for s in sizes], xlabel=_("Share of customers (%)"),
                                  base_text=self.base(n), lang=self.lang)
        meaning = esc(_("Give each persona its own channel mix and message instead of one average "
                        "customer."))
        structure = per.get("structure")
        if structure in ("weak", "none"):
            # weak separation: say so first, with the evidence, rather than present the personas as firm
            ev = per.get("structure_evidence") if isinstance(per.get("structure_evidence"), dict) else {}
            answer = esc(_("No clear persona structure: customers differ by degree more than by type "
                           "(separation {entropy}, stability {stability} on a 0–1 scale).").format(
                entropy=tr.num(_num(ev.get("relative_entropy")) or 0, 2),
                stability=tr.num(_num(ev.get("stability_ari")) or 0, 2))) + " " + answer
            meaning = esc(_("Treat these groups as a rough description, not as segments to target separately."))
        tool = _d(per, "typing_tool")
        acc, chance, q = _num(_d(tool, "cv_accuracy")), _num(_d(tool, "chance")), _d(tool, "questions")
        if acc is not None and q:
            meaning += " " + esc(_("A short typing tool of {questions} questions puts a new customer in the "
                                   "right persona {accuracy} of the time (chance: {chance}).").format(
                questions=tr.n(q), accuracy=tr.pct(acc), chance=tr.pct(chance or 0)))
        half = max((float(s["ci_high"]) - float(s["ci_low"])) / 2 for s in sizes)
        stab = _num(per.get("stability"))
        certainty = ""
        if stab is not None:
            word = _("Sure") if stab >= 0.75 else _("Not sure")
            certainty = esc(_("{word}: redrawing the sample gives the same personas (agreement {agreement} on "
                              "a 0–1 scale).").format(word=word, agreement=tr.num(stab, 2))) + " "
        certainty += esc(_("Each share is known to within ±{points} percentage points (95% interval, n = {n}).")
                         .format(points=tr.num(100 * half, 1), n=tr.n(n)))
        return self.question("q-personas", heading, answer, chart, meaning, certainty)

    # ---- claims on trial ----------------------------------------------------------------------------
    def verdict_word(self, verdict: str) -> str:
        _ = self.tr._
        # the ledger's own four words (engagement.claims), so brief, summary and ledger agree
        words = {"consistent": _("consistent"), "higher": _("higher"), "lower": _("lower"),
                 "inconclusive": _("inconclusive"), "not estimable": _("not estimable")}
        return words.get(verdict, verdict)

    def claims(self) -> str:
        _ = self.tr._
        tr = self.tr
        found: dict[str, dict] = {}
        for section in self.r.values():
            if isinstance(section, dict):
                for entry in section.get("claims") or []:
                    if isinstance(entry, dict) and entry.get("id"):
                        found[str(entry["id"])] = entry
        labels = {c.id: c.label for c in getattr(self.cb, "claims", []) or [] if getattr(c, "label", "")}
        rows, untestable, unmeasured = [], [], []
        for c in CLAIMS:
            e = found.get(c.id)
            vals = _est(e)
            if vals is None:
                (untestable if c.measured_by == "untestable" else unmeasured).append(c.id)
                continue
            is_ratio = c.claimed is not None and c.claimed > 1
            fmt = tr.times if is_ratio else tr.pct
            claimed = fmt(c.claimed) if c.claimed is not None else str(c.claimed_text)
            label = labels.get(c.id) or e.get("label") or c.text
            verdict = str(e.get("verdict") or "")
            rows.append(f'<tr class="v-{esc(verdict.replace(" ", "-"))}"><th>{esc(str(label))}</th>'
                        f"<td>{esc(claimed)}</td><td>{esc(fmt(vals[0]))}</td>"
                        f"<td>{esc(fmt(vals[1]))}–{esc(fmt(vals[2]))}</td>"
                        f"<td>{esc(self.verdict_word(verdict))}</td></tr>")
        intro = esc(_("Figures from the marketing articles behind this study, tested on this survey. "
                      "“Consistent” means our interval lies within the declared margin of the claimed figure "
                      "(shares ± 5 points, ratios ×/÷ 1.10); “higher” or “lower” means it lies wholly beyond it; "
                      "“inconclusive” means the survey cannot tell. Verdicts use intervals widened for the "
                      "number of claims tested (Bonferroni)."))
        body = ""
        if rows:
            head = [_("Claim"), _("Claimed"), _("This survey"), _("95% interval"), _("Verdict")]
            body = ('<table class="claims">\n<thead><tr>' + "".join(f"<th>{esc(h)}</th>" for h in head)
                    + "</tr></thead>\n<tbody>\n" + "\n".join(rows) + "\n</tbody>\n</table>")
            counts = {v: sum(1 for e in found.values() if e.get("verdict") == v)
                      for v in ("consistent", "higher", "lower", "inconclusive")}
            intro += " " + esc(_("Of {tested} claims tested: {consistent} consistent, {higher} higher, {lower} lower, "
                                 "{inconclusive} inconclusive.")
                               .format(tested=tr.n(len(rows)), consistent=tr.n(counts["consistent"]),
                                       higher=tr.n(counts["higher"]), lower=tr.n(counts["lower"]),
                                       inconclusive=tr.n(counts["inconclusive"])))
        else:
            none = _("No claim could be tested with this survey.")
            body = f"<p>{esc(none)}</p>"
        notes = []
        if untestable:
            notes.append(_("{count} further claims are about companies, marketers or message logs and "
                           "cannot be tested with a customer survey.").format(count=tr.n(len(untestable))))
        if unmeasured:
            notes.append(_("{count} further claims were not asked in this survey.").format(
                count=tr.n(len(unmeasured))))
        note_html = "".join(f'<p class="small">{esc(t)}</p>' for t in notes)
        title = _("Claims on trial")
        cls = "claims-on-trial" + (" with-table" if rows else "")
        return (f'<section class="{cls}">\n<h2>{esc(title)}</h2>\n<p>{intro}</p>\n'
                f"{body}\n{note_html}\n</section>")

    # ---- notes on the data --------------------------------------------------------------------------
    def data_notes(self) -> str:
        _ = self.tr._
        tr = self.tr
        dq = self.r.get("data_quality") if isinstance(self.r.get("data_quality"), dict) else {}
        items = []
        n_raw, n_clean = dq.get("n_raw"), dq.get("n_clean")
        if n_raw and n_clean:
            removed = dq.get("removed_by_rule") if isinstance(dq.get("removed_by_rule"), dict) else {}
            rule_names = {"duplicate": _("duplicates"), "speeder": _("too fast"),
                          "straightliner": _("same answer to every item"),
                          "attention_fail": _("failed the attention check")}
            rules = _(", ").join(f"{rule_names.get(k, str(k).replace('_', ' '))} {tr.n(v)}"
                                 for k, v in removed.items() if v)
            text = _("Respondents: {clean} analysed of {raw} who completed the survey.").format(
                clean=tr.n(n_clean), raw=tr.n(n_raw))
            if rules:
                text += " " + _("Screened out: {rules}.").format(rules=rules)
            items.append(text)
        w = dq.get("weighting") if isinstance(dq.get("weighting"), dict) else {}
        variables = [v for v in w.get("variables") or []]
        if variables:
            seg = {s.column: (s.label or s.column) for s in getattr(self.cb, "segments", []) or []}
            ess = _num(_d(w, "diagnostics", "kish_ess"))
            text = _("Weighted to the population on {variables}.").format(
                variables=_(", ").join(seg.get(v, str(v).replace("_", " ")) for v in variables))
            if ess:
                text += " " + _("Effective sample size after weighting: {ess}.").format(ess=tr.n(ess))
            items.append(text)
        elif dq:
            items.append(_("Not weighted: the survey declares no population margins."))
        for j in dq.get("joins") or []:
            if not isinstance(j, dict):
                continue
            if j.get("level") == "customer":
                items.append(_("Customer records ({name}): {matched} of {total} respondents found ({rate}); "
                               "respondents with no record are kept, with that behaviour missing.").format(
                    name=j.get("extract", ""), matched=tr.n(j.get("matched_rows", 0)),
                    total=tr.n(j.get("survey_rows", 0)), rate=tr.pct(_num(j.get("match_rate")) or 0)))
            else:
                items.append(_("Orders ({name}): aggregated per customer over the period from {rows} order lines.")
                             .format(name=j.get("extract", ""), rows=tr.n(j.get("extract_rows", 0))))
            if j.get("low_match"):
                items.append(_("Warning: few respondents were found in the customer records, so behaviour from "
                               "them describes the matched respondents only."))
            for seg in j.get("uneven_by") or []:
                items.append(_("Warning: the match rate to the customer records differs by {segment}, so matched "
                               "respondents are a biased subset.").format(segment=str(seg).replace("_", " ")))
        items.append(_("All intervals are 95%; shares and means are weighted where weights exist; "
                       "tests across many groups are corrected for multiple comparisons."))
        items.append(self.wave_note())
        for what, why in self.not_estimated:
            items.append(_("Not estimated: {what} {why}").format(what=what, why=why))
        deg = self.r.get("degraded")
        if isinstance(deg, dict):
            shown = {why for _what, why in self.not_estimated}
            for section, why in deg.items():
                if not any(str(why) in s for s in shown):
                    items.append(_("Part of the analysis was not estimated: {why}").format(why=why))
        lis = "\n".join(f"<li>{esc(t)}</li>" for t in items if t)
        title = _("About the data")
        return f'<section class="data-notes">\n<h2>{esc(title)}</h2>\n<ul>\n{lis}\n</ul>\n</section>'

    def wave_note(self) -> str:
        _ = self.tr._
        tr = self.tr
        wave = self.meta.get("wave")
        prev = self.meta.get("previous_wave")
        trends = [t for t in (_d(self.r, "findings", "trends") or []) if isinstance(t, dict)]
        if not prev and not trends:
            return (_("Wave {wave}: the first wave of this survey, so there is no earlier wave to compare with.")
                    .format(wave=wave) if wave else
                    _("This is the first wave of this survey: there is no earlier wave to compare with."))
        sig = [t for t in trends if t.get("significant")]
        text = _("Wave {wave} compared with wave {previous}: {changed} of {tracked} tracked figures changed "
                 "beyond chance.").format(wave=wave or "", previous=prev or _("before"), changed=tr.n(len(sig)),
                                          tracked=tr.n(len(trends)))
        parts = []
        for t in sig[:4]:
            change = _num(t.get("change"))
            if change is None:
                continue
            value = (f"{'+' if change > 0 else '−'}{tr.num(abs(change) * 100, 1)} " + _("points")
                     if t.get("unit") == "share" else f"{'+' if change > 0 else '−'}{tr.num(abs(change), 2)}")
            parts.append(f"{t.get('metric', '')} {value}")
        if parts:
            text += " " + "; ".join(parts) + _(".")
        return text

    def summary(self) -> str:
        """The three answers at a glance, at the top of the first page."""
        _ = self.tr._
        title = _("The answers at a glance")
        items = "\n".join(f'<li><span class="q">{esc(q)}</span> {a}</li>' for _qid, q, a in self.answers)
        return f'<section class="at-a-glance">\n<h2>{esc(title)}</h2>\n<ol>\n{items}\n</ol>\n</section>'

    def html(self) -> str:
        questions = [self.channels(), self.loyalty(), self.personas()]
        sections = [self.header(), self.summary(), *questions, self.claims(), self.data_notes()]
        return '<section class="brief">\n' + "\n".join(sections) + "\n</section>"


def build_brief(results: dict, codebook=None, lang: str = "en", meta: dict | None = None) -> str:
    """The brief as an HTML fragment (a <section class="brief">), charts inlined as PNG data URIs."""
    return _Brief(results, codebook, lang, meta or {}).html()
