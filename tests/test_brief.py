"""The findings brief: built from results.json in the reader's language, with Korean and Japanese
labels that render with the fonts the project installs.

Fast tests build the brief from the stored results of the default survey
(tests/data/results_default.json) with the default codebook relabelled in
Korean or Japanese, and read the PDF back with pypdf.
"""

from __future__ import annotations

import shutil

import copy
import json
import logging
import re
from pathlib import Path

import pytest
import yaml
from pypdf import PdfReader

from engagement import config, fonts
from engagement.brief import build_brief, brief_language
from engagement.brief.i18n import LANGUAGES, Translator, catalogue, missing_messages, source_messages
from engagement.codebook import Codebook
from engagement.report import SNAKE_CASE, build_report, pdf_page_texts

RESULTS = Path(__file__).parent / "data" / "results_default.json"

#: codebook labels in each language (channel names are the codebook's keys, so they travel too)
RELABEL = {
    "ko": {
        "survey": "옴니채널 고객 경험 조사",
        "outcomes": {"nps": "추천 의향 (0-10)", "repurchase": "재구매 의향 (1-5)",
                     "retained_12m": "12개월 후 고객 유지", "orders_365d": "최근 365일 주문 수"},
        "segments": {"age_group": "연령대", "gender": "성별", "region": "지역"},
        "claim": "고객 기대 항목",
        "channels": {"store": "매장", "web": "웹", "app": "앱", "phone": "전화", "chat": "채팅",
                     "email": "이메일", "social": "소셜", "sms": "문자"},
        "font": "NanumGothic",
    },
    "ja": {
        "survey": "オムニチャネル顧客体験調査",
        "outcomes": {"nps": "推奨意向 (0-10)", "repurchase": "再購入意向 (1-5)",
                     "retained_12m": "12か月後も顧客", "orders_365d": "過去365日の注文数"},
        "segments": {"age_group": "年齢層", "gender": "性別", "region": "地域"},
        "claim": "顧客の期待項目",
        "channels": {"store": "店舗", "web": "ウェブ", "app": "アプリ", "phone": "電話", "chat": "チャット",
                     "email": "メール", "social": "ソーシャル", "sms": "ショートメッセージ"},
        "font": "IPAexGothic",
    },
}


def relabelled_codebook(lang: str) -> dict:
    """The default survey's codebook with its labels (and channel names) in `lang`."""
    spec = RELABEL[lang]
    raw = yaml.safe_load(config.DEFAULT_CODEBOOK.read_text(encoding="utf-8"))
    raw = copy.deepcopy(raw)
    raw["survey"]["name"] = spec["survey"]
    for o in raw["outcomes"]:
        o["label"] = spec["outcomes"][o["name"]]
    for s in raw["segments"]:
        s["label"] = spec["segments"][s["column"]]
    for i, c in enumerate(raw["claims"], 1):
        c["label"] = f"{spec['claim']} {i}"
    ch = raw["channels"]
    names = spec["channels"]
    ch["usage"] = {names[k]: v for k, v in ch["usage"].items()}
    ch["online"] = [names[k] for k in ch["online"]]
    if ch.get("shopping"):
        ch["shopping"] = [names[k] for k in ch["shopping"]]
    ch["codes"] = {k: names[v] for k, v in ch["codes"].items()}
    return raw


def relabelled_results(lang: str) -> dict:
    """Stored results with the channel names a relabelled codebook would have given them."""
    text = RESULTS.read_text(encoding="utf-8")
    for en, local in RELABEL[lang]["channels"].items():
        text = re.sub(rf'("(?:channel|combination)": ")({en})(")', rf"\g<1>{local}\g<3>", text)
    return json.loads(text)


def _fonts(pdf: Path) -> set[str]:
    names = set()
    for page in PdfReader(str(pdf)).pages:
        for ref in (page["/Resources"].get("/Font") or {}).values():
            names.add(str(ref.get_object().get("/BaseFont", "")))
    return names


META = {"survey": None, "wave": "2026-Q4", "date": "2026-12-02", "n": 4546, "n_raw": 5050}


