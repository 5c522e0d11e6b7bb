"""Persona report sections: turn analysis results into the text and tables a reader sees (verdicts
in words, formatted tables with captions). Each function returns a `View`, which a notebook shows
with `show(view)`; `view.tables` holds the formatted tables and `view.text` the prose."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from ...degrade import NotEstimated

if TYPE_CHECKING:
    from .compare import ChannelComparison
    from .fit import PersonaFit
    from .profiles import PersonaProfiles
    from .structure import Structure
    from .typing_tool import TypingToolResult

#: column headers shown for the statistics columns
HEADERS = {"estimate": "estimate", "ci_low": "95% CI low", "ci_high": "95% CI high", "n": "base n",
           "f_statistic": "F", "p_value": "p", "p_adjusted": "p (corrected)", "cramers_v": "Cramér's V"}


@dataclass(frozen=True, eq=False)
class View:
    """What one report section shows, in order: ("markdown", text) and ("table", name, DataFrame,
    caption, percent columns). `skipped` holds the reason the section has nothing to show."""

    key: str
    title: str
    items: tuple = ()
    skipped: str | None = None

    @property
    def text(self) -> str:
        return "\n\n".join(item[1] for item in self.items if item[0] == "markdown")

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        return {item[1]: item[2] for item in self.items if item[0] == "table"}

    def _ipython_display_(self) -> None:
        from ...nb import show_markdown, show_table

        if self.skipped:
            show_markdown(f"> **{self.title} — skipped.** {self.skipped}")
            return
        for item in self.items:
            if item[0] == "markdown":
                show_markdown(item[1])
            else:
                _, _, df, caption, percent = item
                show_table(df.rename(columns=HEADERS), caption=caption,
                           percent=[HEADERS.get(c, c) for c in percent or []])


class _Builder:
    def __init__(self):
        self.items: list[tuple] = []

    def note(self, text: str) -> None:
        self.items.append(("markdown", text))

    def table(self, name: str, df: pd.DataFrame, caption: str | None = None, percent=None) -> None:
        self.items.append(("table", name, df.reset_index(drop=True), caption, percent))


def _fmt_cell(kind: str, est: float, lo: float, hi: float) -> str:
    if kind == "share":
        return f"{est:.0%} ({lo:.0%}–{hi:.0%})"
    if kind == "nps":
        return f"{est:+.0f} ({lo:+.0f} to {hi:+.0f})"
    return f"{est:.2f} ({lo:.2f}–{hi:.2f})"


def measures_wide(long: pd.DataFrame) -> pd.DataFrame:
    """One row per measure: each persona's estimate (95% CI) and marker, all customers, test."""
    rows = []
    for measure, g in long.groupby("measure", sort=False):
        row = {"measure": measure}
        for _, r in g.iterrows():
            head = "All customers" if r["persona"] == 0 else f"P{int(r['persona'])}"
            row[head] = _fmt_cell(r["kind"], r["estimate"], r["ci_low"], r["ci_high"]) + (
                f" {r['marker']}" if r.get("marker") else "")
        if "p_adjusted" in g:
            first = g.iloc[0]
            row["F"] = first["f_statistic"]
            row["p (corrected)"] = first["p_adjusted"]
        rows.append(row)
    return pd.DataFrame(rows)




def choice(fit: PersonaFit) -> View:
    """How many personas: notes, the rule in words, the verdict with the k-means comparison, and the
    k-selection table."""
    key, title = "choice", "How many personas"
    if fit.skipped:
        return View(key, title, skipped=fit.skipped)
    s = _Builder()
    for note in fit.notes:
        s.note(f"> {note}")
    s.note(f"**Rule.** {fit.rule}")
    t = fit.table
    if fit.k == 1:
        best = t.loc[t["bic"].idxmin()]
        verdict = ("**No persona structure.** The rule chooses k = 1: no solution with two or more personas "
                   "passes the criteria" + (f" (the lowest BIC, k = {int(best['k'])}, {best['verdict']})"
                                            if best["k"] != 1 else "") + ". The customers are best described "
                   "as one group; the persona sections below describe that group as a whole.")
    else:
        verdict = (f"**{fit.k} personas.** The rule chooses k = {fit.k}: smallest persona "
                   f"{t.loc[t['chosen'], 'min_share'].iloc[0]:.0%} of customers, bootstrap stability "
                   f"{fit.stability:.2f}, relative entropy {t.loc[t['chosen'], 'relative_entropy'].iloc[0]:.2f}.")
        if fit.kmeans_ari is not None:
            verdict += (f" k-means on the standardized features, the comparison method, agrees with these "
                        f"personas at adjusted Rand index {fit.kmeans_ari:.2f} (1 = the same grouping).")
    s.note(verdict)
    s.note(cap_sentence(fit))
    s.note(replication_sentence(fit))
    columns = {"k": "k", "bic": "BIC", "min_share": "smallest share", "relative_entropy": "entropy",
               "stability": "stability (mean ARI)", "stability_p10": "stability, 10th pct",
               "best_loglik_share": "starts reaching best LL", "verdict": "verdict"}
    shown = t[[c for c in columns if c in t]].rename(columns=columns)
    boot = (f"{fit.params['bootstrap_reps']} resamples, each refitted from "
            f"{fit.params.get('bootstrap_starts', 2)} independent starts")
    s.table("k_selection", shown, "Latent class solutions for k = 1 … "
            f"{int(t['k'].max())}: fit, smallest persona, classification entropy, bootstrap stability "
            f"({boot}) and the share of the {fit.params['n_init']} starts per k that reached the best "
            "log-likelihood; k above max_personas is shown for comparison and never chosen",
            percent=["smallest share", "starts reaching best LL"])
    return View(key, title, tuple(s.items))


