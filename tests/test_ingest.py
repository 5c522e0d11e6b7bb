"""Ingest: every supported format reads to the same data; bad input names file, column, row."""

import pandas as pd
import pytest
import yaml

from engagement.codebook import load_codebook
from engagement.errors import InputError
from engagement.ingest import read_survey


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A small survey with Korean and Japanese labels, and its codebook."""
    d = tmp_path_factory.mktemp("tiny")
    df = pd.DataFrame({
        "rid": ["a1", "a2", "a3", "a4"],
        "email": ["x@example.com", "y@example.com", "z@example.com", "w@example.com"],
        "ces": [1, 7, 4, 5],
        "csat": [2, 5, 3, 4],
        "store": ["서울점", "東京店", "서울점", "東京店"],
    })
    cb = {"id": "rid", "pii": ["email"],
          "scales": {"ces": {"column": "ces", "min": 1, "max": 7}, "csat": {"column": "csat", "min": 1, "max": 5}},
          "segments": [{"column": "store", "labels": {"서울점": "Seoul", "東京店": "Tokyo"}}]}
    (d / "cb.yaml").write_text(yaml.safe_dump(cb, allow_unicode=True), encoding="utf-8")
    return d, df, cb


def _codebook(d, cb, **changes):
    path = d / f"cb-{abs(hash(str(changes)))}.yaml"
    path.write_text(yaml.safe_dump({**cb, **changes}, allow_unicode=True), encoding="utf-8")
    return load_codebook(path)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp949", "shift_jis"])
def test_csv_encodings(tiny, encoding):
    d, df, cb = tiny
    # cp949 cannot encode Japanese and Shift-JIS cannot encode Hangul: keep to one script each
    data = df.copy()
    if encoding == "cp949":
        data["store"] = ["서울점", "부산점", "서울점", "부산점"]
        labels = {"서울점": "Seoul", "부산점": "Busan"}
    elif encoding == "shift_jis":
        data["store"] = ["東京店", "大阪店", "東京店", "大阪店"]
        labels = {"東京店": "Tokyo", "大阪店": "Osaka"}
    else:
        labels = cb["segments"][0]["labels"]
    path = d / f"s-{encoding}.csv"
    data.to_csv(path, index=False, encoding=encoding)
    codebook = _codebook(d, cb, encoding="utf-8" if encoding == "utf-8-sig" else encoding,
                         segments=[{"column": "store", "labels": labels}])
    s = read_survey(path, codebook)
    assert list(s.data["store"]) == list(data["store"])
    assert "email" not in s.data.columns and s.dropped_pii == ["email"]


def test_wrong_encoding_is_a_clear_error(tiny):
    d, df, cb = tiny
    data = df.assign(store=["東京店", "大阪店", "東京店", "大阪店"])
    path = d / "sjis-declared-utf8.csv"
    data.to_csv(path, index=False, encoding="shift_jis")
    with pytest.raises(InputError) as err:
        read_survey(path, _codebook(d, cb, segments=[{"column": "store"}]))
    assert "encoding" in str(err.value) and "shift_jis" in str(err.value) and str(path) in str(err.value)


def test_qualtrics_export(tiny):
    d, df, cb = tiny
    path = d / "qualtrics.csv"
    header = ",".join(df.columns) + ",Duration (in seconds),Finished\n"
    text_row = ",".join(f'"Question {c}"' for c in df.columns) + ",Duration,Finished\n"
    import_row = ",".join(f'"{{""ImportId"":""QID{i}""}}"' for i in range(len(df.columns) + 2)) + "\n"
    body = "".join(",".join(str(v) for v in row) + f",{300 + i},{1 if i < 3 else 0}\n"
                   for i, row in enumerate(df.itertuples(index=False)))
    path.write_text(header + text_row + import_row + body, encoding="utf-8")
    s = read_survey(path, _codebook(d, cb, duration="duration_s"))
    assert s.format == "qualtrics"
    assert len(s.data) == 3  # the unfinished response is not part of the survey
    assert list(s.data["duration_s"]) == [300, 301, 302]


def test_spss_with_value_labels(tiny):
    import pyreadstat
    d, df, cb = tiny
    data = df.assign(store=[1, 2, 1, 2])
    path = d / "survey.sav"
    pyreadstat.write_sav(data, str(path), variable_value_labels={"store": {1: "Seoul", 2: "Tokyo"}})
    s = read_survey(path, _codebook(d, cb, segments=[{"column": "store", "labels": {1: "Seoul", 2: "Tokyo"}}]))
    assert s.format == "spss"
    assert s.value_labels["store"] == {1.0: "Seoul", 2.0: "Tokyo"}
    assert list(s.data["ces"]) == [1, 7, 4, 5]


@pytest.mark.parametrize("suffix", [".xlsx", ".parquet"])
def test_excel_and_parquet(tiny, suffix):
    d, df, cb = tiny
    path = d / f"survey{suffix}"
    (df.to_excel(path, index=False) if suffix == ".xlsx" else df.to_parquet(path, index=False))
    s = read_survey(path, _codebook(d, cb))
    assert list(s.data["csat"]) == [2, 5, 3, 4]


@pytest.mark.parametrize("column,value,expected", [
    ("ces", 9, "a ces rating in [1.0, 7.0], found 9"),
    ("csat", "very", "a csat rating, found 'very'"),
    ("store", "大阪店", "found '大阪店'"),
])
def test_violation_names_file_column_row_and_expectation(tiny, column, value, expected):
    d, df, cb = tiny
    bad = df.astype(object).copy()
    bad.loc[2, column] = value
    path = d / f"bad-{column}.csv"
    bad.to_csv(path, index=False)
    with pytest.raises(InputError) as err:
        read_survey(path, _codebook(d, cb))
    msg = str(err.value)
    assert str(path) in msg and f"column '{column}'" in msg and "row 3" in msg and expected in msg
    assert "\n" not in msg


def test_missing_declared_column(tiny):
    d, df, cb = tiny
    path = d / "no-csat.csv"
    df.drop(columns="csat").to_csv(path, index=False)
    with pytest.raises(InputError, match=r"column 'csat'.*scales.csat"):
        read_survey(path, _codebook(d, cb))


def test_file_without_id_gets_row_numbers(tiny):
    d, df, cb = tiny
    path = d / "noid.csv"
    df.drop(columns="rid").to_csv(path, index=False)
    s = read_survey(path, _codebook(d, {k: v for k, v in cb.items() if k != "id"}))
    assert list(s.data["_row"]) == [1, 2, 3, 4]


# ---- issue 12: no silent wrong numbers ------------------------------------------------------------

def _survey(tmp_path, df, cb, name="s.csv", **write):
    data = tmp_path / name
    df.to_csv(data, index=False, **write)
    path = tmp_path / f"cb-{name}.yaml"
    path.write_text(yaml.safe_dump(cb, allow_unicode=True), encoding="utf-8")
    return data, load_codebook(path)


ORDERS_CB = {"id": "rid", "columns": {"orders": {"type": "int", "min": 0}}}


def _orders(values):
    return pd.DataFrame({"rid": [f"r{i}" for i in range(len(values))], "orders": values})


@pytest.mark.parametrize("sentinel", [999, 99, -1, -99])
def test_undeclared_sentinel_is_an_error_naming_column_and_value(tmp_path, sentinel):
    values = [3, 5, 0, 12, 7, 2, sentinel, 4]
    cb = {"id": "rid", "columns": {"orders": {"type": "int"}}}
    data, codebook = _survey(tmp_path, _orders(values), cb)
    with pytest.raises(InputError) as err:
        read_survey(data, codebook)
    msg = str(err.value)
    assert "column 'orders'" in msg and f"found {sentinel}" in msg and "row 7" in msg and "missing" in msg


def test_declared_sentinel_is_missing_or_valid(tmp_path):
    values = [3, 5, 0, 12, 7, 2, 999, 4]
    data, codebook = _survey(tmp_path, _orders(values), {**ORDERS_CB, "missing_codes": [999]})
    s = read_survey(data, codebook)
    assert s.data["orders"].isna().sum() == 1 and s.data["orders"].mean() == pytest.approx(33 / 7)
    per_entry = {"id": "rid", "columns": {"orders": {"type": "int", "min": 0, "missing": [999]}}}
    data, codebook = _survey(tmp_path, _orders(values), per_entry, name="b.csv")
    assert read_survey(data, codebook).data["orders"].isna().sum() == 1
    valid = {"id": "rid", "columns": {"orders": {"type": "int", "min": 0, "max": 999}}}
    data, codebook = _survey(tmp_path, _orders(values), valid, name="c.csv")
    assert read_survey(data, codebook).data["orders"].max() == 999


def test_a_large_real_count_is_not_a_sentinel(tmp_path):
    data, codebook = _survey(tmp_path, _orders([3, 80, 60, 99, 45]), ORDERS_CB)
    assert read_survey(data, codebook).data["orders"].max() == 99


def test_duplicate_headers_are_an_error(tmp_path):
    path = tmp_path / "dup.csv"
    path.write_text("rid,ces,csat,ces\na,1,2,3\nb,2,3,4\n")
    cb = tmp_path / "cb.yaml"
    cb.write_text("id: rid\nscales:\n  ces: {column: ces, min: 1, max: 7}\n")
    with pytest.raises(InputError, match=r"column 'ces'.*each column name once.*columns 2 and 4"):
        read_survey(path, load_codebook(cb))


def test_duplicate_respondent_ids_are_an_error(tmp_path):
    df = pd.DataFrame({"rid": ["a", "b", "a"], "ces": [1, 2, 3]})
    data, codebook = _survey(tmp_path, df, {"id": "rid", "scales": {"ces": {"column": "ces", "min": 1, "max": 7}}})
    with pytest.raises(InputError, match=r"column 'rid', row 3: expected a unique respondent id.*'a' again \(first on row 1\)"):
        read_survey(data, codebook)


def test_qualtrics_duplicates_are_screened_on_answers_not_metadata(tmp_path):
    from engagement.quality import screen

    answers = [[1, 2, 3], [4, 5, 1], [1, 2, 3], [2, 2, 2]]
    cols = ["StartDate", "IPAddress", "ResponseId", "Duration (in seconds)", "Finished", "ces", "csat", "nps"]
    rows = [[f"2026-11-0{i + 1} 10:00:00", f"198.51.100.{i}", f"R_{i}", 300 + i, 1, *a] for i, a in enumerate(answers)]
    lines = [",".join(cols), ",".join(f'"{c}"' for c in cols),
             ",".join(f'"{{""ImportId"":""{c}""}}"' for c in cols)] + [",".join(map(str, r)) for r in rows]
    path = tmp_path / "q.csv"
    path.write_text("\n".join(lines) + "\n")
    cbp = tmp_path / "cb.yaml"
    cbp.write_text("id: ResponseId\nduration: duration_s\nscreening: {check_duplicates: true}\nscales:\n"
                   "  ces: {column: ces, min: 1, max: 7}\n  csat: {column: csat, min: 1, max: 5}\n"
                   "  nps: {column: nps, min: 0, max: 10}\n")
    cb = load_codebook(cbp)
    s = read_survey(path, cb)
    assert "IPAddress" in s.dropped_columns and "StartDate" in s.dropped_columns
    assert list(screen(s.data, cb).flags["duplicate"]) == [False, False, True, False]


def test_duplicate_screen_is_off_unless_declared(tmp_path):
    from engagement.quality import screen

    df = pd.DataFrame({"rid": ["a", "b"], "ces": [3, 3]})
    data, codebook = _survey(tmp_path, df, {"id": "rid", "scales": {"ces": {"column": "ces", "min": 1, "max": 7}}})
    assert not screen(read_survey(data, codebook).data, codebook).flags["duplicate"].any()


# ---- issue 9: missing codes, recodes, reversed items -----------------------------------------------

def test_missing_codes_recodes_and_blanks(tmp_path):
    df = pd.DataFrame({
        "rid": ["a", "b", "c", "d", "e"],
        "agree": [" Strongly agree", "disagree", "STRONGLY AGREE ", "", "Neither"],
        "svc": [5, 0, 3, -99, 4],  # 0 = not applicable, -99 = no answer
        "region": ["North", "south", "  ", "North", "South"],
    })
    cb = {"id": "rid", "missing_codes": [-99],
          "scales": {"agree": {"column": "agree", "min": 1, "max": 5,
                               "recode": {"Strongly agree": 5, "Neither": 3, "Disagree": 2}},
                     "svc": {"column": "svc", "min": 1, "max": 5, "missing": [0]}},
          "segments": [{"column": "region", "recode": {"north": 1, "south": 2}, "labels": {1: "North", 2: "South"}}]}
    data, codebook = _survey(tmp_path, df, cb)
    s = read_survey(data, codebook)
    assert s.data["agree"].tolist()[:3] == [5, 2, 5] and pd.isna(s.data["agree"][3]) and s.data["agree"][4] == 3
    assert s.data["svc"].isna().tolist() == [False, True, False, True, False]
    assert s.data["region"].tolist()[:2] == [1, 2] and pd.isna(s.data["region"][2])


def test_unrecoded_text_names_the_value(tmp_path):
    df = pd.DataFrame({"rid": ["a", "b"], "csat": ["satisfied", "5"]})
    data, codebook = _survey(tmp_path, df, {"id": "rid", "scales": {"csat": {"column": "csat", "min": 1, "max": 5}}})
    with pytest.raises(InputError, match="found 'satisfied'"):
        read_survey(data, codebook)


def test_reversed_items_and_a_warning_for_a_negative_item(tmp_path):
    import numpy as np

    from engagement.reliability import cronbach_alpha

    rng = np.random.default_rng(3)
    trait = rng.normal(size=300)

    def item(sign):
        return np.clip(np.round(3 + sign * 1.2 * trait + rng.normal(scale=0.7, size=300)), 1, 5).astype(int)

    df = pd.DataFrame({"rid": range(300), "q1": item(1), "q2": item(1), "q3": item(-1), "q4": item(-1)})
    block = {"name": "sat", "items": ["q1", "q2", "q3", "q4"], "min": 1, "max": 5}
    data, codebook = _survey(tmp_path, df, {"id": "rid", "item_blocks": [{**block, "reverse": ["q3", "q4"]}]})
    s = read_survey(data, codebook)
    assert (s.data["q3"] == 6 - df["q3"]).all() and not s.warnings
    assert cronbach_alpha(s.data[["q1", "q2", "q3", "q4"]])["raw_alpha"] > 0.8
    data, codebook = _survey(tmp_path, df, {"id": "rid", "item_blocks": [{**block, "reverse": ["q3"]}]}, name="w.csv")
    with pytest.warns(UserWarning, match="item 'q4' correlates negatively"):
        s = read_survey(data, codebook)
    assert any("q4" in w and "reverse" in w for w in s.warnings)


def test_survey_wording_keys(tmp_path):
    p = tmp_path / "cb.yaml"
    p.write_text("survey: {name: Airline, period: on your last flight, population: passengers, language: ko}\n")
    info = load_codebook(p).survey
    assert (info.period, info.population, info.language) == ("on your last flight", "passengers", "ko")


# ---- issue 9: readers -------------------------------------------------------------------------------

READ_CB = {"id": "rid", "scales": {"ces": {"column": "ces", "min": 1, "max": 7}},
           "segments": [{"column": "store", "labels": {"Seoul": "Seoul", "Tokyo": "Tokyo"}}]}
READ_DF = pd.DataFrame({"rid": ["a1", "a2", "a3"], "ces": [1, 7, 4], "store": ["Seoul", "Tokyo", "Seoul"],
                        "note": ["x, y; z | w", "plain", "tab\there"]})


@pytest.mark.parametrize("name,sep,compression,terminator", [
    ("s.csv", ",", None, "\n"), ("s.tsv", "\t", None, "\n"), ("s.csv", ";", None, "\r\n"),
    ("s.txt", "|", None, "\r"), ("s.csv", ",", None, "\r"), ("s.tsv.gz", "\t", "gzip", "\n"),
    ("s.csv.bz2", ";", "bz2", "\r\n"), ("s.csv.zip", ",", "zip", "\n"),
])
def test_delimiters_line_endings_and_compression(tmp_path, name, sep, compression, terminator):
    data = tmp_path / name
    READ_DF.to_csv(data, index=False, sep=sep, compression=compression, lineterminator=terminator)
    path = tmp_path / "cb.yaml"
    path.write_text(yaml.safe_dump(READ_CB))
    s = read_survey(data, load_codebook(path))
    assert s.data["ces"].tolist() == [1, 7, 4] and s.data["store"].tolist() == ["Seoul", "Tokyo", "Seoul"]
    assert "note" in s.dropped_columns


def test_a_file_that_collapses_into_one_column_names_the_delimiter(tmp_path):
    data = tmp_path / "s.csv"
    READ_DF.to_csv(data, index=False, sep="\t")
    path = tmp_path / "cb.yaml"
    path.write_text(yaml.safe_dump({**READ_CB, "delimiter": ";"}))
    with pytest.raises(InputError, match="with semicolon as the delimiter the file is one column"):
        read_survey(data, load_codebook(path))


def test_excel_sheet_choice(tmp_path):
    data = tmp_path / "s.xlsx"
    with pd.ExcelWriter(data) as xw:
        pd.DataFrame({"about": ["cover sheet"]}).to_excel(xw, sheet_name="Cover", index=False)
        READ_DF.to_excel(xw, sheet_name="Responses", index=False)
    path = tmp_path / "cb.yaml"
    path.write_text(yaml.safe_dump({**READ_CB, "sheet": "Responses"}))
    assert read_survey(data, load_codebook(path)).data["ces"].tolist() == [1, 7, 4]
    path.write_text(yaml.safe_dump({**READ_CB, "sheet": "Answers"}))
    with pytest.raises(InputError, match=r"sheet.*'Cover', 'Responses'"):
        read_survey(data, load_codebook(path))


def test_no_codebook_column_in_the_file_is_a_clear_error(tmp_path):
    data = tmp_path / "s.csv"
    READ_DF.to_csv(data, index=False)
    path = tmp_path / "cb.yaml"
    path.write_text("id: respondent\nscales:\n  csat: {column: satisfaction, min: 1, max: 5}\n")
    with pytest.raises(InputError, match="column 'respondent': expected column declared at codebook key id"):
        read_survey(data, load_codebook(path))
