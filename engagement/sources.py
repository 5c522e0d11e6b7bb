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
from .memory import release_freed_memory

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
    codes, s = _normalised_distinct(values, key)
    return pd.Series(s.array.take(codes, allow_fill=True), index=values.index)


def _normalised_distinct(values: pd.Series, key: ExtractKey) -> tuple[np.ndarray, pd.Series]:
    """(codes of the rows into the distinct raw values, -1 when missing; those values normalised)."""
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
    return codes, s.where(s.notna() & (s != ""), None)


def key_codes(values: pd.Series, key: ExtractKey) -> tuple[np.ndarray, pd.Index]:
    """Each row's normalised key as an integer code into the sorted distinct normalised keys (-1 when
    missing): order extracts are grouped and de-duplicated on these integers, not on millions of strings."""
    import pyarrow as pa
    import pyarrow.compute as pc

    codes, s = _normalised_distinct(values, key)
    norm_codes, keys = pd.factorize(s)  # missing -> -1
    # sorted as before; Arrow sorts UTF-8 bytes, which is Python's code-point order, without a Python compare
    order = pc.array_sort_indices(pa.array(np.asarray(keys, dtype=object), type=pa.string())).to_numpy()
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return np.append(rank, -1)[np.append(norm_codes, -1)[codes]], pd.Index(np.asarray(keys, dtype=object)[order], dtype="string")


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
            df = _read_csv_arrow(path, sep, ex.encoding, wanted)
            if df is None:
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


def _read_csv_arrow(path: Path, sep: str, encoding: str, wanted: list[str]) -> pd.DataFrame | None:
    """The wanted columns of a UTF-8 CSV extract, parsed by pyarrow straight into Arrow text columns
    (pandas' own parser made a Python string per cell first: 16 s and GBs on 6.5 million order
    rows). The same cells are missing as with pandas' defaults. None when pyarrow does not take the
    file cleanly: the caller then reads it with pandas, whose errors say where and why."""
    if encoding.lower().replace("_", "-") not in ("utf-8", "utf8", "utf-8-sig") or len(sep) != 1:
        return None
    import pyarrow as pa
    import pyarrow.csv as pv
    from pandas._libs.parsers import STR_NA_VALUES

    try:
        with pd.io.common.get_handle(path, "rb", compression="infer", is_text=False) as handle:
            first = handle.handle.readline().decode("utf-8-sig")
        header = next(csv.reader([first.rstrip("\r\n")], delimiter=sep))
        names = [h for h in header if h.strip() in wanted]
        if len({h.strip() for h in names}) != len(names):
            return None
        with pd.io.common.get_handle(path, "rb", compression="infer", is_text=False) as handle:
            table = pv.read_csv(handle.handle, parse_options=pv.ParseOptions(delimiter=sep),
                                convert_options=pv.ConvertOptions(
                                    include_columns=names, column_types={n: pa.string() for n in names},
                                    null_values=sorted(STR_NA_VALUES), strings_can_be_null=True))
    except Exception:  # noqa: BLE001 - any failure: pandas' parser decides
        return None
    return pd.DataFrame({n.strip(): pd.arrays.ArrowStringArray(table.column(n)) for n in names})


def _as_objects(s: pd.Series) -> pd.Series:
    """The column as read with dtype=str (Python strings, NaN when missing), so that numbers parse
    to the same NumPy dtypes and values whatever the storage the reader chose."""
    return pd.Series(s.to_numpy(dtype=object, na_value=np.nan), index=s.index, name=s.name)


def _as_integers(s: pd.Series) -> np.ndarray | None:
    """A text column with no missing cell whose every value pyarrow parses as a 64-bit integer, as
    int64 (what pd.to_numeric makes of the same strings, without a Python object per cell); else None."""
    if not isinstance(s.array, pd.arrays.ArrowStringArray) or s.isna().any():
        return None
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        return pc.cast(s.array._pa_array, pa.int64()).to_numpy()
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None


def _to_numeric(s: pd.Series) -> pd.Series:
    """pd.to_numeric(errors="coerce") of a column as read with dtype=str."""
    ints = _as_integers(s)
    if ints is not None:
        return pd.Series(ints, index=s.index, name=s.name)
    return pd.to_numeric(_as_objects(s), errors="coerce")