def sizes(fit: PersonaFit, profiles: PersonaProfiles) -> View:
    """Persona sizes with their design-based 95% intervals."""
    key, title = "sizes", "The personas"
    if fit.skipped:
        return View(key, title, skipped=fit.skipped)
    s = _Builder()
    sz = profiles.sizes
    s.table("sizes", sz[["persona", "name", "estimate", "ci_low", "ci_high", "n_persona", "model_share"]].rename(
        columns={"n_persona": "respondents", "model_share": "model share"}),
        f"Persona sizes: weighted share of customers with a design-based 95% interval (base n = {len(fit.labels):,}); "
        "model share = the latent class model's own estimate, which also counts uncertain members",
        percent=["estimate", "ci_low", "ci_high", "model share"])
    return View(key, title, tuple(s.items))


def distinguishing(fit: PersonaFit, profiles: PersonaProfiles) -> View:
    """The features that set each persona apart, and where the names come from."""
    key, title = "distinguishing", "What sets the personas apart"
    if fit.skipped:
        return View(key, title, skipped=fit.skipped)
    s = _Builder()
    if fit.k > 1:
        dist = profiles.distinguishing
        if len(dist):
            dist = dist[["persona", "name", "label", "mean", "overall", "index", "std_diff"]]
            s.table("distinguishing", dist.rename(columns={"label": "feature", "mean": "persona mean",
                                                           "overall": "all customers", "std_diff": "difference (SD)"}),
                    "Distinguishing features: at least half a standard deviation from the average "
                    "(binary items: share; ratings: mean score; behaviour: mean)")
        renamed = [p for p in fit.numbers if fit.names[p] != fit.generated_names.get(p)]
        s.note("Names are generated from each persona's most distinctive features"
               + (f" (personas {', '.join(map(str, renamed))} renamed by the analyst)" if renamed else "")
               + "; set the notebook parameter `persona_names` to rename them.")
    return View(key, title, tuple(s.items))


def by_persona(fit: PersonaFit, channels: ChannelComparison, measures: pd.DataFrame,
               correction: str = "holm") -> View:
    """Personas × the other studies: channel preference and tests, experience and loyalty by persona."""
    key, title = "by_persona", "Channels, experience and loyalty by persona"
    if fit.skipped:
        return View(key, title, skipped=fit.skipped)
    s = _Builder()
    if fit.k < 2:
        s.note("With a single persona there is nothing to compare across personas.")
        return View(key, title, tuple(s.items))
    legend = "; ".join(f"P{p} = {fit.name(p)}" for p in fit.numbers)
    s.note(f"Personas: {legend}.")
    for part in (channels, measures):
        if isinstance(part, NotEstimated):
            s.note(part._repr_markdown_())
    tests, tabs = getattr(channels, "tests", None), getattr(channels, "tables", {})
    if tests is not None:
        for m in [m for m in tabs if m.startswith("preferred")]:
            tab = tabs[m]
            s.table("preference", tab.banner().rename(columns={tab.row: m}),
                    f"{m.capitalize()} by persona: weighted column % with column-proportion letters")
        s.table("channel_tests", tests[["measure", "f_statistic", "ndf", "ddf", "p_value", "p_adjusted", "cramers_v", "n"]],
                f"Do the personas differ in channel use? Rao–Scott F tests ({correction.capitalize()}-corrected over "
                f"{len(tests)} tests) and Cramér's V of the weighted tables")
    if isinstance(measures, NotEstimated):
        pass
    elif len(measures):
        s.table("measures", measures_wide(measures),
                "Experience and loyalty by persona: weighted estimate (95% CI); ▲/▼ significantly above/below the "
                f"other personas (design-based difference, {correction.capitalize()}-corrected within the measure); "
                f"F = design-based Wald test that all personas are equal ({correction.capitalize()}-corrected over "
                "the measures)")
    else:
        s.note("The codebook declares no scales or loyalty outcomes to compare across personas.")
    return View(key, title, tuple(s.items))


