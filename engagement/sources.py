"""Survey plus customer records: join CRM and order extracts to the survey by customer id (issue 15).

`join_extracts(survey, codebook, folder)` runs at ingest, before validation, so every column an
extract creates is validated, screened and weighted like a survey column and can take any codebook
role (an outcome such as retention, a behaviour metric, a persona feature).

- Only each extract's key and declared columns are read: personal data in an extract (names,
  e-mails, addresses, card numbers) never enters memory, let alone an output file.
- Keys are normalised only as declared (`strip`, `casefold`, `zero_pad`); nothing is guessed.
- Every survey respondent is kept: one with no record gets missing values, never dropped.
- Order-level rows are aggregated per customer over the declared period (`ORDER_METRICS`).
- `JoinReport` carries the diagnostics the report shows: match rate overall and by segment,
  duplicate keys and orders in the extract, and warnings when the match rate is low or differs
  across segments (then matched respondents are a biased subset of the sample).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import InputError
from .extract_spec import Extract, ExtractKey

#: below this overall match rate the report warns that behaviour covers too few respondents
LOW_MATCH_RATE = 0.80
#: a difference in match rate across a segment's levels at least this large (and significant) is flagged
MATCH_RATE_SPREAD = 0.10

ORDER_METRICS = {
    "orders": "orders in the period (distinct order ids)",
    "revenue": "sum of order amounts in the period",
    "aov": "average order value in the period (revenue / orders; missing without orders)",
    "repeat_purchase": "1 when the customer ordered at least twice in the period",
    "guest_orders": "orders in the period placed as a guest checkout",
    "online_share": "share of the period's orders placed in an online channel (missing without orders)",
    "bought_after": "1 when the customer ordered between the end of the period and after_end",
}


@dataclass(frozen=True)
class JoinReport:
    """Diagnostics of one extract's join to the survey."""

    extract: str
    level: str
    survey_rows: int
    matched_rows: int  # customer level: found in the extract; order level: with at least one order on file
    extract_rows: int
    extract_keys: int
    duplicate_keys: int  # customer level: keys on more than one row; order level: repeated order ids
    unmatched_extract_keys: int  # keys in the extract that no respondent has (not a problem in itself)
    columns: tuple[str, ...]
    by_segment: pd.DataFrame = field(compare=False)  # segment, level, n, matched, match_rate, p_holm
    warnings: tuple[str, ...] = ()

    @property
    def match_rate(self) -> float:
        return self.matched_rows / self.survey_rows if self.survey_rows else float("nan")

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([{
            "Extract": self.extract, "Level": self.level, "Respondents": self.survey_rows,
            "Matched": self.matched_rows, "Match rate": self.match_rate, "Rows in extract": self.extract_rows,
            "Duplicate keys": self.duplicate_keys, "Extract keys with no respondent": self.unmatched_extract_keys,
        }])

    def to_dict(self) -> dict:
        return {
            "extract": self.extract, "level": self.level, "survey_rows": self.survey_rows,
            "matched_rows": self.matched_rows, "match_rate": self.match_rate, "extract_rows": self.extract_rows,
            "extract_keys": self.extract_keys, "duplicate_keys": self.duplicate_keys,
            "unmatched_extract_keys": self.unmatched_extract_keys, "columns": list(self.columns),
            "by_segment": self.by_segment.to_dict(orient="records"), "warnings": list(self.warnings),
            # the warnings as flags, for readers that word them in another language (the brief)
            "low_match": any(w.startswith("Only") for w in self.warnings),
            "uneven_by": sorted({seg for seg, grp in self.by_segment.groupby("segment") if any(
                f"differs by {seg}:" in w for w in self.warnings)}),
        }


def normalise_keys(values: pd.Series, key: ExtractKey) -> pd.Series:
    """Keys as text, normalised exactly as declared. Numbers read as 123 or 123.0 are the text "123".

    Worked out once per distinct value (an order extract repeats each customer's key on every order;
    per-row string methods on millions of rows dominated ingest), then spread back to the rows."""
    codes, uniques = pd.factorize(values)
    s = pd.Series(uniques, dtype=values.dtype).astype("string")
    # a numeric column read as float prints 123.0: only then is the trailing .0 an artefact
    if pd.api.types.is_float_dtype(values.dtype):
        s = s.str.replace(r"\.0$", "", regex=True)
    for step in key.normalise:
        if step == "strip":
            s = s.str.strip()
        elif step == "casefold":
            s = s.str.casefold()
        elif step == "zero_pad":
            digits = s.str.fullmatch(r"\d+").fillna(False)
            s = s.where(~digits, s.str.zfill(key.width or 0))
    s = s.where(s.notna() & (s != ""), None)
    return pd.Series(s.array.take(codes, allow_fill=True), index=values.index)


