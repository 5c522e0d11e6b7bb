"""The codebook of the simulated default survey (written as codebook.yaml by `engagement simulate`),
built from the planted parameters. Re-exported by engagement.simulate.
"""

from __future__ import annotations

from .simulate_extracts import extracts_codebook
from .simulate_params import (AGE_GROUPS, ATTITUDES, CHANNEL_CODES, CHANNELS, DRIVER_LABELS, DRIVERS, GENDERS,
                              ONLINE, ONLINE_FACTORS, POP_AGE, POP_GENDER, POP_REGION, REGIONS, SHOPPING,
                              SMS_ANNOYANCES, STAGES, STORE_FACTORS, SimulationParams)


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
