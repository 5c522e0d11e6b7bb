"""The generative model behind the embedded default survey (an omnichannel retail CX survey).

Everything a study claims to recover is planted here with a known value, and the planted truth is
written beside the survey (`truth.csv` per respondent, `truth.json` for population quantities) —
never into the survey itself. The model, in the order it draws:

1. **Demographics.** Age group, gender and region are drawn from *sample* distributions that are
   skewed away from the *population* margins written into the codebook (younger and more female than
   the population), so unweighted estimates are biased and raking matters.
2. **Personas.** A latent persona (up to four) is drawn given age group, P(persona | age). Personas
   drive channel use, stage preferences, attitudes, behaviour and the service experience.
3. **Channel use (6 months).** Eight independent Bernoulli draws given the persona (store, web, app,
   phone, chat, email, social, SMS); a customer who used none gets the persona's main channel. Gender
   and region have no effect on channel use (planted null differences); age acts only through persona.
4. **Preferred channel per journey stage.** A categorical draw over the channels the customer used,
   with persona × stage preference weights.
5. **Service experience.** The channel of the last service interaction is drawn among used channels;
   latent ease = persona offset + channel offset (phone and social are planted pain points) + noise;
   CES 2.0 (1–7, "made it easy", higher is better) and CSAT (1–5) are discretised from latent ease
   and a correlated latent satisfaction.
6. **Loyalty.** A latent loyalty index is built from the *reported* scores:
   L = effect_effort · z(CES) + effect_satisfaction · z(CSAT) + persona offset + noise,
   so the parameters set directly which score carries more information about loyalty (the
   CES-vs-CSAT truth can be planted either way, or equal). NPS (0–10), repurchase intention (1–5),
   retention 12 months later (binary, logistic in L) and orders over 365 days (Poisson, log-linear
   in L) are read off L.
7. **Attitudes and claims items.** Five attitude statements (1–5) given persona; a four-item
   digital-affinity block (one latent factor, for reliability); items whose weighted shares are the
   survey's counterparts of the seed claims (expectations, most important online / in-store factors,
   response-time expectation, SMS annoyances, privacy, online-vs-store preference).
8. **Behaviour (CRM-linked).** Orders, revenue (orders × persona order value × member uplift),
   guest checkouts, web sessions and single-page sessions, e-mail impressions and clicks,
   loyalty-programme membership.
9. **Defects.** Speeders, straightliners across the attitude grid, failed attention checks,
   duplicate submissions and item non-response; an e-mail address column as PII.

Same seed, same parameters -> identical bytes.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from .config import DEFAULT_N, DEFAULT_SEED

CHANNELS = ["store", "web", "app", "phone", "chat", "email", "social", "sms"]
CHANNEL_CODES = {i + 1: c for i, c in enumerate(CHANNELS)}
ONLINE = ["web", "app", "chat", "email", "social", "sms"]
#: the channels customers buy through (C07 counts these; the others are contact and messaging channels)
SHOPPING = ["store", "web", "app"]
STAGES = ["discover", "purchase", "delivery", "support", "returns"]
AGE_GROUPS = {1: "18-24", 2: "25-34", 3: "35-44", 4: "45-54", 5: "55+"}
GENDERS = {1: "female", 2: "male"}
REGIONS = {1: "north", 2: "south", 3: "east", 4: "west"}

# Population margins (what raking targets) and the skewed sample the survey actually reaches.
POP_AGE = np.array([0.12, 0.18, 0.18, 0.17, 0.35])
SAMPLE_AGE = np.array([0.22, 0.26, 0.20, 0.15, 0.17])
POP_GENDER = np.array([0.51, 0.49])
SAMPLE_GENDER = np.array([0.58, 0.42])
POP_REGION = np.array([0.25, 0.25, 0.25, 0.25])
SAMPLE_REGION = np.array([0.30, 0.25, 0.25, 0.20])

PERSONA_NAMES = ["Digital-first", "Store loyalist", "Omnichannel enthusiast", "Deal seeker"]
# P(persona | age group): rows are age groups 1..5, columns personas 1..4.
PERSONA_GIVEN_AGE = np.array([
    [0.50, 0.05, 0.25, 0.20],
    [0.40, 0.10, 0.30, 0.20],
    [0.25, 0.20, 0.35, 0.20],
    [0.15, 0.35, 0.25, 0.25],
    [0.08, 0.55, 0.12, 0.25],
])
# P(channel used in the last 6 months | persona): rows personas, columns CHANNELS.
CHANNEL_USE = np.array([
    # store web   app   phone chat  email social sms
    [0.35, 0.85, 0.90, 0.10, 0.45, 0.40, 0.70, 0.30],  # Digital-first
    [0.97, 0.25, 0.08, 0.45, 0.05, 0.30, 0.05, 0.15],  # Store loyalist
    [0.85, 0.85, 0.75, 0.35, 0.40, 0.70, 0.55, 0.45],  # Omnichannel enthusiast
    [0.60, 0.80, 0.35, 0.15, 0.20, 0.75, 0.25, 0.40],  # Deal seeker
])
MAIN_CHANNEL = [2, 0, 1, 1]  # index into CHANNELS, used when a respondent used none
# Stage preference weights (before restricting to used channels): persona x stage x channel.
_STAGE_BASE = {
    "discover": [1.0, 1.5, 1.0, 0.1, 0.1, 0.8, 1.5, 0.1],
    "purchase": [2.0, 2.0, 1.5, 0.1, 0.05, 0.1, 0.1, 0.05],
    "delivery": [2.0, 1.5, 1.5, 0.1, 0.1, 0.3, 0.01, 0.5],
    "support": [1.0, 0.8, 0.6, 1.5, 1.5, 0.6, 0.2, 0.2],
    "returns": [2.5, 1.5, 1.0, 0.5, 0.3, 0.2, 0.01, 0.05],
}
_PERSONA_TILT = np.array([  # multiplies every stage's weights
    [0.4, 1.6, 2.0, 0.5, 1.5, 1.0, 1.5, 1.0],
    [3.0, 0.5, 0.3, 1.5, 0.3, 0.8, 0.3, 0.5],
    [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0],
    [0.8, 1.5, 0.8, 0.7, 0.8, 1.5, 0.7, 1.2],
])
# Latent ease of the last service interaction: persona and channel offsets (SD units).
EASE_PERSONA = np.array([0.2, 0.0, 0.3, -0.2])
EASE_CHANNEL = np.array([0.3, 0.2, 0.3, -0.6, 0.0, 0.0, -0.5, 0.0])  # phone, social are pain points
SAT_PERSONA = np.array([0.0, 0.2, 0.3, -0.3])
# No direct persona effect on loyalty: personas act on loyalty only through the reported experience,
# so the loadings alone decide which score carries more information (the CES-vs-CSAT truth).
LOYALTY_PERSONA = np.zeros(4)
# Attitudes 1-5, persona means on the latent scale (att_price, att_convenience, att_touch,
# att_tech, att_privacy).
ATTITUDES = ["att_price", "att_convenience", "att_touch", "att_tech", "att_privacy"]
# (scaled by 1.25: attitudes separate the personas well enough to recover them from the survey)
ATTITUDE_MEANS = 1.25 * np.array([
    [0.0, 1.0, -0.8, 1.3, 0.2],
    [-0.2, -0.3, 1.2, -1.2, 0.6],
    [0.2, 0.8, 0.6, 0.7, 0.0],
    [1.4, 0.3, 0.0, 0.0, 0.3],
])
DIGITAL_PERSONA = np.array([1.0, -1.0, 0.5, 0.0])
ORDERS_RATE = np.array([6.0, 4.0, 9.0, 5.0])
ORDER_VALUE = np.array([45.0, 70.0, 80.0, 35.0])
MEMBER_P = np.array([0.35, 0.40, 0.65, 0.45])
MEMBER_AOV_UPLIFT = 1.12  # members' order value relative to non-members (C15 counterpart)
GUEST_P = np.array([0.15, 0.25, 0.10, 0.40])

# Claims-item probabilities (population-level, not persona-driven) tuned to realistic counterparts.
ONLINE_FACTORS = {"of_delivery": 0.40, "of_stock": 0.36, "of_returns": 0.27, "of_navigation": 0.30}
STORE_FACTORS = {"sf_touch": 0.46, "sf_navigation": 0.33, "sf_safety": 0.22, "sf_range": 0.37}
SMS_ANNOYANCES = {"sms_unwanted": 0.28, "sms_no_optout": 0.17, "sms_too_many": 0.21, "sms_spam": 0.18}
RESPONSE_TIME_P = [0.74, 0.17, 0.07, 0.02]  # immediately / within 1 h / within a day / longer
# Key-driver attribute ratings: (correlation of the latent rating with loyalty, mean level).
DRIVERS = {
    "drv_delivery": (0.55, 0.2),    # important, middling performance: "fix first"
    "drv_website": (0.45, 0.8),     # important, performs well: "keep up"
    "drv_staff": (0.20, 0.9),       # less important, performs well
    "drv_value": (0.50, -0.3),      # important, performs poorly: "fix first"
    "drv_range": (0.15, -0.1),      # less important, performs poorly
}
DRIVER_LABELS = {"drv_delivery": "Delivery speed and reliability", "drv_website": "Ease of using the website and app",
                 "drv_staff": "Helpfulness of staff", "drv_value": "Value for money", "drv_range": "Range of products"}


#: planted C13 worlds (issue 10): (loading of loyalty on standardized CES for age groups 18-24 … 55+,
#: loading on standardized CSAT). Effort matters more to older customers, who are under-represented
#: in the skewed sample, so ignoring the weights understates CES. Population Somers' D ratios
#: (CES ÷ CSAT, intention to buy again): about 1.5, 1.04 and 0.81 (values in truth.json "c13"); ignoring
#: the weights gives about 0.1–0.15 less in each world.
C13_WORLDS: dict[str, tuple[tuple[float, ...], float]] = {
    "ces_ahead": ((0.05, 0.20, 0.60, 1.20, 1.70), 0.20),
    "equal": ((0.00, 0.10, 0.35, 0.75, 1.10), 0.55),
    "csat_ahead": ((0.00, 0.05, 0.20, 0.45, 0.70), 0.80),
}


@dataclass
class SimulationParams:
    """Parameters of the generative model (defaults give the embedded survey)."""

    n: int = DEFAULT_N
    seed: int = DEFAULT_SEED
    n_personas: int = 4
    #: loadings of loyalty on the standardized reported scores (planted CES-vs-CSAT truth)
    effect_effort: float = 0.55
    effect_satisfaction: float = 0.30
    loyalty_noise: float = 0.8
    #: correlation of latent satisfaction with latent ease
    ease_sat_correlation: float = 0.6
    speeder_rate: float = 0.03
    straightliner_rate: float = 0.025
    attention_fail_rate: float = 0.03
    duplicate_rate: float = 0.01
    item_missing_rate: float = 0.03
    skew_sample: bool = True
    #: shifts for a later survey wave (see simulate_waves): added to latent ease and to loyalty
    wave_ease_shift: float = 0.0
    wave_loyalty_shift: float = 0.0
    wave: str = "2026-Q4"
    extra: dict = field(default_factory=dict)


def _discretise(latent: np.ndarray, cuts: np.ndarray, low: int) -> np.ndarray:
    return (np.searchsorted(cuts, latent) + low).astype(int)


def _likert5(latent: np.ndarray) -> np.ndarray:
    return _discretise(latent, np.array([-1.5, -0.5, 0.5, 1.5]), 1)


def _categorical(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One draw per row of a (n, k) probability matrix."""
    cum = probs.cumsum(axis=1)
    cum /= cum[:, -1:]
    u = rng.random(len(probs))[:, None]
    return (u > cum).sum(axis=1)