def _sniff_delimiter(text: str) -> str:
    try:
        return csv.Sniffer().sniff(text, delimiters=",\t;|").delimiter
    except csv.Error:
        return ","


def read_extract(ex: Extract, folder: Path) -> pd.DataFrame:
    """The key and declared columns of one extract (nothing else is read), as text."""
    path = Path(ex.file)
    path = path if path.is_absolute() else Path(folder) / path
    if not path.is_file():
        raise InputError(path, f"the file of extract {ex.name!r} (codebook key extracts.{ex.name}.file)")
    wanted = [ex.key.extract, *ex.columns.values()]
    if ex.orders is not None:
        o = ex.orders
        wanted += [c for c in (o.order_id, o.date, o.amount, o.channel, o.guest) if c]
    wanted = list(dict.fromkeys(wanted))
    fmt = ex.format
    name = path.name.lower()
    for suffix in (".gz", ".zip", ".bz2"):
        name = name.removesuffix(suffix)
    if fmt == "auto":
        fmt = "parquet" if name.endswith((".parquet", ".pq")) else "excel" if name.endswith((".xlsx", ".xlsm")) else "csv"
    try:
        if fmt == "parquet":
            df = pd.read_parquet(path, columns=None)
            df = df[[c for c in wanted if c in df.columns]].astype("string")
        elif fmt == "excel":
            df = pd.read_excel(path, engine="openpyxl", dtype=str)
        else:
            sep = ex.delimiter
            if sep is None:
                with pd.io.common.get_handle(path, "r", compression="infer", encoding=ex.encoding,
                                             errors="replace") as handle:
                    sep = _sniff_delimiter(handle.handle.read(65536))
            # text held by Arrow, not one Python string per cell: an order extract of millions of
            # rows took GBs as object columns (the same values: see _as_objects)
            df = pd.read_csv(path, sep=sep, dtype="string[pyarrow]", encoding=ex.encoding, compression="infer",
                             usecols=lambda c: str(c).strip() in wanted, keep_default_na=True)
    except (UnicodeDecodeError, ValueError, OSError) as exc:
        raise InputError(path, f"a readable {fmt} extract {ex.name!r} ({str(exc)[:80]})") from None
    df.columns = [str(c).strip() for c in df.columns]
    missing = [c for c in wanted if c not in df.columns]
    if missing:
        raise InputError(path, f"column declared in extract {ex.name!r} of the codebook to be present",
                         column=missing[0])
    return df[wanted]


def _as_objects(s: pd.Series) -> pd.Series:
    """The column as read with dtype=str (Python strings, NaN when missing), so that numbers parse
    to the same NumPy dtypes and values whatever the storage the reader chose."""
    return pd.Series(s.to_numpy(dtype=object, na_value=np.nan), index=s.index, name=s.name)


def _numeric_or_text(s: pd.Series) -> pd.Series:
    s = _as_objects(s)
    num = pd.to_numeric(s, errors="coerce")
    return num if num.notna().sum() == s.notna().sum() else s.astype(object).where(s.notna(), None)


