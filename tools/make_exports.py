"""Write the corpus of realistic survey exports under tests/data/exports/ (issue 9, item 9).

Each file reproduces traits of real exports that once broke the pipeline: a Qualtrics choice-text
export with its three header rows, an SPSS .sav with value labels and user-missing -99, a CRM extract
as .tsv.gz, CR-only line endings, a Korean CP949 and a Japanese Shift-JIS file, reversed items with
0 = not applicable ratings, a small survey with sparse levels and a survey with 25 driver items.
The answers come from engagement.simulate's generative model (seeded), so every file is the same on
every run; tests/test_exports.py takes each from raw file to PDF.

    .venv/bin/python tools/make_exports.py            # writes tests/data/exports/
    .venv/bin/python tools/make_exports.py --out DIR
"""

from __future__ import annotations

import argparse
import gzip
from pathlib import Path

import numpy as np
import pandas as pd

from engagement.simulate import CHANNELS, SimulationParams, simulate_survey

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "tests" / "data" / "exports"
SEED = 20261201

AGREE = ["Strongly disagree", "Disagree", "Neither agree nor disagree", "Agree", "Strongly agree"]
SATISFIED = ["Very dissatisfied", "Dissatisfied", "Neither satisfied nor dissatisfied", "Satisfied",
             "Very satisfied"]
LIKELY = ["Very unlikely", "Unlikely", "Neither likely nor unlikely", "Likely", "Very likely"]
AGE_GROUPS = ["18-24", "25-34", "35-44", "45-54", "55+"]


def base_survey(n: int, seed: int) -> pd.DataFrame:
    """Answers from the default generative model, without its planted defects (speeders, duplicates)."""
    params = SimulationParams(n=n, seed=seed, speeder_rate=0, straightliner_rate=0, attention_fail_rate=0,
                              duplicate_rate=0, item_missing_rate=0.02)
    df, _, _ = simulate_survey(params)
    return df


def _text(codes: pd.Series, words: list[str], low: int = 1) -> pd.Series:
    """Codes low..low+k-1 as answer texts; missing stays missing."""
    return codes.map(lambda v: words[int(v) - low] if pd.notna(v) else np.nan)


def _seven_to_five(ces: pd.Series) -> pd.Series:
    """CES 1-7 folded onto five agree/disagree points for a choice-text export."""
    return ces.map(lambda v: {1: 1, 2: 1, 3: 2, 4: 3, 5: 4, 6: 5, 7: 5}.get(int(v)) if pd.notna(v) else np.nan)


# --------------------------------------------------------------------------------- the exports