def _zscore(x: np.ndarray) -> np.ndarray:
    return (x - x.mean()) / x.std()


def _persona_probs(params: SimulationParams) -> np.ndarray:
    k = params.n_personas
    if not 1 <= k <= 4:
        raise ValueError("n_personas must be between 1 and 4")
    p = PERSONA_GIVEN_AGE[:, :k].copy()
    return p / p.sum(axis=1, keepdims=True)


def simulate_survey(params: SimulationParams | None = None, *, c13_world: str | None = None,
                    _population_truth: bool = True) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Draw one survey wave. Returns (survey, per-respondent truth, population truth).

    c13_world: one of C13_WORLDS ("ces_ahead", "equal", "csat_ahead") plants the CES-vs-CSAT truth
    with an age × effort interaction instead of `effect_effort` / `effect_satisfaction`; the
    population truth then holds, under "c13", the population value of every C13 verdict statistic.
    None (default) draws the default survey unchanged."""
    if c13_world is not None and c13_world not in C13_WORLDS:
        raise ValueError(f"c13_world must be one of {sorted(C13_WORLDS)}, got {c13_world!r}")
    p = params or SimulationParams()
    rng = np.random.default_rng(p.seed)
    n = p.n

    age_p = SAMPLE_AGE if p.skew_sample else POP_AGE
    gender_p = SAMPLE_GENDER if p.skew_sample else POP_GENDER
    region_p = SAMPLE_REGION if p.skew_sample else POP_REGION
    age = rng.choice(5, size=n, p=age_p)
    gender = rng.choice(2, size=n, p=gender_p)
    region = rng.choice(4, size=n, p=region_p)

    pga = _persona_probs(p)
    persona = _categorical(rng, pga[age])

    # Channel use: independent Bernoulli given persona; nobody is left with no channel.
    use = (rng.random((n, len(CHANNELS))) < CHANNEL_USE[persona]).astype(int)
    none = use.sum(axis=1) == 0
    use[none, np.array(MAIN_CHANNEL)[persona[none]]] = 1

    # Preferred channel at each stage, among the channels used.
    prefs = {}
    for stage in STAGES:
        w = np.array(_STAGE_BASE[stage])[None, :] * _PERSONA_TILT[persona] * use
        prefs[stage] = _categorical(rng, w + 1e-12 * use)
    last = _categorical(rng, (np.array(_STAGE_BASE["support"])[None, :] * use) + 1e-12 * use)

    # Service experience: latent ease and satisfaction, then the reported scores.
    ease = EASE_PERSONA[persona] + EASE_CHANNEL[last] + p.wave_ease_shift + rng.normal(size=n)
    rho = p.ease_sat_correlation
    sat = rho * ease + np.sqrt(1 - rho**2) * rng.normal(size=n) + SAT_PERSONA[persona]
    ces = _discretise(ease, np.array([-1.8, -1.1, -0.5, 0.1, 0.7, 1.4]), 1)  # 1-7
    csat = _discretise(sat, np.array([-1.6, -0.8, 0.0, 0.9]), 1)  # 1-5

    # Loyalty from the reported scores (planted CES-vs-CSAT truth). A C13 world replaces the two
    # loadings: effort's loading depends on age (see C13_WORLDS), so an unweighted estimate of the
    # CES-vs-CSAT comparison on the young-heavy sample misses the population value.
    if c13_world is not None:
        effort_by_age, satisfaction = C13_WORLDS[c13_world]
        load_effort, load_sat = np.asarray(effort_by_age)[age], satisfaction
    else:
        load_effort, load_sat = p.effect_effort, p.effect_satisfaction
    loyalty = (load_effort * _zscore(ces) + load_sat * _zscore(csat)
               + LOYALTY_PERSONA[persona] + p.wave_loyalty_shift + p.loyalty_noise * rng.normal(size=n))
    nps = np.clip(np.round(7.9 + 1.6 * loyalty + 0.9 * rng.normal(size=n)), 0, 10).astype(int)
    repurchase = _likert5(0.4 + loyalty * 0.9 + 0.5 * rng.normal(size=n))
    retained = (rng.random(n) < 1 / (1 + np.exp(-(1.2 + 1.1 * loyalty)))).astype(int)

    # Attitudes (conditionally independent given persona) and the digital-affinity block.
    att = {a: _likert5(ATTITUDE_MEANS[persona, j] + 0.9 * rng.normal(size=n)) for j, a in enumerate(ATTITUDES)}
    digital = DIGITAL_PERSONA[persona] * 0.6 + rng.normal(size=n)
    dig = {f"dig_{j + 1}": _likert5(0.8 * digital + 0.6 * rng.normal(size=n) + shift)
           for j, shift in enumerate([0.2, 0.0, -0.2, 0.1])}

    # Claims items.
    expect_understand = _likert5(0.55 + 0.3 * att["att_tech"] - 0.9 + 0.9 * rng.normal(size=n))
    expect_custom = _likert5(0.9 + 0.2 * (persona == 0) + 0.9 * rng.normal(size=n))
    online_f = {k: (rng.random(n) < v).astype(int) for k, v in ONLINE_FACTORS.items()}
    store_f = {k: (rng.random(n) < v).astype(int) for k, v in STORE_FACTORS.items()}
    sms_f = {k: (rng.random(n) < v).astype(int) for k, v in SMS_ANNOYANCES.items()}
    response_time = rng.choice(4, size=n, p=RESPONSE_TIME_P) + 1
    privacy_stopped = (rng.random(n) < 0.30 + 0.08 * (att["att_privacy"] >= 4)).astype(int)
    online_share = np.array([0.80, 0.12, 0.45, 0.55])[persona]
    prefer = np.where(rng.random(n) < online_share, 1, 2)
    prefer = np.where(rng.random(n) < 0.12, 3, prefer)  # 1 online, 2 in store, 3 no preference
    cross_channel = (prefs["discover"] != prefs["purchase"]).astype(int)

    # CRM-linked behaviour.
    orders = rng.poisson(ORDERS_RATE[persona] * np.exp(0.25 * loyalty - 0.03))
    member = (rng.random(n) < MEMBER_P[persona]).astype(int)
    aov = ORDER_VALUE[persona] * np.where(member == 1, MEMBER_AOV_UPLIFT, 1.0)
    revenue = np.round(orders * aov * rng.lognormal(0, 0.25, size=n), 2)
    guest = rng.binomial(orders, GUEST_P[persona])
    sessions = rng.poisson(3 + 2.5 * use[:, 1] + 1.5 * orders)
    single = rng.binomial(sessions, 0.35)
    impressions = rng.poisson(40 * (0.3 + use[:, 5]))
    clicks = rng.binomial(impressions, np.array([0.03, 0.02, 0.05, 0.06])[persona])

    # Attention check: "please select 'Agree' (4)".
    attention = np.full(n, 4)

    df = pd.DataFrame({
        "resp_id": [f"R{p.seed % 1000:03d}{i:06d}" for i in range(1, n + 1)],
        # the customer number the CRM knows (a resubmission keeps it; see split_extracts)
        "customer_id": [f"C{p.seed % 1000:03d}{i:07d}" for i in range(1, n + 1)],
        "email": _fake_emails(rng, n),
        "age_group": age + 1,
        "gender": gender + 1,
        "region": region + 1,
        **{f"use_{c}": use[:, j] for j, c in enumerate(CHANNELS)},
        **{f"pref_{s}": prefs[s] + 1 for s in STAGES},
        "cross_channel_purchase": cross_channel,
        "last_channel": last + 1,
        "ces": ces,
        "csat": csat,
        "nps": nps,
        "repurchase": repurchase,
        **att,
        "attn_check": attention,
        **dig,
        "expect_understand": expect_understand,
        "expect_custom_message": expect_custom,
        **online_f,
        **store_f,
        "response_time_expectation": response_time,
        **sms_f,
        "privacy_stopped_buying": privacy_stopped,
        "prefer_online": prefer,
        "orders_365d": orders,
        "revenue_365d": revenue,
        "guest_orders_365d": guest,
        "web_sessions": sessions,
        "single_page_sessions": single,
        "email_impressions": impressions,
        "email_clicks": clicks,
        "loyalty_member": member,
        "retained_12m": retained,
        **_driver_ratings(p.seed, loyalty),
    })
    duration = np.round(rng.lognormal(np.log(540), 0.25, size=n)).astype(int)
    truth = pd.DataFrame({"resp_id": df["resp_id"], "persona": persona + 1,
                          "persona_name": np.array(PERSONA_NAMES)[persona],
                          "speeder": 0, "straightliner": 0, "attention_fail": 0, "duplicate": 0})

    # Defects: disjoint sets of respondents, so each screening rule can be checked exactly.
    order = rng.permutation(n)
    counts = [int(round(r * n)) for r in (p.speeder_rate, p.straightliner_rate, p.attention_fail_rate)]
    speed_idx = order[: counts[0]]
    straight_idx = order[counts[0]: counts[0] + counts[1]]
    attn_idx = order[counts[0] + counts[1]: sum(counts)]
    duration[speed_idx] = np.round(np.median(duration) * rng.uniform(0.12, 0.4, size=len(speed_idx))).astype(int)
    for col in ATTITUDES:  # speeders click through: random answers
        df.loc[speed_idx, col] = rng.integers(1, 6, size=len(speed_idx))
    flat = rng.integers(1, 6, size=len(straight_idx))
    for col in ATTITUDES:
        df.loc[straight_idx, col] = flat
    df.loc[attn_idx, "attn_check"] = rng.choice([1, 2, 3, 5], size=len(attn_idx))
    truth.loc[speed_idx, "speeder"] = 1
    truth.loc[straight_idx, "straightliner"] = 1
    truth.loc[attn_idx, "attention_fail"] = 1
    df.insert(2, "duration_s", duration)

    # Item non-response on ratings and attitudes (never on the grid of straightliners).
    clean_rows = np.setdiff1d(np.arange(n), straight_idx)
    for col in ["csat", "ces", "repurchase", *ATTITUDES[:2], *dig]:
        miss = clean_rows[rng.random(len(clean_rows)) < p.item_missing_rate]
        df[col] = df[col].astype("float64")
        df.loc[miss, col] = np.nan

    # Duplicate submissions: exact resubmissions (same answers and e-mail, new response id).
    n_dup = int(round(p.duplicate_rate * n))
    dup_src = rng.choice(np.setdiff1d(np.arange(n), order[: sum(counts)]), size=n_dup, replace=False)
    dups = df.iloc[dup_src].copy()
    dups["resp_id"] = [f"R{p.seed % 1000:03d}{i:06d}" for i in range(n + 1, n + n_dup + 1)]
    dup_truth = truth.iloc[dup_src].copy()
    dup_truth["resp_id"] = dups["resp_id"].values
    dup_truth["duplicate"] = 1
    # a resubmission arrives after its original: insert each copy somewhere later in the file
    insert_at = dup_src + np.floor(rng.random(n_dup) * (n - dup_src)).astype(int)
    df = pd.concat([df, dups]).iloc[np.argsort(np.r_[np.arange(n), insert_at + 0.5], kind="stable")]
    truth = pd.concat([truth, dup_truth]).iloc[np.argsort(np.r_[np.arange(n), insert_at + 0.5], kind="stable")]
    df = df.reset_index(drop=True)
    truth = truth.reset_index(drop=True)

    if not _population_truth:
        return df, truth, {}
    pop = population_truth(p)
    if c13_world is not None:
        pop["c13"] = c13_population_truth(c13_world, p.seed)
    return df, truth, pop


def c13_population_truth(world: str, seed: int, n: int = 200_000) -> dict:
    """Population values of the C13 verdict statistics in a planted world: CES and CSAT on
    intention to buy again (the primary outcome), as asked, on a clean population draw with the
    population's age, gender and region mix (so no weights are needed)."""
    from .studies.loyalty.c13 import population_statistics  # the statistics live with the study

    pop, _, _ = simulate_survey(SimulationParams(n=n, seed=seed + 10_000, skew_sample=False, speeder_rate=0,
                                                 straightliner_rate=0, attention_fail_rate=0, duplicate_rate=0,
                                                 item_missing_rate=0),
                                c13_world=world, _population_truth=False)
    return {"world": world, "outcome": "repurchase", "coding": "as asked", "population_n": n,
            **population_statistics(pop["ces"].to_numpy(float), pop["csat"].to_numpy(float),
                                    pop["repurchase"].to_numpy(float), "ordinal")}


