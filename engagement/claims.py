"""The seed claims C01–C17 (../shared/seed-facts.md) as data, and the verdict rule.

Multi-part claims (C03, C04, C09) are split into lettered parts so that each figure gets its own
estimate. `measured_by` says which part of the toolkit can test a claim on a customer survey;
claims about companies or marketers (C06, C10, C16, C17) cannot be tested on one and are listed as such.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Claim:
    id: str
    text: str
    claimed: float | None  # as a proportion (0.41) or a ratio (1.40, 7.0); None when vague
    claimed_text: str
    measured_by: str  # "codebook" (a claims item), "channels", "metrics", "loyalty" or "untestable"
    cited_to: str = "unnamed"


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
    Claim("C13", "Customer Effort Score predicts loyalty more accurately than CSAT", 1.40, "40% more accurate", "loyalty", "Gartner"),
    Claim("C14", "Repeat customers spend more than one-time buyers", 7.0, "7×", "metrics"),
    Claim("C15", "Loyalty-programme members' average order value versus non-members", 1.12, "12% higher", "metrics"),
    Claim("C16", "Marketers who struggle to unify offline and online data", 0.39, "39%", "untestable", "Forrester"),
    Claim("C17", "Share of brand revenue that depends on effective engagement", None, "up to two thirds", "untestable", "Hall & Partners"),
]

CLAIMS_BY_ID = {c.id: c for c in CLAIMS}
UNTESTABLE_REASON = "a customer survey cannot measure it (it is about companies, marketers or message logs)"


def verdict(claimed: float, ci_low: float, ci_high: float) -> str:
    """consistent when the 95% interval covers the claimed figure; otherwise higher or lower."""
    if ci_low is None or ci_high is None:
        return "not estimable"
    if ci_low > claimed:
        return "higher"
    if ci_high < claimed:
        return "lower"
    return "consistent"


def claim_entry(claim_id: str, estimate: float, ci_low: float, ci_high: float, n: int, **extra) -> dict:
    """The `claims` record in results.json for one claim."""
    c = CLAIMS_BY_ID[claim_id]
    return {
        "id": c.id,
        "text": c.text,
        "claimed": c.claimed,
        "claimed_text": c.claimed_text,
        "estimate": estimate,
        "ci_low": ci_low,
        "ci_high": ci_high,
        "n": n,
        "verdict": verdict(c.claimed, ci_low, ci_high),
        **extra,
    }
