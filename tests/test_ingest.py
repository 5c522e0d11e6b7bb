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
