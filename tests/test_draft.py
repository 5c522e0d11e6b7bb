"""`codebook draft` guesses (issue 9, item 4): each case the issue lists, on a small data frame."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from engagement.cli import app
from engagement.codebook import Codebook, load_codebook
from engagement.config import DEFAULT_CODEBOOK
from engagement.draft import detect_encoding, draft_frame, render_yaml, studies_fed, tokens, validate_draft


def ratings(rng, n, lo, hi):
    return rng.integers(lo, hi + 1, n)


@pytest.fixture
def rng():
    return np.random.default_rng(7)


def test_tokens_split_separators_camel_case_and_digits():
    assert tokens("TermsCondPrices") == {"terms", "cond", "prices"}
    assert tokens("adv.acces") == {"adv", "acces"}
    assert tokens("Q5_CES") == {"q", "5", "ces"}
    assert tokens("CUSA1") == {"cusa", "1"}


def test_id_only_when_unique_on_every_row(rng):
    n = 344
    df = pd.DataFrame({"id": np.tile([1, 2, 3, 4], n // 4), "csat": ratings(rng, n, 1, 5)})
    d = draft_frame(df)
    assert "id" not in d.codebook  # 4 distinct values in 344 rows: not an id
    assert any("repeats" in note for note in d.notes)
    df["respondent_id"] = [f"R{i:04d}" for i in range(n)]
    assert draft_frame(df).codebook["id"] == "respondent_id"


def test_ces_by_token_never_by_substring(rng):
    n = 200
    df = pd.DataFrame({"adv.acces": ratings(rng, n, 1, 7), "TermsCondPrices": ratings(rng, n, 1, 7),
                       "Processes": ratings(rng, n, 1, 5)})
    assert "scales" not in draft_frame(df).codebook
    df["q5_ces"] = ratings(rng, n, 1, 7)
    assert draft_frame(df).codebook["scales"]["ces"]["column"] == "q5_ces"


@pytest.mark.parametrize("observed, expected, missing", [
    ((2, 7), (1, 7), None),     # observed 2-7 on a 1-7 scale: not min/max
    ((2, 5), (1, 5), None),
    ((0, 10), (0, 10), None),
    ((1, 10), (1, 10), None),   # no 0 answered and not NPS: 1-10
    ((0, 5), (1, 5), [0]),      # 0-5 with 0 = not applicable
])
def test_scale_range_from_recognised_scale_types(rng, observed, expected, missing):
    lo, hi = observed
    df = pd.DataFrame({"csat": ratings(rng, 300, lo, hi)})
    sc = draft_frame(df).codebook["scales"]["csat"]
    assert (sc["min"], sc["max"]) == expected
    assert sc.get("missing") == missing


def test_nps_is_zero_to_ten_even_when_nobody_answers_zero(rng):
    df = pd.DataFrame({"nps": ratings(rng, 300, 3, 10), "repurchase": ratings(rng, 300, 1, 5)})
    cb = draft_frame(df).codebook
    assert (cb["scales"]["nps"]["min"], cb["scales"]["nps"]["max"]) == (0, 10)
    assert cb["outcomes"][0] == {**cb["outcomes"][0], "kind": "nps", "min": 0, "max": 10}


def test_ratings_are_never_segments_and_labels_are_never_float_text(rng):
    n = 300
    df = pd.DataFrame({"quality": ratings(rng, n, 1, 5).astype(float), "value": ratings(rng, n, 1, 7),
                       "gender": rng.choice([1.0, 2.0], n), "plan": rng.choice(["basic", "plus", "pro"], n)})
    d = draft_frame(df)
    segs = {s["column"]: s for s in d.codebook["segments"]}
    assert set(segs) == {"gender", "plan"}
    assert segs["gender"]["labels"] == {1: "1", 2: "2"}
    assert "1.0" not in d.text()


def test_roles_in_korean_and_japanese(rng):
    n = 300
    ko = pd.DataFrame({"노력_점수": ratings(rng, n, 1, 7), "만족도": ratings(rng, n, 1, 5), "추천의향": ratings(rng, n, 0, 10),
                       "재구매의향": rng.choice(["전혀 그렇지 않다", "그렇지 않다", "보통이다", "그렇다", "매우 그렇다"], n),
                       "성별": rng.choice(["남성", "여성"], n)})
    cb = draft_frame(ko).codebook
    assert cb["survey"]["language"] == "ko"
    assert {k: v["column"] for k, v in cb["scales"].items()} == {"ces": "노력_점수", "csat": "만족도", "nps": "추천의향"}
    rebuy = next(o for o in cb["outcomes"] if o["column"] == "재구매의향")
    assert rebuy["kind"] == "likert" and rebuy["recode"]["매우 그렇다"] == 5
    assert cb["segments"][0]["column"] == "성별"
    ja = pd.DataFrame({"手続きの労力": ratings(rng, n, 1, 7), "満足度": ratings(rng, n, 1, 5), "推奨度": ratings(rng, n, 0, 10),
                       "再購入意向": ratings(rng, n, 1, 5)})
    cb = draft_frame(ja).codebook
    assert cb["survey"]["language"] == "ja"
    assert {k: v["column"] for k, v in cb["scales"].items()} == {"ces": "手続きの労力", "csat": "満足度", "nps": "推奨度"}
    assert [o["column"] for o in cb["outcomes"]] == ["推奨度", "再購入意向"]


def test_loyalty_outcomes_binary_churn_is_loyal_when_no(rng):
    n = 300
    df = pd.DataFrame({"customerID": [f"C{i}" for i in range(n)], "Churn": rng.choice(["Yes", "No"], n),
                       "loyalty_member": rng.integers(0, 2, n), "satisfaction": ratings(rng, n, 1, 5)})
    cb = draft_frame(df).codebook
    assert cb["outcomes"] == [{"name": "Churn", "column": "Churn", "kind": "binary", "label": "Churn",
                               "positive": "No"}]  # a loyalty programme member flag is not loyalty


def test_text_answers_recoded_and_sentinels_declared_missing(rng):
    n = 300
    agree = ["Strongly disagree", "Disagree", "Neither agree nor disagree", "Agree", "Strongly agree"]
    df = pd.DataFrame({"csat": ratings(rng, n, 1, 5), "effort_easy": rng.choice(agree, n),
                       "orders": rng.integers(0, 30, n)})
    df.loc[:9, "csat"] = -99
    cb = draft_frame(df).codebook
    assert cb["missing_codes"] == [-99]
    assert (cb["scales"]["csat"]["min"], cb["scales"]["csat"]["max"]) == (1, 5)
    ces = cb["scales"]["ces"]
    assert ces["recode"] == {t: i + 1 for i, t in enumerate(agree)} and (ces["min"], ces["max"]) == (1, 5)


def test_reversed_items_found_by_their_sign(rng):
    n = 400
    latent = rng.normal(size=n)
    items = {f"att_{j}": np.clip(np.round(3 + latent + 0.7 * rng.normal(size=n)), 1, 5).astype(int) for j in range(1, 6)}
    items["att_2"] = 6 - items["att_2"]
    items["att_5"] = 6 - items["att_5"]
    block = draft_frame(pd.DataFrame(items)).codebook["item_blocks"][0]
    assert block["items"] == [f"att_{j}" for j in range(1, 6)]
    assert block["reverse"] == ["att_2", "att_5"]


def test_channels_from_names_and_value_labels(rng):
    n = 300
    df = pd.DataFrame({f"use_{c}": rng.integers(0, 2, n) for c in ("store", "web", "app")})
    df["pref_purchase"] = rng.integers(1, 4, n).astype(float)
    labels = {"pref_purchase": {1.0: "In store", 2.0: "Website", 3.0: "Mobile app"}}
    ch = draft_frame(df, value_labels=labels).codebook["channels"]
    assert ch["usage"] == {"store": "use_store", "web": "use_web", "app": "use_app"}
    assert ch["stages"] == {"purchase": "pref_purchase"}
    assert ch["codes"] == {1: "store", 2: "web", 3: "app"}


def test_every_guess_carries_its_evidence_and_the_yaml_reads_back(rng):
    n = 300
    df = pd.DataFrame({"resp_id": range(n), "ces": ratings(rng, n, 1, 7), "csat": ratings(rng, n, 1, 5),
                       "nps": ratings(rng, n, 0, 10), "gender": rng.choice(["yes", "no", "on"], n),
                       "zip": rng.choice(["01234", "02345"], n)})
    d = draft_frame(df)
    text = d.text()
    assert yaml.safe_load(text) == d.codebook  # quoting survives yes/no/on and leading zeros
    lines = text.splitlines()
    for key in ("id:", "  ces:", "  csat:", "  nps:"):
        line = next(x for x in lines if x.startswith(key))
        assert "  # " in line, line
    for i, _ in enumerate(d.codebook["outcomes"]):
        assert ("outcomes", i) in d.why


def test_render_yaml_quotes_what_yaml_would_misread():
    cb = {"segments": [{"column": "x", "labels": {"yes": "no", "007": "on", 1: "1.0"}}]}
    assert yaml.safe_load(render_yaml(cb)) == cb


def test_encoding_detected_cp949_versus_shift_jis(tmp_path):
    ko, ja = tmp_path / "ko.csv", tmp_path / "ja.csv"
    ko.write_bytes("응답자번호,만족도,성별\nK1,5,여성\nK2,4,남성\n".encode("cp949"))
    ja.write_bytes("回答者番号,満足度,性別\nJ1,5,女性\nJ2,4,男性\n".encode("shift_jis"))
    assert detect_encoding(ko)[0] == "cp949"
    assert detect_encoding(ja)[0] == "shift_jis"


def test_studies_fed_default_and_empty():
    fed = studies_fed(load_codebook(DEFAULT_CODEBOOK))
    assert list(fed.columns) == ["study", "fed", "missing"]
    assert fed["fed"].all()
    empty = studies_fed(Codebook())
    assert not empty["fed"].any()
    assert "outcomes" in empty.set_index("study").loc["loyalty: CES vs CSAT", "missing"]


def test_validate_draft_sets_aside_keys_this_version_does_not_know():
    cb, unknown = validate_draft({"missing_codes": [-99], "scales": {"csat": {"column": "c", "min": 1, "max": 5,
                                                                              "recode": {"good": 5}}}})
    assert "csat" in cb.scales
    assert set(unknown) <= {"missing_codes", "recode"}


def test_codebook_check_warns_when_no_study_is_fed(tmp_path):
    path = tmp_path / "cb.yaml"
    path.write_text("survey: {name: unedited}\n", encoding="utf-8")
    res = CliRunner().invoke(app, ["codebook", "check", str(path)])
    assert res.exit_code == 0
    assert "feeds no study" in res.output


def test_draft_command_prints_studies_fed(tmp_path, rng):
    n = 200
    data = tmp_path / "s.csv"
    pd.DataFrame({"resp_id": range(n), "csat": ratings(rng, n, 1, 5), "repurchase": ratings(rng, n, 1, 5)}).to_csv(
        data, index=False)
    out = tmp_path / "cb.yaml"
    res = CliRunner().invoke(app, ["codebook", "draft", str(data), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "draft feeds loyalty: CES vs CSAT" in res.output
    assert "draft does not feed personas" in res.output
    assert load_codebook(out).outcomes[0].column == "repurchase"
