"""The seed claims C01–C17 (../shared/seed-facts.md) as data, and the one verdict rule every study,
the findings summary and the claims ledger use.

Multi-part claims (C03, C04, C09) are split into lettered parts so that each figure gets its own
estimate. `measured_by` says which part of the toolkit can test a claim on a customer survey;
claims about companies or marketers (C06, C10, C16, C17) cannot be tested on one and are listed as such.

Verdicts are equivalence-style, with a margin declared per kind of figure before seeing data
(`MARGINS`): a published share is matched within ± 5 percentage points, a published ratio within a
factor of 1.10 either way. Against the interval of our estimate:

- **consistent**: the interval lies inside the claimed figure's margin;
- **higher** / **lower**: the interval lies entirely above / below the margin;
- **inconclusive**: anything else (the interval straddles a margin bound, or is wider than the margin).

The ledger is one family of `FAMILY_SIZE` pre-declared tests (every claimed figure a survey could
test), so each verdict uses a Bonferroni-adjusted interval at level 1 − 0.05 / FAMILY_SIZE, which
keeps the chance of any false "higher" / "lower" / "consistent" across the ledger at 5% or less. The
adjusted interval is the recorded 95% interval widened on the scale it was built on (logit for
shares, log for ratios) by the ratio of the normal quantiles.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from scipy import stats


@dataclass(frozen=True)
class Claim:
    id: str
    text: str
    claimed: float | None  # as a proportion (0.41) or a ratio (1.40, 7.0); None when vague
    claimed_text: str
    measured_by: str  # "codebook" (a claims item), "channels", "metrics", "loyalty" or "untestable"
    cited_to: str = "unnamed"
    kind: Literal["share", "ratio"] = "share"


@dataclass(frozen=True)
class Margin:
    """How far from a published figure an estimate may lie and still be "consistent" with it."""

    kind: Literal["share", "ratio"]
    value: float  # share: ± this many (proportion, 0.05 = 5 points); ratio: ×/÷ this factor
    text: str

    def bounds(self, claimed: float) -> tuple[float, float]:
        if self.kind == "ratio":
            return claimed / self.value, claimed * self.value
        return claimed - self.value, claimed + self.value


#: margins declared per kind of claimed figure, before seeing any data
MARGINS: dict[str, Margin] = {
    "share": Margin("share", 0.05, "± 5 points"),
    "ratio": Margin("ratio", 1.10, "×/÷ 1.10"),
}
#: verdict words, in the order the ledger explains them
VERDICTS = ("consistent", "higher", "lower", "inconclusive")
NOT_ESTIMABLE = "not estimable"
FAMILY_ALPHA = 0.05


CLAIMS: list[Claim] = [
    Claim("C01", "Customers who expect brands to understand their unique needs and expectations", 0.66, "66% (another article: 65%)", "codebook"),
    Claim("C02", "Customers who expect a customised message on each channel", 0.76, "76%", "codebook"),
    Claim("C03a", "Most important factor of online engagement: fast, reliable cross-channel delivery", 0.41, "41%", "codebook", "PwC survey"),
    Claim("C03b", "Most important factor of online engagement: in-stock availability", 0.35, "35%", "codebook", "PwC survey"),
    Claim("C03c", "Most important factor of online engagement: good cross-channel returns policy", 0.31, "31%", "codebook", "PwC survey"),
    Claim("C03d", "Most important factor of online engagement: fast, convenient website navigation", 0.30, "30%", "codebook", "PwC survey"),
    Claim("C04a", "Most important factor of in-store engagement: seeing and touching products", 0.44, "44%", "codebook", "PwC survey"),
    Claim("C04b", "Most important factor of in-store engagement: easy store navigation", 0.38, "38%", "codebook", "PwC survey"),
    Claim("C04c", "Most important factor of in-store engagement: stronger health and safety measures", 0.35, "35%", "codebook", "PwC survey"),
    Claim("C04d", "Most important factor of in-store engagement: range of products in stock", 0.35, "35%", "codebook", "PwC survey"),
    Claim("C05", "Customers who expect an immediate response when they contact a company", 0.83, "83%", "codebook"),
    Claim("C06", "Companies' average first response time; share answering within 1 hour; within a day", None, "42 hours; 37%; 16%", "untestable"),
    Claim("C07", "Shoppers who regularly use at least two channels", 0.86, "86%", "channels"),
    Claim("C08", "Customers who use several channels to start and complete one transaction", 0.74, "74%", "codebook"),
    Claim("C09a", "SMS engagement backfires: unwanted messages", 0.25, "25%", "codebook"),
    Claim("C09b", "SMS engagement backfires: no opt-out", 0.19, "19%", "codebook"),
    Claim("C09c", "SMS engagement backfires: too many notifications", 0.19, "19%", "codebook"),
    Claim("C09d", "SMS engagement backfires: feels like spam", 0.18, "18%", "codebook"),
    Claim("C10", "SMS open rate", 0.98, "98%", "untestable"),
    Claim("C11", "Customers who stopped buying from a company over privacy concerns", 0.48, "about 48%", "codebook"),
    Claim("C12", "Consumers who prefer shopping online to shopping in stores", 0.50, "almost half", "codebook"),
    Claim("C13", "Customer Effort Score predicts loyalty more accurately than CSAT", 1.40, "40% more accurate", "loyalty", "Gartner", "ratio"),
    Claim("C14", "Repeat customers spend more than one-time buyers", 7.0, "7×", "metrics", kind="ratio"),
    Claim("C15", "Loyalty-programme members' average order value versus non-members", 1.12, "12% higher", "metrics", kind="ratio"),
    Claim("C16", "Marketers who struggle to unify offline and online data", 0.39, "39%", "untestable", "Forrester"),
    Claim("C17", "Share of brand revenue that depends on effective engagement", None, "up to two thirds", "untestable", "Hall & Partners"),
]

CLAIMS_BY_ID = {c.id: c for c in CLAIMS}
UNTESTABLE_REASON = "a customer survey cannot measure it (it is about companies, marketers or message logs)"
#: the multiplicity family: every claimed figure a customer survey could test
FAMILY = tuple(c.id for c in CLAIMS if c.claimed is not None and c.measured_by != "untestable")
FAMILY_SIZE = len(FAMILY)
#: confidence level of the Bonferroni-adjusted intervals the verdicts use
ADJUSTED_LEVEL = 1 - FAMILY_ALPHA / FAMILY_SIZE


def _missing(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def verdict(claimed: float, ci_low: float, ci_high: float, kind: str | None = None,
            margin: Margin | None = None) -> str:
    """"consistent" when [ci_low, ci_high] lies within the claimed figure's margin, "higher" / "lower"
    when it lies entirely beyond it, "inconclusive" otherwise; "not estimable" without an interval.
    `kind` ("share" or "ratio") picks the margin; left out, a claimed figure above 1 is a ratio (a
    share never is). Pass the interval the verdict should rest on (the ledger uses the
    Bonferroni-adjusted one, `adjusted_interval`)."""
    if _missing(ci_low) or _missing(ci_high) or _missing(claimed):
        return NOT_ESTIMABLE
    kind = kind or ("ratio" if claimed > 1 else "share")
    lo, hi = (margin or MARGINS[kind]).bounds(claimed)
    if ci_low > hi:
        return "higher"
    if ci_high < lo:
        return "lower"
    if lo <= ci_low and ci_high <= hi:
        return "consistent"
    return "inconclusive"


def adjusted_interval(estimate: float, ci_low: float, ci_high: float, kind: str = "share",
                      level: float = ADJUSTED_LEVEL) -> tuple[float, float]:
    """The 95% interval widened to `level` on its own scale (logit for shares, log for ratios; each
    side keeps its length relative to the estimate, so asymmetric intervals stay asymmetric)."""
    if any(_missing(v) for v in (estimate, ci_low, ci_high)):
        return (float("nan"), float("nan"))
    stretch = stats.norm.ppf(1 - (1 - level) / 2) / stats.norm.ppf(0.975)
    if kind == "ratio" and min(estimate, ci_low) > 0:
        fwd, back = math.log, math.exp
    elif kind == "share" and 0 < ci_low <= estimate <= ci_high < 1 and 0 < estimate < 1:
        fwd, back = (lambda p: math.log(p / (1 - p))), (lambda z: 1 / (1 + math.exp(-z)))
    else:  # a boundary estimate (0% or 100%): widen on the natural scale, clipped for shares
        lo, hi = estimate - (estimate - ci_low) * stretch, estimate + (ci_high - estimate) * stretch
        return (max(lo, 0.0), min(hi, 1.0)) if kind == "share" else (lo, hi)
    c = fwd(estimate)
    return (back(c - (c - fwd(ci_low)) * stretch), back(c + (fwd(ci_high) - c) * stretch))


def claim_entry(claim_id: str, estimate: float, ci_low: float, ci_high: float, n: int, **extra) -> dict:
    """The `claims` record in results.json for one claim: the estimate with its 95% interval, the
    Bonferroni-adjusted interval the verdict rests on, the declared margin and the verdict."""
    c = CLAIMS_BY_ID[claim_id]
    adj_low, adj_high = adjusted_interval(estimate, ci_low, ci_high, c.kind)
    margin = MARGINS[c.kind]
    return {
        "id": c.id,
        "text": c.text,
        "claimed": c.claimed,
        "claimed_text": c.claimed_text,
        "estimate": estimate,
        "ci_low": ci_low,
        "ci_high": ci_high,
        "n": n,
        "kind": c.kind,
        "margin": margin.text,
        "ci_low_adjusted": adj_low,
        "ci_high_adjusted": adj_high,
        "verdict": verdict(c.claimed, adj_low, adj_high, c.kind),
        **extra,
    }


def verdict_rule() -> str:
    """The verdict rule in one paragraph, for the report and the notebooks."""
    return (f"Verdicts rest on each estimate's Bonferroni-adjusted interval ({100 * ADJUSTED_LEVEL:.2f}%: the "
            f"ledger is one family of {FAMILY_SIZE} testable claimed figures, so the chance of any wrong verdict "
            f"across it stays at or below {FAMILY_ALPHA:.0%}) and on margins declared before seeing the data: "
            f"shares {MARGINS['share'].text}, ratios {MARGINS['ratio'].text}. *Consistent*: the interval lies "
            "within the margin around the published figure; *higher* / *lower*: it lies entirely above / below "
            "the margin; *inconclusive*: neither (the survey cannot tell).")
