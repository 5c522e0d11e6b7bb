"""Survey plus customer records (issue 15): join, order aggregation, diagnostics, personal data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml

from engagement.codebook import Codebook
from engagement.errors import InputError
from engagement.extract_spec import Extract
from engagement.prepare import prepare_survey
from engagement.simulate import SimulationParams, simulate_survey, split_extracts, write_survey
from engagement.sources import aggregate_orders, join_extracts, normalise_keys, read_extract


def _orders_spec(**extra) -> Extract:
    return Extract.model_validate({
        "name": "orders", "file": "orders.csv", "level": "order",
        "key": {"survey": "cid", "extract": "customer", "normalise": ["strip", "casefold"]},
        "orders": {"order_id": "order_id", "date": "order_date", "amount": "amount", "channel": "channel",
                   "online_channels": ["web", "app"], "guest": "guest", "period_start": "2026-01-01",
                   "period_end": "2026-06-30", "after_end": "2026-12-31"},
        "derive": {"n_orders": "orders", "rev": "revenue", "aov": "aov", "repeat": "repeat_purchase",
                   "guests": "guest_orders", "online": "online_share", "after": "bought_after"}, **extra})


def _random_orders(seed=3, n_cust=300, n=3000) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    dates = pd.Timestamp("2025-10-01") + pd.to_timedelta(rng.integers(0, 450, n), unit="D")
    df = pd.DataFrame({"customer": [f"c{x:04d}" for x in rng.integers(0, n_cust, n)],
                       "order_id": [f"o{i}" for i in range(n)], "order_date": dates.strftime("%Y-%m-%d"),
                       "amount": np.round(rng.gamma(2, 40, n), 2),
                       "channel": rng.choice(["web", "app", "store", "phone"], n), "guest": rng.integers(0, 2, n)})
    return pd.concat([df, df.iloc[:7]]).astype(str)  # 7 repeated order lines


def test_order_aggregation_equals_a_pandas_group_by():
    raw = _random_orders()
    got, n_dup = aggregate_orders(_orders_spec(), raw)
    assert n_dup == 7
    # the same metrics written directly as a group-by over the de-duplicated orders
    o = raw.drop_duplicates(["customer", "order_id"]).copy()
    o["date"] = pd.to_datetime(o["order_date"])
    o["amount"] = o["amount"].astype(float)
    o["guest"] = o["guest"].astype(int)
    o["online"] = o["channel"].isin(["web", "app"]).astype(int)
    period = o[(o["date"] >= "2026-01-01") & (o["date"] <= "2026-06-30")]
    g = period.groupby("customer")
    keys = sorted(o["customer"].unique())
    n = g.size().reindex(keys, fill_value=0)
    exp = pd.DataFrame({"n_orders": n, "rev": g["amount"].sum().reindex(keys, fill_value=0),
                        "aov": (g["amount"].sum() / g.size()).reindex(keys), "repeat": (n >= 2).astype(int),
                        "guests": g["guest"].sum().reindex(keys, fill_value=0),
                        "online": (g["online"].sum() / g.size()).reindex(keys)})
    after = o[(o["date"] > "2026-06-30") & (o["date"] <= "2026-12-31")]["customer"].unique()
    exp["after"] = pd.Index(keys).isin(after).astype(int)
    pd.testing.assert_frame_equal(got.reset_index(drop=True), exp.reset_index(drop=True), check_dtype=False,
                                  check_names=False, rtol=1e-12)


def _survey_and_crm(match_young=0.45, match_old=0.9, n=2000, seed=5):
    """Survey whose CRM match rate depends on age (about 70% overall, skewed)."""
    rng = np.random.default_rng(seed)
    age = rng.integers(1, 4, n)
    survey = pd.DataFrame({"rid": np.arange(1, n + 1), "cid": [f"{i:06d}" for i in range(n)], "age": age,
                           "csat": rng.integers(1, 6, n)})
    found = rng.random(n) < np.where(age == 1, match_young, match_old)
    crm = pd.DataFrame({"Customer": [str(i) for i in np.flatnonzero(found)],  # not zero padded
                        "Retained": rng.integers(0, 2, int(found.sum())),
                        "Name": "Jane Doe", "Email": "jane@example.com", "Card": "4111 1111 1111 1111"})
    return survey, crm


def _cb(extra_key=None) -> Codebook:
    return Codebook.model_validate({
        "id": "rid", "scales": {"csat": {"column": "csat", "min": 1, "max": 5}},
        "segments": [{"column": "age", "labels": {1: "18-34", 2: "35-54", 3: "55+"}}],
        "extracts": [{"name": "crm", "file": "crm.csv",
                      "key": {"survey": "cid", "extract": "Customer", **(extra_key or {})},
                      "columns": {"retained": "Retained"}}]})


def test_low_and_skewed_match_rate_is_flagged_and_unmatched_respondents_are_kept(tmp_path):
    survey, crm = _survey_and_crm()
    crm.to_csv(tmp_path / "crm.csv", index=False)
    out, [rep] = join_extracts(survey, _cb({"normalise": ["zero_pad"], "width": 6}), tmp_path)
    assert len(out) == len(survey)  # nobody dropped
    assert 0.6 < rep.match_rate < 0.8
    assert out["retained"].isna().sum() == len(survey) - rep.matched_rows
    assert "cid" not in out  # the join key has no other role: it does not travel on
    young = rep.by_segment.query("level == '18-34'")["match_rate"].iloc[0]
    assert young < 0.55 and rep.by_segment["p_holm"].iloc[0] < 1e-6
    assert any("Only" in w for w in rep.warnings) and any("differs by age" in w for w in rep.warnings)


def test_even_high_match_rate_gives_no_warning(tmp_path):
    survey, crm = _survey_and_crm(match_young=0.95, match_old=0.95)
    crm.to_csv(tmp_path / "crm.csv", index=False)
    _, [rep] = join_extracts(survey, _cb({"normalise": ["zero_pad"], "width": 6}), tmp_path)
    assert rep.match_rate > 0.9 and rep.warnings == ()


def test_key_normalisation_is_declared_not_guessed(tmp_path):
    survey, crm = _survey_and_crm()
    crm.to_csv(tmp_path / "crm.csv", index=False)
    _, [rep] = join_extracts(survey, _cb(), tmp_path)  # "000123" vs "123" without zero_pad: no match
    assert rep.matched_rows == 0
    key = Extract.model_validate({"name": "x", "file": "x", "key": {"survey": "a", "extract": "b",
                                  "normalise": ["strip", "casefold", "zero_pad"], "width": 5},
                                  "columns": {"y": "y"}}).key
    got = normalise_keys(pd.Series([" AB1 ", "42", None, ""]), key)
    assert got[:2].tolist() == ["ab1", "00042"] and got[2:].isna().all()
    assert normalise_keys(pd.Series([42.0, 7.0]), key).tolist() == ["00042", "00007"]


def test_only_key_and_declared_columns_are_read_from_an_extract(tmp_path):
    _, crm = _survey_and_crm()
    crm.to_csv(tmp_path / "crm.csv", index=False)
    got = read_extract(_cb().extracts[0], tmp_path)
    assert list(got.columns) == ["Customer", "Retained"]
    assert not got.astype(str).apply(lambda s: s.str.contains("@|Jane|4111")).any().any()


def test_duplicate_customer_keys_are_an_error_unless_declared(tmp_path):
    survey, crm = _survey_and_crm()
    pd.concat([crm, crm.iloc[:2]]).to_csv(tmp_path / "crm.csv", index=False)
    with pytest.raises(InputError, match="one row per customer"):
        join_extracts(survey, _cb(), tmp_path)
    cb = _cb()
    cb.extracts[0].on_duplicate_keys = "first"
    _, [rep] = join_extracts(survey, cb, tmp_path)
    assert rep.duplicate_keys == 2


def test_extract_declarations_are_checked():
    with pytest.raises(ValueError, match="needs `orders` and `derive`"):
        Extract.model_validate({"name": "o", "file": "o.csv", "level": "order",
                                "key": {"survey": "a", "extract": "b"}})
    with pytest.raises(ValueError, match="needs orders.after_end"):
        _orders_spec(derive={"x": "bought_after"}, orders={"order_id": "o", "date": "d",
                                                           "period_start": "2026-01-01", "period_end": "2026-02-01"})


def test_default_survey_as_two_files_equals_the_single_file(tmp_path):
    """The embedded default layout (survey + CRM + orders) gives the same analysis table as the
    single file the simulator draws."""
    p = SimulationParams(n=800, seed=17)
    two = write_survey(tmp_path / "two", p)
    one = write_survey(tmp_path / "one", p, single_file=True)
    a, b = prepare_survey(two["survey"], two["codebook"]), prepare_survey(one["survey"], one["codebook"])
    cols = sorted(set(a.data.columns) & set(b.data.columns))
    assert set(a.data.columns) - set(b.data.columns) == set()
    pd.testing.assert_frame_equal(a.data[cols], b.data[cols], check_dtype=False)
    crm, orders = a.survey.joins
    assert crm.match_rate == 1.0 and crm.unmatched_extract_keys > 0 and orders.duplicate_keys > 0
    assert crm.warnings == () and orders.warnings == ()
    # personal data of the CRM extract is in the file but never in the analysis table
    raw_crm = pd.read_csv(two["crm"])
    assert {"FullName", "Email", "Phone", "Postcode"} <= set(raw_crm.columns)
    assert not {"FullName", "Email", "Phone", "Postcode", "customer_id"} & set(a.data.columns)


def test_split_amounts_add_up_to_revenue_exactly():
    p = SimulationParams(n=500, seed=9)
    df, _, _ = simulate_survey(p)
    _, _, orders = split_extracts(df, p)
    o = orders.drop_duplicates(["customer", "order_id"])
    o = o[o["order_date"] >= "2025-10-01"]
    cents = o.groupby("customer")["amount_cents"].sum()
    cust = df.drop_duplicates("customer_id").set_index(df.drop_duplicates("customer_id")["customer_id"].str.lower())
    want = np.round(cust["revenue_365d"] * 100).astype(int)
    assert (cents.reindex(want.index, fill_value=0) == want).all()
    assert (cents.reindex(want.index, fill_value=0) / 100 == cust["revenue_365d"]).all()


def test_extracts_read_before_the_survey_join_exactly_as_when_read_during_the_join(tmp_path):
    # ingest reduces the extracts before reading the survey (issue 11: never both in memory at once)
    from engagement.sources import extract_tables

    survey, crm = _survey_and_crm()
    crm.to_csv(tmp_path / "crm.csv", index=False)
    cb = _cb({"normalise": ["zero_pad"], "width": 6})
    inline, [rep_inline] = join_extracts(survey, cb, tmp_path)
    tables = extract_tables(cb, tmp_path)
    ahead, [rep_ahead] = join_extracts(survey, cb, tmp_path, tables)
    pd.testing.assert_frame_equal(inline, ahead)
    assert rep_inline == rep_ahead and rep_ahead.extract_rows == len(crm)


def test_csv_extract_read_by_pyarrow_equals_pandas_reading(tmp_path):
    # the fast reader keeps pandas' missing values (NA, null, empty) and stripped header names
    from engagement.sources import _read_csv_arrow

    (tmp_path / "x.csv").write_text(" Customer ,Retained,Name\n a1 ,NA,x\nb2,,y\nc3,null,z\n")
    fast = _read_csv_arrow(tmp_path / "x.csv", ",", "utf-8", ["Customer", "Retained"])
    slow = pd.read_csv(tmp_path / "x.csv", dtype="string[pyarrow]", usecols=lambda c: c.strip() in ("Customer", "Retained"))
    slow.columns = [c.strip() for c in slow.columns]
    pd.testing.assert_frame_equal(fast, slow)