def customer_table(ex: Extract, raw: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Customer-level extract indexed by normalised key; returns (table, number of duplicated keys)."""
    key = normalise_keys(raw[ex.key.extract], ex.key)
    dup = key.notna() & key.duplicated(keep=False)
    n_dup = int(key[dup].nunique())
    if n_dup and ex.on_duplicate_keys == "error":
        row = int(np.flatnonzero(dup.to_numpy())[1]) + 1
        raise InputError(ex.file, f"one row per customer in extract {ex.name!r} (key {key[dup].iloc[0]!r} "
                         "repeats; set on_duplicate_keys: first to keep the first row)", column=ex.key.extract, row=row)
    table = pd.DataFrame({new: _numeric_or_text(raw[old]) for new, old in ex.columns.items()})
    table.index = key
    table = table[key.notna().to_numpy()]
    return table[~table.index.duplicated(keep="first")], n_dup


def aggregate_orders(ex: Extract, raw: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Per-customer metrics of an order-level extract over the declared period (a pandas group-by).

    Returns (table indexed by normalised key, number of repeated order ids)."""
    o = ex.orders
    key = normalise_keys(raw[ex.key.extract], ex.key)
    dates = pd.to_datetime(raw[o.date], errors="coerce", format="ISO8601")
    bad = dates.isna() & raw[o.date].notna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0]) + 1
        raise InputError(ex.file, f"an ISO date (YYYY-MM-DD) in extract {ex.name!r}, found "
                         f"{str(raw[o.date][bad].iloc[0])[:40]!r}", column=o.date, row=row)
    orders = pd.DataFrame({"key": key, "order_id": raw[o.order_id], "date": dates})
    if o.amount:
        amount = pd.to_numeric(_as_objects(raw[o.amount]), errors="coerce")
        bad = amount.isna() & raw[o.amount].notna() | ~np.isfinite(amount.fillna(0))
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0]) + 1
            raise InputError(ex.file, f"a finite number in extract {ex.name!r}", column=o.amount, row=row)
        orders["amount"] = amount
    if o.guest:
        orders["guest"] = pd.to_numeric(_as_objects(raw[o.guest]), errors="coerce").fillna(0).astype(int)
    if o.channel:
        codes, uniques = pd.factorize(raw[o.channel])  # stripped and compared once per distinct channel
        online = pd.Series(uniques).astype("string").str.strip().isin(o.online_channels).to_numpy()
        orders["online"] = np.append(online, False)[codes].astype(int)
    orders = orders[orders["key"].notna()]
    repeated = orders.duplicated(["key", "order_id"], keep="first")
    n_dup = int(repeated.sum())
    orders = orders[~repeated.to_numpy()]
    start, end = pd.Timestamp(o.period_start), pd.Timestamp(o.period_end)
    in_period = orders[(orders["date"] >= start) & (orders["date"] <= end)]
    g = in_period.groupby("key", sort=True)
    all_keys = pd.Index(orders["key"].unique()).sort_values()
    n_orders = g.size().reindex(all_keys, fill_value=0)
    out = pd.DataFrame(index=all_keys)
    for col, metric in ex.derive.items():
        if metric == "orders":
            out[col] = n_orders
        elif metric == "revenue":
            # amounts are summed before scaling, so integer cents add up exactly
            out[col] = g["amount"].sum().reindex(all_keys, fill_value=0) * o.amount_scale
        elif metric == "aov":
            rev = g["amount"].sum().reindex(all_keys) * o.amount_scale
            out[col] = (rev / n_orders).where(n_orders > 0)
        elif metric == "repeat_purchase":
            out[col] = (n_orders >= 2).astype(int)
        elif metric == "guest_orders":
            out[col] = g["guest"].sum().reindex(all_keys, fill_value=0).astype(int)
        elif metric == "online_share":
            out[col] = (g["online"].sum().reindex(all_keys) / n_orders).where(n_orders > 0)
        elif metric == "bought_after":
            after = orders[(orders["date"] > end) & (orders["date"] <= pd.Timestamp(o.after_end))]
            out[col] = pd.Series(1, index=pd.Index(after["key"].unique())).reindex(all_keys, fill_value=0).astype(int)
    return out, n_dup


def _fill_absent(ex: Extract, joined: pd.DataFrame, known: pd.Series) -> pd.DataFrame:
    """An order extract lists only customers who ordered: for a respondent known to the customer
    records (or to this extract), no order means zero orders, not a missing value."""
    if ex.level != "order" or not ex.absent_means_zero:
        return joined
    zero_metrics = {"orders", "revenue", "repeat_purchase", "guest_orders", "bought_after"}
    for col, metric in ex.derive.items():
        if metric in zero_metrics:
            joined.loc[known & joined[col].isna(), col] = 0
    return joined


def match_by_segment(matched: pd.Series, survey: pd.DataFrame, segments: dict[str, dict]) -> pd.DataFrame:
    """Match rate per level of each segment, with a chi-square test of independence per segment
    (Holm-corrected across segments). Unweighted: this describes the sample, not the population."""
    from scipy.stats import chi2_contingency
    from statsmodels.stats.multitest import multipletests

    rows, pvals = [], []
    for col, labels in segments.items():
        if col not in survey:
            continue
        levels = survey[col]
        tab = pd.crosstab(levels, matched)
        p = np.nan
        if tab.shape[0] > 1 and tab.shape[1] > 1:
            p = float(chi2_contingency(tab.to_numpy())[1])
        pvals.append(p)
        for lev, grp in matched.groupby(levels, sort=True):
            rows.append({"segment": col, "level": labels.get(str(lev), str(lev)) if labels else str(lev),
                         "n": int(grp.size), "matched": int(grp.sum()), "match_rate": float(grp.mean()),
                         "_seg": len(pvals) - 1})
    out = pd.DataFrame(rows, columns=["segment", "level", "n", "matched", "match_rate", "_seg"])
    finite = [i for i, p in enumerate(pvals) if p == p]
    adj = np.full(len(pvals), np.nan)
    if finite:
        adj[finite] = multipletests([pvals[i] for i in finite], method="holm")[1]
    out["p_holm"] = [adj[i] for i in out["_seg"]] if len(out) else []
    return out.drop(columns="_seg")