def _driver_ratings(seed: int, loyalty: np.ndarray) -> dict[str, np.ndarray]:
    """Attribute ratings (1-5) for the key-driver map: each follows loyalty with its own strength
    (the planted importance) around its own level (the planted performance). Drawn from a separate
    stream of the seed, so adding them leaves every other column of the survey as it was."""
    rng = np.random.default_rng([seed, 1])
    z = _zscore(loyalty)
    return {col: _likert5(level + r * z + np.sqrt(1 - r**2) * rng.normal(size=len(z)))
            for col, (r, level) in DRIVERS.items()}


def population_truth(p: SimulationParams) -> dict:
    """Population quantities implied by the model (exact where the model allows)."""
    pga = _persona_probs(p)
    persona_share = POP_AGE @ pga
    # Share using >= 2 channels: Poisson-binomial per persona (the "no channel" fix-up moves
    # zero-channel customers to one channel, so P(>=2) is unaffected).
    multi = []
    for k in range(p.n_personas):
        dist = np.array([1.0])
        for q in CHANNEL_USE[k]:
            dist = np.convolve(dist, [1 - q, q])
        multi.append(1 - dist[0] - dist[1])
    # customers who used no channel are given their persona's main channel
    use_by_persona = CHANNEL_USE[: p.n_personas].copy()
    for k in range(p.n_personas):
        use_by_persona[k, MAIN_CHANNEL[k]] += np.prod(1 - CHANNEL_USE[k])
    channel_use = persona_share @ use_by_persona
    return {
        "params": asdict(p),
        "persona_names": PERSONA_NAMES[: p.n_personas],
        "persona_share": persona_share.tolist(),
        "multichannel_share": float(persona_share @ np.array(multi)),
        "channel_use_share": dict(zip(CHANNELS, channel_use.tolist())),
        "channel_use_differs_by": {"age_group": True, "gender": False, "region": False},
        "pain_points": ["phone", "social"],
        "loyalty_stronger_predictor": (
            "ces" if p.effect_effort > p.effect_satisfaction
            else "csat" if p.effect_satisfaction > p.effect_effort else "equal"
        ),
        "member_aov_uplift_within_persona": MEMBER_AOV_UPLIFT,
        "driver_strength": {c: r for c, (r, _) in DRIVERS.items()},
    }