def _numeric_or_text(s: pd.Series) -> pd.Series:
    ints = _as_integers(s)
    if ints is not None:
        return pd.Series(ints, index=s.index, name=s.name)
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
    """Per-customer metrics of an order-level extract over the declared period.

    Customers are integer codes and sums are grouped on them (group-bys and de-duplication over
    millions of key strings took most of ingest at a million respondents); dates, guest flags and
    channels are parsed and judged once per distinct value, and only the period's rows are spread
    out. Returns (table indexed by normalised key, number of repeated order ids)."""
    o = ex.orders
    kc, all_keys = key_codes(raw[ex.key.extract], ex.key)
    dcodes, duniques = pd.factorize(raw[o.date])
    dcodes = dcodes.astype(np.int32)
    parsed = pd.to_datetime(pd.Series(duniques, dtype=object), errors="coerce", format="ISO8601")
    bad = (dcodes >= 0) & np.append(parsed.isna().to_numpy(), False)[dcodes]
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise InputError(ex.file, f"an ISO date (YYYY-MM-DD) in extract {ex.name!r}, found "
                         f"{str(raw[o.date].iloc[row])[:40]!r}", column=o.date, row=row + 1)
    del bad
    amount = None
    if o.amount:
        amount = _to_numeric(raw[o.amount])
        bad = amount.isna() & raw[o.amount].notna() | ~np.isfinite(amount.fillna(0))
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0]) + 1
            raise InputError(ex.file, f"a finite number in extract {ex.name!r}", column=o.amount, row=row)
        amount = amount.to_numpy()
    # a repeated (customer, order id) line is an export glitch: counted once
    ocodes, ouniques = pd.factorize(raw[o.order_id])
    n_ids = len(ouniques)
    del ouniques
    rows = np.flatnonzero(kc >= 0)
    # only an order id on more than one line can repeat a (customer, order id) pair: pairs are compared there
    shared = np.bincount(ocodes[rows] + 1, minlength=n_ids + 1)[ocodes[rows] + 1] > 1
    cand = rows[shared]
    repeated = pd.Series(kc[cand].astype(np.int64) * (n_ids + 1) + ocodes[cand] + 1).duplicated(keep="first").to_numpy()
    n_dup = int(repeated.sum())
    rows = np.setdiff1d(rows, cand[repeated], assume_unique=True)
    del ocodes, shared, cand, repeated

    def on_days(first, last, closed_left: bool) -> np.ndarray:
        """Rows (of `rows`) dated in the window, judged once per distinct date."""
        inside = ((parsed >= first) if closed_left else (parsed > first)) & (parsed <= last)
        return np.append(inside.to_numpy(), False)[dcodes[rows]]

    start, end = pd.Timestamp(o.period_start), pd.Timestamp(o.period_end)
    period = rows[on_days(start, end, True)]
    kin, n_keys = kc[period], len(all_keys)
    n_orders = pd.Series(np.bincount(kin, minlength=n_keys), index=all_keys)

    def summed(values: np.ndarray, fill) -> pd.Series:
        # pandas' group-by sum, as before, so that sums (and their rounding) are unchanged
        total = pd.Series(values).groupby(kin, sort=True).sum()
        total = total.reindex(range(n_keys), fill_value=fill) if fill is not None else total.reindex(range(n_keys))
        return pd.Series(total.to_numpy(), index=all_keys)

    def per_distinct(column: str, judge) -> np.ndarray:
        """A column's value for the period's rows, worked out once per distinct value (missing -> 0)."""
        codes, uniques = pd.factorize(raw[column])
        return np.append(judge(pd.Series(uniques)), 0)[codes[period]]

    out = pd.DataFrame(index=all_keys)
    for col, metric in ex.derive.items():
        if metric == "orders":
            out[col] = n_orders
        elif metric == "revenue":
            # amounts are summed before scaling, so integer cents add up exactly
            out[col] = summed(amount[period], 0) * o.amount_scale
        elif metric == "aov":
            rev = summed(amount[period], None) * o.amount_scale
            out[col] = (rev / n_orders).where(n_orders > 0)
        elif metric == "repeat_purchase":
            out[col] = (n_orders >= 2).astype(int)
        elif metric == "guest_orders":
            guest = per_distinct(o.guest, lambda u: pd.to_numeric(_as_objects(u), errors="coerce").fillna(0)
                                 .astype(int).to_numpy())
            out[col] = summed(guest, 0).astype(int)
        elif metric == "online_share":
            # channels stripped and compared once per distinct channel
            online = per_distinct(o.channel, lambda u: u.astype("string").str.strip().isin(o.online_channels)
                                  .to_numpy().astype(int))
            out[col] = (summed(online, None) / n_orders).where(n_orders > 0)
        elif metric == "bought_after":
            after = rows[on_days(end, pd.Timestamp(o.after_end), False)]
            out[col] = pd.Series((np.bincount(kc[after], minlength=n_keys) > 0).astype(int), index=all_keys)
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