def _warnings(ex: Extract, rate: float, by_seg: pd.DataFrame, judged: bool = True) -> tuple[str, ...]:
    """Low or uneven match rates. An order-level extract beside customer records is not judged: a
    customer without orders is a known customer with zero orders, not a failed match."""
    out = []
    if not judged:
        return ()
    if rate < LOW_MATCH_RATE:
        out.append(f"Only {rate:.0%} of respondents were found in {ex.name}: behaviour from it describes "
                   "the matched respondents, not the whole sample.")
    for seg, grp in by_seg.groupby("segment", sort=False):
        spread = grp["match_rate"].max() - grp["match_rate"].min()
        p = grp["p_holm"].iloc[0]
        if p == p and p < 0.05 and spread >= MATCH_RATE_SPREAD:
            lo, hi = grp.loc[grp["match_rate"].idxmin()], grp.loc[grp["match_rate"].idxmax()]
            out.append(f"The match rate to {ex.name} differs by {seg}: {lo['match_rate']:.0%} ({lo['level']}) to "
                       f"{hi['match_rate']:.0%} ({hi['level']}), Holm p = {p:.2g}; matched respondents are a "
                       "biased subset, so behavioural results over-represent the well-matched groups.")
    return tuple(out)


def join_extracts(survey: pd.DataFrame, cb, folder: str | Path) -> tuple[pd.DataFrame, list[JoinReport]]:
    """The survey with every extract's declared columns joined on the customer key (left join:
    every respondent kept), and one `JoinReport` per extract. The survey-side key column is dropped
    after the join unless the codebook gives it another role."""
    extracts: list[Extract] = list(getattr(cb, "extracts", []) or [])
    if not extracts:
        return survey, []
    out = survey.copy()
    segments = {s.column: {str(k): v for k, v in (s.labels or {}).items()} for s in cb.segments}
    for var in cb.margins:
        segments.setdefault(var, {})
    reports, keys_used = [], set()
    # customer-level extracts first: they say which respondents are known customers
    extracts.sort(key=lambda e: e.level != "customer")
    has_customer_level = any(e.level == "customer" for e in extracts)
    known = pd.Series(False, index=out.index)
    for ex in extracts:
        if ex.key.survey not in out.columns:
            raise InputError(folder, f"the survey column named by extracts.{ex.name}.key.survey to be present",
                             column=ex.key.survey)
        clash = [c for c in ex.created_columns if c in out.columns]
        if clash:
            raise InputError(ex.file, f"a new column name from extract {ex.name!r}: the survey already has it",
                             column=clash[0])
        raw = read_extract(ex, Path(folder))
        table, n_dup = customer_table(ex, raw) if ex.level == "customer" else aggregate_orders(ex, raw)
        skey = normalise_keys(out[ex.key.survey], ex.key)
        matched = skey.isin(table.index) & skey.notna()
        joined = table.reindex(skey.to_numpy())
        joined.index = out.index
        if ex.level == "customer":
            known |= matched
        # without customer records every respondent with a key is a known customer
        joined = _fill_absent(ex, joined, (known if has_customer_level else skey.notna()) | matched)
        for col in joined.columns:
            out[col] = joined[col]
        by_seg = match_by_segment(matched.astype(int), out, segments)
        rate = float(matched.mean()) if len(out) else float("nan")
        reports.append(JoinReport(
            extract=ex.name, level=ex.level, survey_rows=len(out), matched_rows=int(matched.sum()),
            extract_rows=len(raw), extract_keys=int(table.index.nunique()), duplicate_keys=n_dup,
            unmatched_extract_keys=int((~table.index.isin(skey.dropna())).sum()),
            columns=tuple(ex.created_columns), by_segment=by_seg, warnings=_warnings(ex, rate, by_seg, judged=ex.level == "customer" or not has_customer_level)))
        keys_used.add(ex.key.survey)
    roles = cb.referenced_columns()
    drop = [k for k in keys_used if k not in roles and k != cb.id_column]
    return out.drop(columns=drop), reports