@pytest.fixture(scope="module")
def default_results():
    return json.loads(RESULTS.read_text(encoding="utf-8"))


def test_every_catalogue_translates_every_message():
    ids = source_messages()
    assert len(ids) > 50
    for lang in LANGUAGES:
        if lang == "en":
            continue
        assert missing_messages(lang) == [], f"{lang}: untranslated messages"


def test_catalogues_keep_placeholders():
    """A translation must use exactly the placeholders of its message, or formatting fails."""
    field = re.compile(r"\{(\w+)\}")
    for lang in ("ko", "ja"):
        for msgid, text in catalogue(lang).items():
            assert set(field.findall(msgid)) == set(field.findall(text)), (lang, msgid, text)


def test_number_and_date_formats():
    assert Translator("en").date("2026-12-02") == "December 2, 2026"
    assert Translator("ko").date("2026-12-02") == "2026년 12월 2일"
    assert Translator("ja").date("2026-12-02") == "2026年12月2日"
    for lang in LANGUAGES:
        tr = Translator(lang)
        assert tr.n(4546) == "4,546" and tr.pct(0.447) == "45%" and tr.times(1.2) == "1.20×"
    with pytest.raises(ValueError, match="lang"):
        Translator("fr")


def test_language_from_codebook_or_option():
    class Survey:
        language = "ja"

    class CB:
        survey = Survey()

    assert brief_language(None, None) == "en"
    assert brief_language(CB(), None) == "ja"
    assert brief_language(CB(), "ko") == "ko"
    assert brief_language(Codebook(), None) == "en"  # a codebook without survey.language


def test_brief_answers_the_three_questions(default_results):
    html = build_brief(default_results, Codebook.model_validate(
        yaml.safe_load(config.DEFAULT_CODEBOOK.read_text())), "en", {**META, "survey": "S"})
    assert html.count('<figure class="brief-chart">') == 3
    for needle in ("Which channels do customers use?", "Does effort (CES) or satisfaction (CSAT) predict",
                   "Which customer personas are there?", "What it means:", "How sure we are:",
                   "Claims on trial", "About the data", "92% of customers use two or more channels",
                   "1.20×", "n = 4,546", "4,546 analysed of 5,050"):
        assert needle in html, needle


def test_brief_says_what_was_not_estimated(default_results):
    results = {k: v for k, v in default_results.items() if k not in ("channels", "personas")}
    results["loyalty"] = {"notes": []}
    results["degraded"] = {"loyalty.ratio": "only one outcome class among 181 respondents"}
    html = build_brief(results, None, "en", {**META, "survey": "S"})
    assert html.count('class="answer not-estimated"') == 3  # one per question (and in the summary)
    assert "only one outcome class among 181 respondents" in html
    assert "The survey has no questions on channel use" in html
    assert '<figure class="brief-chart">' not in html
    # unknown extra keys and odd values are read defensively
    odd = copy.deepcopy(default_results)
    odd["channels"]["reach"].append({"channel": "fax", "estimate": None})
    odd["personas"]["sizes"][0]["new_field"] = {"x": 1}
    odd["brand_new_section"] = [1, 2, 3]
    assert "Which customer personas" in build_brief(odd, None, "en", {})


@pytest.mark.parametrize("lang", ["ko", "ja"])
def test_cjk_brief_embeds_the_font_and_extracts_as_text(lang, tmp_path, caplog):
    cb = Codebook.model_validate(relabelled_codebook(lang))
    results = relabelled_results(lang)
    meta = {**META, "survey": cb.survey.name}
    with caplog.at_level(logging.WARNING):
        out = build_report([], tmp_path / "f.html", tmp_path / "f.pdf", meta, results=results, codebook=cb,
                           lang=lang)
    assert not [r for r in caplog.records if "no installed font" in r.getMessage()]
    assert 1 <= out["pages"] <= 4 and out["brief_pages"] == out["pages"]
    text = "\n".join(pdf_page_texts(out["pdf"]))
    squashed = re.sub(r"\s+", "", text)
    spec = RELABEL[lang]
    for label in (spec["survey"], spec["outcomes"]["repurchase"], spec["segments"]["age_group"],
                  spec["channels"]["store"], f"{spec['claim']} 1"):
        assert re.sub(r"\s+", "", label) in squashed, f"{label!r} not extractable from the {lang} PDF"
    tr = Translator(lang)
    for msgid in ("Claims on trial", "About the data", "What it means:"):
        assert re.sub(r"\s+", "", tr._(msgid)) in squashed
    assert tr.date("2026-12-02").replace(" ", "") in squashed
    embedded = _fonts(out["pdf"])
    assert any(spec["font"] in name for name in embedded), embedded
    assert not SNAKE_CASE.search(text)