def qualtrics_choice_text(out: Path) -> Path:
    """Qualtrics 'choice text' CSV: three header rows (ids, question text, ImportId JSON), metadata
    columns (IP address, location, recipient), text answers, a few unfinished responses."""
    df = base_survey(900, SEED + 1)
    rng = np.random.default_rng(SEED + 1)
    n = len(df)
    start = pd.Timestamp("2026-10-01 08:00:00") + pd.to_timedelta(rng.integers(0, 30 * 86400, n), unit="s")
    dur = df["duration_s"].to_numpy()
    finished = rng.random(n) > 0.04
    answers = {
        "Q1": _text(_seven_to_five(df["ces"]), AGREE),
        "Q2": _text(df["csat"], SATISFIED),
        "Q3": df["nps"].map(lambda v: {0: "0 - Not at all likely", 10: "10 - Extremely likely"}.get(int(v), str(int(v)))),
        "Q4": _text(df["repurchase"], LIKELY),
        **{f"Q5_{j + 1}": df[f"use_{ch}"].map({1: "Yes", 0: "No"}) for j, ch in enumerate(CHANNELS[:5])},
        "Q6": df["age_group"].map(lambda v: AGE_GROUPS[int(v) - 1]),
        "Q7": df["gender"].map({1: "Female", 2: "Male"}),
        "Q8": np.where(rng.random(n) < 0.3, "Please call me back on 010-1234-5678", ""),
    }
    meta = pd.DataFrame({
        "StartDate": start.strftime("%Y-%m-%d %H:%M:%S"),
        "EndDate": (start + pd.to_timedelta(dur, unit="s")).strftime("%Y-%m-%d %H:%M:%S"),
        "Status": "IP Address", "IPAddress": [f"203.0.113.{i % 250 + 1}" for i in range(n)],
        "Progress": np.where(finished, 100, 60), "Duration (in seconds)": dur,
        "Finished": np.where(finished, "True", "False"),
        "RecordedDate": (start + pd.to_timedelta(dur + 1, unit="s")).strftime("%Y-%m-%d %H:%M:%S"),
        "ResponseId": [f"R_{rng.integers(16**14):014x}" for _ in range(n)],
        "RecipientLastName": "", "RecipientFirstName": "", "RecipientEmail": "", "ExternalReference": "",
        "LocationLatitude": np.round(37.5 + rng.normal(0, 0.2, n), 4),
        "LocationLongitude": np.round(127.0 + rng.normal(0, 0.2, n), 4),
        "DistributionChannel": "anonymous", "UserLanguage": "EN",
    })
    for q in ("Q5_1", "Q5_2", "Q5_3", "Q5_4", "Q5_5", "Q4"):  # unfinished responses stop before the end
        answers[q] = answers[q].where(finished, np.nan)
    data = pd.concat([meta, pd.DataFrame(answers)], axis=1)
    text = {"Q1": "The company made it easy for me to handle my issue.",
            "Q2": "Overall, how satisfied were you with the service you received?",
            "Q3": "How likely are you to recommend us to a friend or colleague?",
            "Q4": "How likely are you to buy from us again?",
            **{f"Q5_{j + 1}": f"Which of these have you used in the last 6 months? - {ch.capitalize()}"
               for j, ch in enumerate(["store", "website", "app", "phone", "chat"])},
            "Q6": "What is your age?", "Q7": "What is your gender?",
            "Q8": "Is there anything else you would like to tell us?"}
    meta_text = {c: c for c in meta.columns}
    meta_text.update({"Duration (in seconds)": "Duration (in seconds)", "ResponseId": "Response ID"})
    row2 = [text.get(c, meta_text.get(c, c)) for c in data.columns]
    row3 = ['{"ImportId":"%s"}' % (f"QID{c[1:].split('_')[0]}" if c.startswith("Q") else c.lower()) for c in data.columns]
    header = pd.DataFrame([row2, row3], columns=data.columns)
    path = out / "qualtrics_choice_text.csv"
    pd.concat([header, data]).to_csv(path, index=False, lineterminator="\r\n")
    return path


def spss_value_labels(out: Path) -> Path:
    """SPSS .sav: numeric codes with value labels, variable labels as question text, -99 declared as
    user-missing on the ratings."""
    import pyreadstat

    df = base_survey(800, SEED + 2)
    rng = np.random.default_rng(SEED + 2)
    data = pd.DataFrame({
        "respid": np.arange(100001, 100001 + len(df)),
        "Q_CES": df["ces"], "Q_CSAT": df["csat"], "Q_NPS": df["nps"].astype(float), "Q_REBUY": df["repurchase"],
        **{f"use_{ch}": df[f"use_{ch}"].astype(float) for ch in CHANNELS[:6]},
        "pref_purchase": df["pref_purchase"].where(df["pref_purchase"] <= 6, 1).astype(float),
        "age_group": df["age_group"].astype(float), "gender": df["gender"].astype(float),
        "region": df["region"].astype(float),
    })
    for col in ("Q_CES", "Q_CSAT", "Q_NPS", "Q_REBUY"):  # refusals stored as -99
        data[col] = data[col].fillna(-99)
        data.loc[rng.random(len(data)) < 0.03, col] = -99
    channels = {1: "In store", 2: "Website", 3: "Mobile app", 4: "Phone", 5: "Chat", 6: "Email"}
    yes_no = {0.0: "No", 1.0: "Yes"}
    value_labels = {
        "Q_CES": {1: "Strongly disagree", 2: "Disagree", 3: "Somewhat disagree", 4: "Neither agree nor disagree",
                  5: "Somewhat agree", 6: "Agree", 7: "Strongly agree", -99: "Refused"},
        "Q_CSAT": {1: "Very dissatisfied", 2: "Dissatisfied", 3: "Neutral", 4: "Satisfied", 5: "Very satisfied",
                   -99: "Refused"},
        "Q_NPS": {0: "Not at all likely", 10: "Extremely likely", -99: "Refused"},
        "Q_REBUY": {1: "Very unlikely", 2: "Unlikely", 3: "Neutral", 4: "Likely", 5: "Very likely", -99: "Refused"},
        **{f"use_{ch}": yes_no for ch in CHANNELS[:6]},
        "pref_purchase": channels,
        "age_group": {i + 1: g for i, g in enumerate(AGE_GROUPS)},
        "gender": {1: "Female", 2: "Male"},
        "region": {1: "North", 2: "South", 3: "East", 4: "West"},
    }
    column_labels = {
        "respid": "Respondent number",
        "Q_CES": "The company made it easy for me to handle my issue",
        "Q_CSAT": "Overall satisfaction with the service",
        "Q_NPS": "How likely are you to recommend us to a friend?",
        "Q_REBUY": "How likely are you to buy from us again?",
        **{f"use_{ch}": f"Used in the last 6 months: {ch}" for ch in CHANNELS[:6]},
        "pref_purchase": "Preferred channel to purchase",
        "age_group": "Age group", "gender": "Gender", "region": "Region",
    }
    path = out / "spss_value_labels.sav"
    pyreadstat.write_sav(data, str(path), column_labels=column_labels, variable_value_labels=value_labels,
                         missing_ranges={c: [-99] for c in ("Q_CES", "Q_CSAT", "Q_NPS", "Q_REBUY")})
    return path