def typing_tool(result: TypingToolResult, fit: PersonaFit) -> View:
    """The typing tool's accuracy in words and where it errs (cross-validated confusion, row %)."""
    from .typing_tool import ACCURACY_TOLERANCE, TYPING_TOOL_FILE

    key, title = "typing_tool", "Typing tool: assigning new customers to a persona"
    if fit.skipped:
        return View(key, title, skipped=fit.skipped)
    s = _Builder()
    if isinstance(result, NotEstimated):
        s.note(result._repr_markdown_())
        return View(key, title, tuple(s.items))
    if result.tool is None:
        s.note(result.skipped or "No typing tool was built.")
        return View(key, title, tuple(s.items))
    for note in result.notes:
        s.note(note)
    acc = result.tool.accuracy
    s.note(f"With **{acc['questions']} question{'s' if acc['questions'] != 1 else ''}** the tool puts "
           f"**{acc['cv_accuracy']:.0%}** of customers (95% CI {acc['ci_low']:.0%}–{acc['ci_high']:.0%}, "
           f"{acc['folds']}-fold cross-validation, n = {acc['n']:,}) into the persona the full model gives them; "
           f"guessing the largest persona would be right for {acc['chance']:.0%}. Questions enter in order of how "
           "much they separate the personas (stepwise discriminant analysis, Wilks' lambda); the tool keeps the "
           f"fewest questions within {100 * ACCURACY_TOLERANCE:.0f} point of the best accuracy. Saved as "
           f"`{TYPING_TOOL_FILE}` beside the report; `engagement assign --typing-tool typing_tool.json --data "
           "NEW.csv` types a new file.")
    if "cv_sample" in acc:  # a very large survey: say on whom the accuracy was measured
        s.note(f"The accuracy was {acc['cv_sample']}.")
    rowpct = result.confusion.div(result.confusion.sum(axis=1), axis=0)
    rowpct.index = [f"{p}. {fit.name(p)}" for p in rowpct.index]
    rowpct.columns = [f"typed P{c}" for c in rowpct.columns]
    s.table("confusion", rowpct.reset_index(names="persona (model)"),
            "Where the tool errs: share of each persona typed into each persona (cross-validated, row %)",
            percent=list(rowpct.columns))
    return View(key, title, tuple(s.items))


def typing_questions(result: TypingToolResult) -> View:
    """The typing tool's questions in the order they enter (nothing when there is no tool)."""
    key, title = "typing_questions", "The typing tool's questions"
    s = _Builder()
    if getattr(result, "tool", None) is not None:
        s.table("questions", result.questions, "The typing tool's questions",
                percent=["accuracy with this and earlier questions"])
    return View(key, title, tuple(s.items))


def cap_sentence(fit: PersonaFit) -> str:
    """Whether the cap (`max_personas`) or the data chose k, in one plain sentence."""
    cap = fit.params["max_personas"]
    top = int(fit.table["k"].max())
    if top <= cap:
        return f"All solutions up to k = {top} were fitted; the cap (max_personas = {cap}) is not reached."
    if fit.cap_binds:
        return (f"**The cap, not the data, chose k = {fit.k}.** BIC keeps improving above max_personas = {cap}: "
                f"over k = 1 … {top} it is lowest at k = {fit.bic_best_k}, and larger solutions with a lower BIC "
                f"than k = {fit.k} also pass the size and entropy rules (their stability is not checked). Four "
                "personas or fewer keep a strategy focused, but the data would support more.")
    if fit.bic_best_k > cap:
        return (f"BIC over k = 1 … {top} is lowest at k = {fit.bic_best_k}, above max_personas = {cap}, but "
                "those solutions fail the size or entropy rule: the data, not the cap, limit k.")
    return f"BIC over k = 1 … {top} is lowest at k = {fit.bic_best_k}: the cap (max_personas = {cap}) does not bind."


def replication_sentence(fit: PersonaFit) -> str:
    """How often the independent starts found the best log-likelihood of the chosen k."""
    row = fit.table.loc[fit.table["k"] == fit.k].iloc[0]
    n, share = int(row.get("n_starts", 0) or 0), row.get("best_loglik_share")
    if fit.k == 1 or not n or share is None or share != share:
        return f"Every k > 1 was fitted from {fit.params['n_init']} independent starts; the best likelihood is kept."
    text = (f"Every k > 1 was fitted from {fit.params['n_init']} independent starts; at the chosen k = {fit.k}, "
            f"{round(share * n)} of {n} starts reached the best log-likelihood")
    if round(share * n) < 2:
        return text + (" — only once, so a better solution may exist: raise `n_init`.")
    return text + "."


def structure(result: Structure) -> View:
    """The structure verdict ("clear" / "weak" / "none") and its evidence."""
    s = _Builder()
    s.note(f"**{result.sentence}**" if result.verdict != "clear" else result.sentence)
    if result.checks:
        s.table("structure", result.to_frame(), "Evidence for the persona structure (value against the "
                "threshold of a clear structure)")
    return View("structure", "How clear is the persona structure?", tuple(s.items))