_FIRST = ["min", "ji", "yuki", "hana", "alex", "sam", "jo", "kim", "lee", "park", "sato", "mia"]
_LAST = ["kim", "lee", "park", "tanaka", "suzuki", "smith", "jones", "choi", "ito", "brown"]


def _fake_emails(rng: np.random.Generator, n: int) -> list[str]:
    f = rng.integers(0, len(_FIRST), n)
    last = rng.integers(0, len(_LAST), n)
    num = rng.integers(10, 9999, n)
    return [f"{_FIRST[a]}.{_LAST[b]}{c}@example.com" for a, b, c in zip(f, last, num)]


def default_codebook(params: SimulationParams | None = None, single_file: bool = False) -> dict:
    """The codebook of the simulated survey, as a plain dict (written as YAML); unless `single_file`,
    with the CRM and order extracts it joins."""
    p = params or SimulationParams()
    cb = _codebook_dict(p)
    if not single_file:
        cb["extracts"] = extracts_codebook()
    return cb


def _codebook_dict(p: SimulationParams) -> dict:
    ch_labels = dict(CHANNEL_CODES)
    return {
        "survey": {"name": "Omnichannel retail customer-experience survey (simulated)", "wave": p.wave,
                   "description": "Embedded default survey drawn by engagement.simulate; see README, 'The default survey'."},
        "encoding": "utf-8",
        "format": "csv",
        "id": "resp_id",
        "duration": "duration_s",
        "attention_checks": [{"column": "attn_check", "correct": 4}],
        "pii": ["email"],
        "scales": {
            "ces": {"column": "ces", "min": 1, "max": 7, "higher_is_better": True, "top_box": [5, 6, 7],
                    "label": "CES 2.0: The company made it easy for me to handle my issue (1-7)"},
            "csat": {"column": "csat", "min": 1, "max": 5, "higher_is_better": True,
                     "label": "Overall, how satisfied were you with the interaction? (1-5)"},
            "nps": {"column": "nps", "min": 0, "max": 10, "higher_is_better": True,
                    "label": "How likely are you to recommend us to a friend? (0-10)"},
        },
        "item_blocks": [
            {"name": "digital_affinity", "items": [f"dig_{j}" for j in range(1, 5)], "min": 1, "max": 5,
             "label": "Digital affinity (4 items, 1-5)"},
        ],
        "outcomes": [
            {"name": "nps", "column": "nps", "kind": "nps", "min": 0, "max": 10, "label": "Likelihood to recommend (0-10)"},
            {"name": "repurchase", "column": "repurchase", "kind": "likert", "min": 1, "max": 5,
             "label": "Intention to buy again (1-5)"},
            {"name": "retained_12m", "column": "retained_12m", "kind": "binary", "positive": 1,
             "label": "Still a customer 12 months later (CRM)"},
            {"name": "orders_365d", "column": "orders_365d", "kind": "count", "label": "Orders in the last 365 days (CRM)"},
        ],
        "controls": ["age_group", "gender"],
        "drivers": list(DRIVERS),
        "channels": {
            "usage": {c: f"use_{c}" for c in CHANNELS},
            "online": ONLINE,
            "shopping": SHOPPING,
            "stages": {s: f"pref_{s}" for s in STAGES},
            "codes": ch_labels,
            "last_interaction": "last_channel",
            "cross_channel_purchase": "cross_channel_purchase",
        },
        "segments": [
            {"column": "age_group", "label": "Age group", "labels": AGE_GROUPS},
            {"column": "gender", "label": "Gender", "labels": GENDERS},
            {"column": "region", "label": "Region", "labels": REGIONS},
        ],
        "persona_features": {
            "binary": [f"use_{c}" for c in CHANNELS],
            "ordinal": ATTITUDES,
            "continuous": ["orders_365d", "revenue_365d"],
        },
        "claims": [
            {"id": "C01", "column": "expect_understand", "values": [4, 5], "label": "Expect brands to understand my needs (agree, 4-5)"},
            {"id": "C02", "column": "expect_custom_message", "values": [4, 5], "label": "Expect a customised message on each channel (agree, 4-5)"},
            {"id": "C03a", "column": "of_delivery", "values": [1], "label": "Online: fast, reliable cross-channel delivery"},
            {"id": "C03b", "column": "of_stock", "values": [1], "label": "Online: in-stock availability"},
            {"id": "C03c", "column": "of_returns", "values": [1], "label": "Online: good cross-channel returns policy"},
            {"id": "C03d", "column": "of_navigation", "values": [1], "label": "Online: fast, convenient website navigation"},
            {"id": "C04a", "column": "sf_touch", "values": [1], "label": "In store: seeing and touching products"},
            {"id": "C04b", "column": "sf_navigation", "values": [1], "label": "In store: easy store navigation"},
            {"id": "C04c", "column": "sf_safety", "values": [1], "label": "In store: stronger health and safety measures"},
            {"id": "C04d", "column": "sf_range", "values": [1], "label": "In store: range of products in stock"},
            {"id": "C05", "column": "response_time_expectation", "values": [1], "label": "Expect an immediate response"},
            {"id": "C08", "column": "cross_channel_purchase", "values": [1], "label": "Started and finished a purchase in different channels"},
            {"id": "C09a", "column": "sms_unwanted", "values": [1], "label": "SMS: unwanted messages"},
            {"id": "C09b", "column": "sms_no_optout", "values": [1], "label": "SMS: no opt-out"},
            {"id": "C09c", "column": "sms_too_many", "values": [1], "label": "SMS: too many notifications"},
            {"id": "C09d", "column": "sms_spam", "values": [1], "label": "SMS: feels like spam"},
            {"id": "C11", "column": "privacy_stopped_buying", "values": [1], "label": "Stopped buying over privacy concerns"},
            {"id": "C12", "column": "prefer_online", "values": [1], "label": "Prefer shopping online to in store"},
        ],
        "margins": {
            "age_group": {k + 1: float(v) for k, v in enumerate(POP_AGE)},
            "gender": {k + 1: float(v) for k, v in enumerate(POP_GENDER)},
            "region": {k + 1: float(v) for k, v in enumerate(POP_REGION)},
        },
        "behaviour": {
            "orders": "orders_365d", "revenue": "revenue_365d", "guest_orders": "guest_orders_365d",
            "sessions": "web_sessions", "single_page_sessions": "single_page_sessions",
            "email_impressions": "email_impressions", "email_clicks": "email_clicks",
            "loyalty_member": "loyalty_member", "window": "last 365 days",
        },
        "columns": {
            **{c: {"type": "int", "min": 1, "max": 5} for c in [*ATTITUDES, "expect_understand", "expect_custom_message"]},
            **{c: {"type": "int", "allowed": [0, 1]} for c in [*ONLINE_FACTORS, *STORE_FACTORS, *SMS_ANNOYANCES,
                                                              "privacy_stopped_buying", "loyalty_member", "retained_12m"]},
            **{c: {"type": "int", "min": 1, "max": 5, "label": f"Rating: {DRIVER_LABELS[c]} (1-5)"} for c in DRIVERS},
            "response_time_expectation": {"type": "int", "allowed": [1, 2, 3, 4]},
            "prefer_online": {"type": "int", "allowed": [1, 2, 3]},
            **{c: {"type": "int", "min": 0} for c in ["orders_365d", "guest_orders_365d", "web_sessions",
                                                    "single_page_sessions", "email_impressions", "email_clicks"]},
            "revenue_365d": {"type": "float", "min": 0},
            "duration_s": {"type": "int", "min": 0},
        },
        "screening": {"speeder_fraction_of_median": 0.5, "straightline_grid": ATTITUDES,
                      # an open web survey: resubmissions happen, so the duplicate screen is on
                      "check_duplicates": True},
    }


