"""The planted parameters of the default survey's generative model (engagement.simulate): channel,
stage and demographic codes, population and sample margins, persona effects, claims shares, the C13
worlds, `SimulationParams`, and the fake names behind the PII columns. engagement.simulate,
engagement.simulate_extracts and engagement.simulate_codebook read them from here; engagement.simulate
re-exports every name.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

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
_FIRST = ["min", "ji", "yuki", "hana", "alex", "sam", "jo", "kim", "lee", "park", "sato", "mia"]
_LAST = ["kim", "lee", "park", "tanaka", "suzuki", "smith", "jones", "choi", "ito", "brown"]


def _fake_emails(rng: np.random.Generator, n: int) -> list[str]:
    f = rng.integers(0, len(_FIRST), n)
    last = rng.integers(0, len(_LAST), n)
    num = rng.integers(10, 9999, n)
    return [f"{_FIRST[a]}.{_LAST[b]}{c}@example.com" for a, b, c in zip(f, last, num)]