def crm_extract(out: Path) -> Path:
    """A CRM extract: tab-separated, gzip-compressed, one row per customer, no survey metadata."""
    df = base_survey(1500, SEED + 3)
    rng = np.random.default_rng(SEED + 3)
    data = pd.DataFrame({
        "customer_id": [f"C{700000 + i}" for i in range(len(df))],
        "tier": np.array(["Bronze", "Silver", "Gold"])[np.minimum(df["orders_365d"].to_numpy() // 5, 2)],
        "region": df["region"].map({1: "North", 2: "South", 3: "East", 4: "West"}),
        "gender": df["gender"].map({1: "F", 2: "M"}),
        "tenure_months": rng.integers(1, 120, len(df)),
        "orders_12m": df["orders_365d"], "revenue_12m": df["revenue_365d"],
        "email_opt_in": df["use_email"], "app_user": df["use_app"],
        "csat_last_contact": df["csat"],
        "churned": 1 - df["retained_12m"],
    })
    path = out / "crm_extract.tsv.gz"
    path.write_bytes(gzip.compress(data.to_csv(sep="\t", index=False).encode("utf-8"), mtime=0))
    return path


def cr_line_endings(out: Path) -> Path:
    """A plain survey CSV saved with classic-Mac CR-only line endings."""
    df = base_survey(700, SEED + 4)
    cols = ["resp_id", "age_group", "gender", "region", *[f"use_{c}" for c in CHANNELS], "ces", "csat", "nps",
            "repurchase", "att_price", "att_convenience", "att_touch", "att_tech", "att_privacy"]
    path = out / "cr_line_endings.csv"
    path.write_bytes(df[cols].to_csv(index=False, lineterminator="\r").encode("utf-8"))
    return path


def korean_cp949(out: Path) -> Path:
    """A Korean survey in CP949: Korean headers and Korean answer labels."""
    df = base_survey(800, SEED + 5)
    agree = ["전혀 그렇지 않다", "그렇지 않다", "보통이다", "그렇다", "매우 그렇다"]
    data = pd.DataFrame({
        "응답자번호": [f"K{i:05d}" for i in range(1, len(df) + 1)],
        "성별": df["gender"].map({1: "여성", 2: "남성"}),
        "연령대": df["age_group"].map({1: "20대 이하", 2: "30대", 3: "40대", 4: "50대", 5: "60대 이상"}),
        "지역": df["region"].map({1: "서울", 2: "경기", 3: "부산", 4: "기타"}),
        "매장_이용": df["use_store"], "웹_이용": df["use_web"], "앱_이용": df["use_app"], "전화_이용": df["use_phone"],
        "노력_점수": df["ces"],
        "만족도": df["csat"],
        "추천의향": df["nps"],
        "재구매의향": _text(df["repurchase"], agree),
    })
    path = out / "korean_cp949.csv"
    path.write_bytes(data.to_csv(index=False).encode("cp949"))
    return path


def japanese_sjis(out: Path) -> Path:
    """A Japanese survey in Shift-JIS: Japanese headers and Japanese answer labels."""
    df = base_survey(800, SEED + 6)
    agree = ["全くそう思わない", "そう思わない", "どちらともいえない", "そう思う", "とてもそう思う"]
    data = pd.DataFrame({
        "回答者番号": [f"J{i:05d}" for i in range(1, len(df) + 1)],
        "性別": df["gender"].map({1: "女性", 2: "男性"}),
        "年代": df["age_group"].map({1: "20代以下", 2: "30代", 3: "40代", 4: "50代", 5: "60代以上"}),
        "地域": df["region"].map({1: "関東", 2: "関西", 3: "中部", 4: "その他"}),
        "店舗_利用": df["use_store"], "ウェブ_利用": df["use_web"], "アプリ_利用": df["use_app"],
        "電話_利用": df["use_phone"],
        "手続きの労力": df["ces"],
        "満足度": df["csat"],
        "推奨度": df["nps"],
        "再購入意向": _text(df["repurchase"], agree),
    })
    path = out / "japanese_sjis.csv"
    path.write_bytes(data.to_csv(index=False).encode("shift_jis"))
    return path


def reversed_and_na(out: Path) -> Path:
    """Negatively worded items stored unreversed (att_3, att_5) and service ratings on 0-5 where 0 means
    'not applicable' (did not use that service)."""
    df = base_survey(1000, SEED + 7)
    rng = np.random.default_rng(SEED + 7)
    dig = df[["dig_1", "dig_2", "dig_3", "dig_4"]].fillna(3).astype(int)
    data = pd.DataFrame({
        "resp_id": df["resp_id"], "gender": df["gender"], "age_group": df["age_group"],
        "ces": df["ces"], "csat": df["csat"], "nps": df["nps"], "repurchase": df["repurchase"],
        "digital_1": dig["dig_1"], "digital_2": dig["dig_2"], "digital_3": 6 - dig["dig_3"],
        "digital_4": dig["dig_4"], "digital_5": 6 - dig[["dig_1", "dig_4"]].min(axis=1),
    })
    for name, src in (("svc_delivery", "drv_delivery"), ("svc_returns", "drv_range"), ("svc_helpdesk", "drv_staff")):
        vals = df[src].astype(int).copy()
        vals[rng.random(len(vals)) < 0.25] = 0  # did not use the service
        data[name] = vals
    path = out / "reversed_and_na.csv"
    data.to_csv(path, index=False)
    return path


def small_sparse(out: Path) -> Path:
    """150 respondents: a region with three respondents, one respondent at the lowest satisfaction."""
    df = base_survey(150, SEED + 8)
    rng = np.random.default_rng(SEED + 8)
    region = np.where(rng.random(len(df)) < 0.5, "Capital", "Provinces").astype(object)
    region[:3] = "Islands"
    csat = df["csat"].fillna(4).clip(lower=2).astype(int)
    csat.iloc[7] = 1
    data = pd.DataFrame({
        "resp_id": df["resp_id"], "region": region, "age_group": df["age_group"].map(lambda v: AGE_GROUPS[int(v) - 1]),
        "use_store": df["use_store"], "use_web": df["use_web"], "use_app": df["use_app"],
        "ces": df["ces"], "csat": csat, "nps": df["nps"], "repurchase": df["repurchase"],
    })
    path = out / "small_sparse.csv"
    data.to_csv(path, index=False)
    return path


def drivers_25(out: Path) -> Path:
    """25 attribute ratings (1-5) for the key-driver map, each tied to loyalty with its own strength."""
    df = base_survey(1200, SEED + 9)
    rng = np.random.default_rng(SEED + 9)
    loyal = (df["repurchase"].fillna(3) - 3) / 1.2
    data = pd.DataFrame({"resp_id": df["resp_id"], "gender": df["gender"], "ces": df["ces"], "csat": df["csat"],
                         "nps": df["nps"], "repurchase": df["repurchase"]})
    strength = np.linspace(0.6, 0.0, 25)
    for j in range(25):
        latent = 0.3 + strength[j] * loyal + np.sqrt(1 - strength[j] ** 2) * rng.normal(size=len(df))
        data[f"drv_{j + 1:02d}"] = np.searchsorted([-1.5, -0.5, 0.5, 1.5], latent) + 1
    path = out / "drivers_25.csv"
    data.to_csv(path, index=False)
    return path


EXPORTS = [qualtrics_choice_text, spss_value_labels, crm_extract, cr_line_endings, korean_cp949, japanese_sjis,
           reversed_and_na, small_sparse, drivers_25]


def main(argv: list[str] | None = None) -> list[Path]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    paths = [make(args.out) for make in EXPORTS]
    for p in paths:
        print(f"{p.stat().st_size:>9,}  {p}")
    return paths


if __name__ == "__main__":
    main()