def test_missing_script_is_warned(tmp_path, caplog):
    log = logging.getLogger("test.run.log")
    with caplog.at_level(logging.WARNING):
        missing = fonts.warn_missing_glyphs(["Kundenumfrage", "ภาษาไทย", "채널 チャネル"], log)
    assert set(missing) == {"Thai"}
    messages = [r.getMessage() for r in caplog.records]
    assert any("Thai" in m and r.name == "test.run.log" for m, r in zip(messages, caplog.records))
    assert any("Thai" in m and r.name == "engagement.fonts" for m, r in zip(messages, caplog.records))


def test_matplotlib_draws_cjk_with_an_explicit_family_list():
    import matplotlib
    from matplotlib import font_manager
    from matplotlib.figure import Figure

    with matplotlib.rc_context():
        chosen = fonts.register_matplotlib("ko")
        assert chosen == ["DejaVu Sans", "NanumGothic", "IPAexGothic"]
        assert matplotlib.rcParams["font.family"] == chosen
        # the fonts resolve from the package files, not from the system
        for family in chosen[1:]:
            path = font_manager.findfont(font_manager.FontProperties(family=family), fallback_to_default=False)
            assert "site-packages" in path or "dist-packages" in path
        fig = Figure()
        fig.text(0.5, 0.5, "매장 店舗 Store")
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("error")  # "Glyph … missing from font(s)" would be a warning
            fig.canvas.draw() if hasattr(fig.canvas, "draw") else None
            from matplotlib.backends.backend_agg import FigureCanvasAgg

            FigureCanvasAgg(fig).draw()


def test_cli_rejects_an_unknown_language(tmp_path):
    from typer.testing import CliRunner

    from engagement.cli import app

    result = CliRunner().invoke(app, ["run", "--lang", "fr", "--out", str(tmp_path / "run")])
    assert result.exit_code == 2
    assert "--lang" in result.output and "en, ko, ja" in result.output
    assert not (tmp_path / "run").exists()


@pytest.mark.notebooks
def test_korean_survey_end_to_end(tmp_path):
    """The whole pipeline on a Korean-labelled survey (1,200 respondents of the default survey) with
    --lang ko: the PDF's Korean text extracts and is drawn with the embedded NanumGothic. The labels
    checked do not depend on the studies' precision, so the run uses the fast study settings."""
    from engagement.pipeline import run_pipeline
    from tests.shared import small_params

    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "codebook.yaml").write_text(yaml.safe_dump(relabelled_codebook("ko"), allow_unicode=True),
                                          encoding="utf-8")
    lines = config.DEFAULT_SURVEY.read_text(encoding="utf-8").splitlines()
    (folder / "survey.csv").write_text("\n".join(lines[:1201]) + "\n", encoding="utf-8")
    for extract in ("crm.csv", "orders.csv"):  # the customer records the codebook joins
        shutil.copy(config.DEFAULT_SURVEY.parent / extract, folder / extract)
    run = run_pipeline(folder / "survey.csv", folder / "codebook.yaml", out=tmp_path / "run",
                       params=small_params(), progress=lambda *_: None, lang="ko")
    text = re.sub(r"\s+", "", "\n".join(pdf_page_texts(run.pdf)))
    for label in (RELABEL["ko"]["survey"], "고객은어떤채널을이용하는가?", "매장", "재구매의향(1-5)"):
        assert re.sub(r"\s+", "", label) in text
    assert any("NanumGothic" in name for name in _fonts(run.pdf))
    assert "no installed font" not in (run.run_dir / "run.log").read_text(encoding="utf-8")
