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
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

# the planted parameters, the codebook writer and the two-file split live in their own modules
# (issue 13); every name is re-exported here
from .simulate_codebook import (  # noqa: F401  (re-exported)
    _codebook_dict, default_codebook,
)
from .simulate_extracts import (  # noqa: F401  (re-exported)
    CRM_COLUMNS, EXTRACT_STREAM, extracts_codebook, ORDER_DERIVED, ORDER_PERIOD, split_extracts,
)
from .simulate_params import (  # noqa: F401  (re-exported)
    AGE_GROUPS, ATTITUDE_MEANS, ATTITUDES, C13_WORLDS, CHANNEL_CODES, CHANNEL_USE, CHANNELS,
    DIGITAL_PERSONA, DRIVER_LABELS, DRIVERS, EASE_CHANNEL, EASE_PERSONA, _fake_emails, _FIRST, GENDERS,
    GUEST_P, _LAST, LOYALTY_PERSONA, MAIN_CHANNEL, MEMBER_AOV_UPLIFT, MEMBER_P, ONLINE, ONLINE_FACTORS,
    ORDER_VALUE, ORDERS_RATE, PERSONA_GIVEN_AGE, PERSONA_NAMES, _PERSONA_TILT, POP_AGE, POP_GENDER,
    POP_REGION, REGIONS, RESPONSE_TIME_P, SAMPLE_AGE, SAMPLE_GENDER, SAMPLE_REGION, SAT_PERSONA, SHOPPING,
    SimulationParams, SMS_ANNOYANCES, _STAGE_BASE, STAGES, STORE_FACTORS,
)


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