@dataclass
class ExtractTable:
    """One extract read and reduced to a customer-level table indexed by normalised key."""

    extract: Extract
    table: pd.DataFrame
    duplicates: int  # see JoinReport.duplicate_keys
    rows: int  # rows in the extract file


def extract_tables(cb, folder: str | Path) -> list[ExtractTable]:
    """Every extract of the codebook read and reduced to one row per customer, customer-level
    extracts first (they say which respondents are known customers).

    Needs no survey, so ingest runs it before reading the survey: an order extract's millions of
    rows and the survey are never in memory together. Arrow's and the C allocator's freed memory is
    handed back to the system before returning."""
    out = []
    for ex in sorted(getattr(cb, "extracts", []) or [], key=lambda e: e.level != "customer"):
        raw = read_extract(ex, Path(folder))
        table, n_dup = customer_table(ex, raw) if ex.level == "customer" else aggregate_orders(ex, raw)
        out.append(ExtractTable(ex, table, n_dup, len(raw)))
        del raw, table  # an order extract's text is the largest thing in memory at ingest
        release_freed_memory()
    return out


def join_extracts(survey: pd.DataFrame, cb, folder: str | Path,
                  tables: list[ExtractTable] | None = None) -> tuple[pd.DataFrame, list[JoinReport]]:
    """The survey with every extract's declared columns joined on the customer key (left join:
    every respondent kept), and one `JoinReport` per extract. The survey-side key column is dropped
    after the join unless the codebook gives it another role. `tables`: the extracts already read
    by `extract_tables` (else they are read here)."""
    extracts: list[Extract] = list(getattr(cb, "extracts", []) or [])
    if not extracts:
        return survey, []
    # a shallow copy: the joined columns are added to it, the survey's own columns are not copied
    # (a deep copy held a second 1.3 GB survey at a million respondents)
    out = survey.copy(deep=False)
    segments = {s.column: {str(k): v for k, v in (s.labels or {}).items()} for s in cb.segments}
    for var in cb.margins:
        segments.setdefault(var, {})
    reports, keys_used = [], set()
    # customer-level extracts first: they say which respondents are known customers
    extracts.sort(key=lambda e: e.level != "customer")
    ready = {id(t.extract): t for t in tables or []}
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
        done = ready.get(id(ex))
        if done is None:
            raw = read_extract(ex, Path(folder))
            done = ExtractTable(ex, *(customer_table(ex, raw) if ex.level == "customer" else aggregate_orders(ex, raw)),
                                rows=len(raw))
            del raw
        table, n_dup = done.table, done.duplicates
        skey = normalise_keys(out[ex.key.survey], ex.key)
        # one hash look-up of the respondents' keys in the (unique) extract keys serves the match flags and
        # the count of extract keys no respondent has (two isin passes over a million strings took 4.7 s)
        found = table.index.get_indexer(skey.to_numpy())
        matched = pd.Series(found >= 0, index=skey.index) & skey.notna()
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
            extract_rows=done.rows, extract_keys=int(table.index.nunique()), duplicate_keys=n_dup,
            unmatched_extract_keys=len(table) - len(np.unique(found[matched.to_numpy()])),
            columns=tuple(ex.created_columns), by_segment=by_seg, warnings=_warnings(ex, rate, by_seg, judged=ex.level == "customer" or not has_customer_level)))
        keys_used.add(ex.key.survey)
    roles = cb.referenced_columns()
    drop = [k for k in keys_used if k not in roles and k != cb.id_column]
    return out.drop(columns=drop), reports