#: survey columns that live in the CRM in the two-file layout (customer level)
CRM_COLUMNS = {"web_sessions": "WebSessions", "single_page_sessions": "SinglePageSessions",
               "email_impressions": "EmailImpressions", "email_clicks": "EmailClicks",
               "loyalty_member": "LoyaltyMember", "retained_12m": "Retained12m"}
#: survey columns derived from the order-level extract over the 365 days before the survey
ORDER_DERIVED = {"orders_365d": "orders", "revenue_365d": "revenue", "guest_orders_365d": "guest_orders"}
ORDER_PERIOD = ("2025-10-01", "2026-09-30")
#: the seed offset of the random stream that lays out the extracts (the survey's stream is untouched)
EXTRACT_STREAM = 15


def split_extracts(df: pd.DataFrame, p: SimulationParams) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The single-file survey as a survey export plus a CRM extract and an order-level extract.

    The CRM keys customers as lower-case ids with stray spaces (declared: strip + casefold), holds
    personal data the join must never read (name, e-mail, phone, postcode) and 10% more customers than
    answered the survey. The order file has one row per order: each customer's orders_365d orders in
    the period, with integer-cent amounts that add up exactly to revenue_365d, the first
    guest_orders_365d of them guest checkouts, plus older orders outside the period and a few
    repeated order lines (an export glitch the aggregation must count once)."""
    rng = np.random.default_rng(p.seed + EXTRACT_STREAM)
    survey = df.drop(columns=[*CRM_COLUMNS, *ORDER_DERIVED])
    cust = df.drop_duplicates("customer_id").reset_index(drop=True)
    n_extra = len(cust) // 10
    extra_ids = [f"C{p.seed % 1000:03d}{i:07d}" for i in range(len(df) + 1, len(df) + n_extra + 1)]
    crm = pd.DataFrame({"CustomerID": [f" {c.lower()}" if i % 7 == 0 else c.lower()
                                       for i, c in enumerate([*cust["customer_id"], *extra_ids])]})
    crm["FullName"] = [f"{_FIRST[a]} {_LAST[b]}" for a, b in zip(rng.integers(0, len(_FIRST), len(crm)),
                                                                  rng.integers(0, len(_LAST), len(crm)))]
    crm["Email"] = _fake_emails(rng, len(crm))
    crm["Phone"] = [f"+44 7{x:09d}" for x in rng.integers(0, 10**9, len(crm))]
    crm["Postcode"] = [f"SW{a} {b}XY" for a, b in zip(rng.integers(1, 20, len(crm)), rng.integers(1, 9, len(crm)))]
    for col, src in CRM_COLUMNS.items():
        extra = rng.integers(0, 2, n_extra) if col in ("loyalty_member", "retained_12m") else rng.poisson(3, n_extra)
        crm[src] = np.r_[cust[col].to_numpy(), extra]

    start, end = (pd.Timestamp(d) for d in ORDER_PERIOD)
    days = (end - start).days + 1
    k = cust["orders_365d"].to_numpy(int)
    cents = np.round(cust["revenue_365d"].to_numpy(float) * 100).astype(np.int64)
    owner = np.repeat(np.arange(len(cust)), k)  # one entry per order, customers in file order
    first = np.r_[0, np.cumsum(k)[:-1]]
    seq = np.arange(len(owner)) - first[owner]  # 0-based order number within its customer
    # integer-cent amounts in random proportions; the rounding remainder goes to the first order,
    # so each customer's amounts add up exactly to revenue_365d
    share = rng.random(len(owner)) + 0.2
    amounts = np.floor(cents[owner] * share / np.bincount(owner, share, len(cust))[owner]).astype(np.int64)
    amounts[first[k > 0]] += cents[k > 0] - np.bincount(owner, amounts, len(cust)).astype(np.int64)[k > 0]
    when = start + pd.to_timedelta(rng.integers(0, days, len(owner)), unit="D")
    ids = cust["customer_id"].str.lower().to_numpy()
    orders = pd.DataFrame({
        "customer": ids[owner], "order_id": [f"O-{c}-{j + 1:03d}" for c, j in zip(ids[owner], seq)],
        "order_date": when.strftime("%Y-%m-%d"), "amount_cents": amounts,
        "channel": np.array(CHANNELS[:3])[rng.integers(0, 3, len(owner))],
        "guest_checkout": (seq < cust["guest_orders_365d"].to_numpy(int)[owner]).astype(int)})
    old = np.flatnonzero(rng.random(len(cust)) < 0.3)  # older orders, outside the period
    older = pd.DataFrame({
        "customer": ids[old], "order_id": [f"O-{c}-old" for c in ids[old]],
        "order_date": (start - pd.to_timedelta(rng.integers(1, 365, len(old)), unit="D")).strftime("%Y-%m-%d"),
        "amount_cents": rng.integers(500, 20000, len(old)), "channel": "store", "guest_checkout": 0})
    orders = pd.concat([orders, older]).sort_values(["customer", "order_date"], kind="stable").reset_index(drop=True)
    repeat = rng.choice(len(orders), size=max(1, len(orders) // 500), replace=False)
    orders = pd.concat([orders, orders.iloc[repeat]]).reset_index(drop=True)
    return survey, crm, orders


def extracts_codebook() -> list[dict]:
    """The `extracts` entries of the default codebook (the two-file layout)."""
    return [
        {"name": "crm", "file": "crm.csv", "level": "customer",
         "key": {"survey": "customer_id", "extract": "CustomerID", "normalise": ["strip", "casefold"]},
         "columns": dict(CRM_COLUMNS)},
        {"name": "orders", "file": "orders.csv", "level": "order",
         "key": {"survey": "customer_id", "extract": "customer", "normalise": ["strip", "casefold"]},
         "orders": {"order_id": "order_id", "date": "order_date", "amount": "amount_cents", "amount_scale": 0.01,
                    "channel": "channel", "online_channels": ["web", "app"], "guest": "guest_checkout",
                    "period_start": ORDER_PERIOD[0], "period_end": ORDER_PERIOD[1]},
         "derive": dict(ORDER_DERIVED)},
    ]


def write_survey(out_dir: str | Path, params: SimulationParams | None = None, single_file: bool = False, *,
                 c13_world: str | None = None) -> dict[str, Path]:
    """Simulate and write survey.csv, codebook.yaml, truth.csv and truth.json into out_dir; unless
    `single_file`, the CRM columns go to crm.csv and the order metrics to orders.csv (issue 15), and the
    codebook joins them back by customer id (`c13_world`: see `simulate_survey`)."""
    p = params or SimulationParams()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    df, truth, pop = simulate_survey(p, c13_world=c13_world)
    paths = {"survey": out / "survey.csv", "codebook": out / "codebook.yaml",
             "truth": out / "truth.csv", "truth_json": out / "truth.json"}
    if not single_file:
        df, crm, orders = split_extracts(df, p)
        paths["crm"], paths["orders"] = out / "crm.csv", out / "orders.csv"
        crm.to_csv(paths["crm"], index=False, lineterminator="\n")
        orders.to_csv(paths["orders"], index=False, lineterminator="\n")
    df.to_csv(paths["survey"], index=False, float_format="%.10g", lineterminator="\n")
    truth.to_csv(paths["truth"], index=False, lineterminator="\n")
    paths["truth_json"].write_text(json.dumps(pop, indent=2, sort_keys=True) + "\n")
    paths["codebook"].write_text(
        "# Codebook of the simulated default survey (written by `engagement simulate`).\n"
        + yaml.safe_dump(default_codebook(p, single_file=single_file), sort_keys=False, allow_unicode=True),
        encoding="utf-8")
    return paths


def simulate_waves(out_dir: str | Path, waves: int = 4, base: SimulationParams | None = None,
                   start: str = "2026-Q1") -> list[dict[str, Path]]:
    """A drifting series of waves: ease improves and loyalty rises a little each quarter."""
    base = base or SimulationParams()
    year, q = int(start[:4]), int(start[-1])
    written = []
    for i in range(waves):
        label = f"{year}-Q{q}"
        params = SimulationParams(**{**asdict(base), "seed": base.seed + i, "wave": label,
                                     "wave_ease_shift": base.wave_ease_shift + 0.08 * i,
                                     "wave_loyalty_shift": base.wave_loyalty_shift + 0.05 * i})
        written.append(write_survey(Path(out_dir) / label, params))
        q += 1
        if q == 5:
            year, q = year + 1, 1
    return written
