"""Out of core: screen, rake and summarise a survey too large for memory, with DuckDB.

The file (CSV or Parquet) is scanned by DuckDB under a memory limit; nothing per respondent is held
in Python except a stratified sample for model fitting. Every step is an aggregate:

Screening: the rules of `engagement.quality.screen`, in SQL, in the same order (a respondent is
counted as removed by the first rule that flags them; a respondent flagged by any rule is dropped):

1. duplicate: a later row (file order) with the same values in every column of
   ``screening.duplicate_columns`` (default: every column except the id, weight, duration and the
   PII columns, which ingest drops before the in-memory screen sees the table); off when
   ``screening.check_duplicates`` is false.
2. speeder: duration below ``speeder_fraction_of_median`` x the median duration of all rows
   (interpolated median, as pandas; a missing duration is not a speeder).
3. attention_fail: an attention-check answer outside its correct values (a missing answer fails).
4. straightliner: at least three items of ``straightline_grid`` answered and all answers equal
   (min == max over the answered items).

What this path does not do: the per-value validation of ingest (codes against the codebook). Run
`engagement validate` (or ingest) on a sample, or trust the producer of the extract.

Raking: the rows are grouped by the cells of the raking variables' cross-classification (sum of
base weights per cell). IPF on that table of cell totals is exactly IPF on the rows, because every
row of a cell gets the same adjustment factor; the final weight of a row is its base weight times
its cell's factor, scaled to sum to n (as `weighting.rake_weights`).

Headline metrics: the weighted mean of every scale and the top-box share of every single-column
scale, with the same linearisation as `survey_stats.Design` for a raked design (the score residualised
on the margin dummies, weighted by the base weights). Each needed sum is grouped by raking cell (the
calibration matrix is constant within a cell), so two scans of the table give every estimate and
its SE: the first for the means, the second for centred sums of squares.

Model fitting: on a stratified sample (`stratified_sample`): within each raking cell the rows are
ordered by a seeded hash of their position and the first ceil(f x N_h) kept (proportional
allocation), with the weight multiplied by N_h / n_h, so the sample's weighted margins equal the
full data's. Point estimates of a weighted model on the sample are unbiased for the full-data fit;
their extra sampling variance is about (1/f - 1) times the full fit's.
"""

from __future__ import annotations

import math
import time
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from .codebook import Codebook, code_key

__all__ = ["OutOfCoreSummary", "connect", "summarise_out_of_core", "stratified_sample"]

ROWNUM = "_rownum"
TABLE = "survey_raw"


def _q(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + str(name).replace('"', '""') + '"'


def _literal(value) -> str:
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        return repr(float(value))
    return "'" + str(value).replace("'", "''") + "'"


def connect(memory_limit: str = "4GB", threads: int = 2, temp_directory: str | Path | None = None):
    """A DuckDB connection with a memory limit (spilling to ``temp_directory`` beyond it)."""
    import duckdb

    con = duckdb.connect()
    con.execute(f"SET memory_limit = '{memory_limit}'")
    con.execute(f"SET threads = {int(threads)}")
    con.execute("SET preserve_insertion_order = true")  # file order defines 'the first submission'
    if temp_directory is not None:
        con.execute(f"SET temp_directory = {_literal(str(temp_directory))}")
    return con


def load(con, path: str | Path, cb: Codebook) -> list[str]:
    """Register the file as table `survey_raw` with its row position; PII columns are never read.
    Returns the columns loaded."""
    path = Path(path)
    if path.suffix.lower() == ".parquet" or path.is_dir():
        source = f"read_parquet({_literal(str(path / '*.parquet') if path.is_dir() else str(path))})"
    else:
        if cb.encoding.lower().replace("-", "").replace("_", "") not in ("utf8", "utf8sig"):
            raise ValueError(f"out-of-core reading takes UTF-8 CSV or Parquet; {path.name} is declared "
                             f"{cb.encoding!r}: convert it first")
        source = f"read_csv({_literal(str(path))}, header = true)"
    columns = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()]
    keep = [c for c in columns if c not in set(cb.pii)]
    con.execute(f"CREATE OR REPLACE TABLE {TABLE} AS SELECT row_number() OVER () - 1 AS {ROWNUM}, "
                f"{', '.join(_q(c) for c in keep)} FROM {source}")
    return keep


def _screen_flags_sql(cb: Codebook, columns: list[str]) -> dict[str, str]:
    """SQL boolean expression of each screening rule over `survey_raw` (window functions allowed)."""
    flags: dict[str, str] = {}
    scr = cb.screening
    if scr.check_duplicates:
        dup = scr.duplicate_columns or [c for c in columns if c not in (cb.id_column, cb.weight, cb.duration)]
        flags["duplicate"] = (f"row_number() OVER (PARTITION BY {', '.join(_q(c) for c in dup)} "
                              f"ORDER BY {ROWNUM}) > 1")
    else:
        flags["duplicate"] = "false"
    if cb.duration:
        flags["speeder"] = (f"coalesce(CAST({_q(cb.duration)} AS DOUBLE) < {float(scr.speeder_fraction_of_median)!r}"
                            f" * (SELECT median(CAST({_q(cb.duration)} AS DOUBLE)) FROM {TABLE}), false)")
    else:
        flags["speeder"] = "false"
    fails = []
    for chk in cb.attention_checks:
        values = chk.correct_values
        if all(_is_number(v) for v in values):
            ok = f"TRY_CAST({_q(chk.column)} AS DOUBLE) IN ({', '.join(repr(float(v)) for v in values)})"
        else:
            ok = f"trim(CAST({_q(chk.column)} AS VARCHAR)) IN ({', '.join(_literal(code_key(v)) for v in values)})"
        fails.append(f"NOT coalesce({ok}, false)")
    flags["attention_fail"] = " OR ".join(fails) if fails else "false"
    grid = scr.straightline_grid
    if len(grid) >= 3:
        cols = ", ".join(f"CAST({_q(c)} AS DOUBLE)" for c in grid)
        answered = " + ".join(f"CAST({_q(c)} IS NOT NULL AS INTEGER)" for c in grid)
        flags["straightliner"] = f"(({answered}) >= 3 AND least({cols}) = greatest({cols}))"
    else:
        flags["straightliner"] = "false"
    return flags


def _is_number(value) -> bool:
    try:
        float(value)
        return not isinstance(value, bool)
    except (TypeError, ValueError):
        return False


def screen(con, cb: Codebook, columns: list[str]) -> pd.DataFrame:
    """Create table `survey_clean` (the rows no rule flags) and return the screening table
    (rule, flagged, removed by that rule first, remaining), as `quality.screen`'s."""
    from .quality import RULE_LABELS, RULES

    flags = _screen_flags_sql(cb, columns)
    con.execute(f"CREATE OR REPLACE TEMP TABLE survey_flags AS SELECT {ROWNUM}, "
                + ", ".join(f"coalesce({flags[r]}, false) AS {r}" for r in RULES) + f" FROM {TABLE}")
    first = "CASE " + " ".join(f"WHEN {r} THEN '{r}'" for r in RULES) + " ELSE '' END"
    counts = con.execute(
        "SELECT count(*), " + ", ".join(f"sum(CAST({r} AS BIGINT))" for r in RULES) + ", "
        + ", ".join(f"sum(CAST(removed_by = '{r}' AS BIGINT))" for r in RULES)
        + f" FROM (SELECT *, {first} AS removed_by FROM survey_flags)").fetchone()
    total = int(counts[0])
    rows, remaining = [{"rule": "Completed responses", "flagged": np.nan, "removed": np.nan, "remaining": total}], total
    for i, rule in enumerate(RULES):
        removed = int(counts[1 + len(RULES) + i] or 0)
        remaining -= removed
        rows.append({"rule": RULE_LABELS[rule].format(frac=cb.screening.speeder_fraction_of_median),
                     "flagged": int(counts[1 + i] or 0), "removed": removed, "remaining": remaining})
    keep = " AND ".join(f"NOT f.{r}" for r in RULES)
    con.execute(f"CREATE OR REPLACE TEMP TABLE survey_clean AS SELECT t.* FROM {TABLE} t "
                f"JOIN survey_flags f USING ({ROWNUM}) WHERE {keep} ORDER BY {ROWNUM}")
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class CellRaking:
    """Raking on the cells of the margins' cross-classification."""

    cells: pd.DataFrame  # one row per cell: the raking variables, n, base_total, factor
    iterations: int
    converged: bool
    max_margin_error: float
    n: int


def rake_cells(con, margins: Mapping[str, Mapping[Hashable, float]], base_weight: str | None = None,
               max_iter: int = 1000, tol: float = 1e-13) -> CellRaking:
    """IPF on the table of base-weight totals per cell of the raking variables (see module doc);
    creates table `survey_weighted` (survey_clean plus `_weight`, `_base`, `_cell`)."""
    from .weighting import _canonical_shares

    variables = list(margins)
    base = f"CAST({_q(base_weight)} AS DOUBLE)" if base_weight else "1.0"
    group = ", ".join(_q(v) for v in variables)
    cells = con.execute(f"SELECT {group}, count(*) AS n, sum({base}) AS base_total FROM survey_clean "
                        f"GROUP BY {group} ORDER BY {group}").df()
    n = int(cells["n"].sum())
    if n == 0:
        raise ValueError("no respondents left after screening")
    index_of: list[np.ndarray] = []
    targets: list[np.ndarray] = []
    for v in variables:
        if cells[v].isna().any():
            missing = int(cells.loc[cells[v].isna(), "n"].sum())
            raise ValueError(f"raking variable {v!r} has {missing} missing value(s); impute or drop them before raking")
        canon = _canonical_shares(v, margins[v])
        keys = cells[v].map(code_key)
        unknown = sorted(set(keys) - set(canon))
        if unknown:
            raise ValueError(f"raking variable {v!r}: level {unknown[0]!r} occurs in the data but has no population share")
        levels = [k for k in canon if k in set(keys)]
        for k, (level, share) in canon.items():
            if share > 0 and k not in set(keys):
                raise ValueError(f"raking variable {v!r}: margin level {level!r} (share {share:g}) has no respondents")
        index_of.append(keys.map({k: i for i, k in enumerate(levels)}).to_numpy())
        targets.append(np.array([canon[k][1] * n for k in levels]))
    base_total = cells["base_total"].to_numpy(float)
    weight_total = base_total * n / base_total.sum()
    factor = np.full(len(cells), n / base_total.sum())
    iterations, error = 0, np.inf
    for iterations in range(1, max_iter + 1):
        for idx, target in zip(index_of, targets):
            achieved = np.bincount(idx, weight_total, len(target))
            adjust = np.divide(target, achieved, out=np.zeros_like(target), where=achieved > 0)[idx]
            factor *= adjust
            weight_total *= adjust
        error = max(float(np.max(np.abs(np.bincount(idx, weight_total, len(t)) - t))) / n
                    for idx, t in zip(index_of, targets))
        if error <= tol:
            break
    cells = cells.assign(factor=factor, _cell=np.arange(len(cells)))
    con.register("cell_factors", cells[[*variables, "factor", "_cell"]])
    on = " AND ".join(f"c.{_q(v)} IS NOT DISTINCT FROM f.{_q(v)}" for v in variables)
    base_c = f"CAST(c.{_q(base_weight)} AS DOUBLE)" if base_weight else "1.0"
    con.execute(f"CREATE OR REPLACE TEMP TABLE survey_weighted AS SELECT c.*, {base_c} AS _base, "
                f"{base_c} * f.factor AS _weight, f._cell AS _cell FROM survey_clean c JOIN cell_factors f ON {on} "
                f"ORDER BY c.{ROWNUM}")
    con.unregister("cell_factors")
    return CellRaking(cells=cells, iterations=iterations, converged=error <= tol, max_margin_error=error, n=n)


def _calibration_rows(cells: pd.DataFrame, margins: Mapping[str, Mapping]) -> np.ndarray:
    """One row of the calibration matrix per cell: intercept, then the dummies of all but the first
    populated level of each margin (as `weighting.rake_weights`; only the column space matters)."""
    columns = [np.ones(len(cells))]
    for v in margins:
        keys = cells[v].map(code_key)
        levels = [code_key(level) for level in margins[v] if code_key(level) in set(keys)]
        columns += [(keys == k).to_numpy(float) for k in levels[1:]]
    return np.column_stack(columns)


def _metric_expressions(cb: Codebook) -> dict[str, tuple[str, str]]:
    """name -> (SQL value, SQL domain condition) of every headline metric."""
    out: dict[str, tuple[str, str]] = {}
    for name, sc in cb.scales.items():
        cols = sc.columns
        value = "(" + " + ".join(f"CAST({_q(c)} AS DOUBLE)" for c in cols) + f") / {len(cols)}"
        out[f"{name}_mean"] = (value, f"{value} IS NOT NULL")
        if sc.column:
            top = ", ".join(repr(float(v)) for v in sc.top_box_values)
            out[f"{name}_top_box"] = (f"CAST(CAST({_q(sc.column)} AS DOUBLE) IN ({top}) AS DOUBLE)",
                                      f"{_q(sc.column)} IS NOT NULL")
    return out


def headline_metrics(con, cb: Codebook, raking: CellRaking, confidence: float = 0.95) -> pd.DataFrame:
    """Weighted means / shares of the headline metrics with linearisation SEs for the raked design
    (two scans of `survey_weighted`; see the module doc). Shares get R's svyciprop logit interval,
    means a Wald interval, as `survey_stats.weighted_proportion` / `weighted_mean`."""
    metrics = _metric_expressions(cb)
    if not metrics:
        return pd.DataFrame()
    names = list(metrics)
    first = []
    for i, (value, dom) in enumerate(metrics.values()):
        first += [f"sum(CASE WHEN {dom} THEN _weight END) AS w{i}",
                  f"sum(CASE WHEN {dom} THEN _weight * {value} END) AS wy{i}",
                  f"count(CASE WHEN {dom} THEN 1 END) AS n{i}",
                  f"count(CASE WHEN {dom} AND {value} = 1 THEN 1 END) AS e{i}"]
    totals = con.execute(f"SELECT {', '.join(first)} FROM survey_weighted").fetchone()
    means = [totals[4 * i + 1] / totals[4 * i] for i in range(len(names))]
    second = ["_cell", "sum(_base) AS d_all", "sum(_weight) AS w_all", "sum(_weight * _weight) AS w2_all"]
    for i, (value, dom) in enumerate(metrics.values()):
        dev = f"CASE WHEN {dom} THEN {value} - {means[i]!r} END"
        second += [f"coalesce(sum(_base * ({dev})), 0) AS d_dev{i}", f"coalesce(sum(_weight * ({dev})), 0) AS w_dev{i}",
                   f"coalesce(sum(_weight * _weight * ({dev})), 0) AS w2_dev{i}",
                   f"coalesce(sum(_weight * _weight * ({dev}) * ({dev})), 0) AS w2_dev2_{i}"]
    by_cell = con.execute(f"SELECT {', '.join(second)} FROM survey_weighted GROUP BY _cell ORDER BY _cell").df()
    x = _calibration_rows(raking.cells.set_index("_cell").loc[by_cell["_cell"]].reset_index(), cb.margins)
    d_all = by_cell["d_all"].to_numpy()
    root = np.sqrt(d_all)[:, None]
    n = raking.n
    rows = []
    for i, name in enumerate(names):
        total, mean, n_dom, events = totals[4 * i], means[i], int(totals[4 * i + 2]), int(totals[4 * i + 3])
        # u_i = 1[dom] (y_i - m) / W; coefficient of the base-weighted OLS of u on X from cell sums
        xdu = by_cell[f"d_dev{i}"].to_numpy() / total
        coef, *_ = np.linalg.lstsq(root * x, xdu[:, None] / root, rcond=None)
        a = (x @ coef)[:, 0]  # fitted score per cell
        w_all, w2_all = by_cell["w_all"].to_numpy(), by_cell["w2_all"].to_numpy()
        z_sum = np.sum(by_cell[f"w_dev{i}"].to_numpy() / total - a * w_all)
        zz = np.sum(by_cell[f"w2_dev2_{i}"].to_numpy() / total**2
                    - 2 * a * by_cell[f"w2_dev{i}"].to_numpy() / total + a * a * w2_all)
        var = n / (n - 1) * (zz - z_sum * z_sum / n)
        se = math.sqrt(max(var, 0.0))
        share = name.endswith("_top_box")
        if share and 0 < events < n_dom:
            q = stats.t.ppf((1 + confidence) / 2, n_dom - 1)
            half = q * se / (mean * (1 - mean))
            logit = math.log(mean / (1 - mean))
            low, high = stats.logistic.cdf(logit - half), stats.logistic.cdf(logit + half)
        else:
            q = stats.norm.ppf((1 + confidence) / 2)
            low, high = mean - q * se, mean + q * se
        rows.append({"metric": name, "estimate": mean, "se": se, "ci_low": float(low), "ci_high": float(high),
                     "n": n_dom, "ci_method": "logit" if share else "wald"})
    return pd.DataFrame(rows)


def stratified_sample(con, fraction: float, seed: int = 20261202, columns: list[str] | None = None) -> pd.DataFrame:
    """Proportional stratified sample of `survey_weighted` by raking cell (see the module doc): the
    first ceil(f N_h) rows of each cell in seeded-hash order, with `_weight` multiplied by N_h / n_h.
    Returns the sampled rows (``columns`` plus `_weight`, `_cell`, `_rownum`) in file order."""
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    cols = ", ".join(_q(c) for c in (columns or [])) + ("," if columns else "")
    return con.execute(
        f"WITH ranked AS (SELECT *, row_number() OVER (PARTITION BY _cell ORDER BY hash({ROWNUM} + {int(seed)}), {ROWNUM}) "
        f"AS _rank, count(*) OVER (PARTITION BY _cell) AS _size FROM survey_weighted), "
        f"kept AS (SELECT *, CAST(ceil({float(fraction)!r} * _size) AS BIGINT) AS _take FROM ranked) "
        f"SELECT {cols} _weight * _size / _take AS _weight, _cell, {ROWNUM} FROM kept WHERE _rank <= _take "
        f"ORDER BY {ROWNUM}").df()


@dataclass
class OutOfCoreSummary:
    """What `summarise_out_of_core` produced, with its timings (seconds) and memory settings."""

    screening: pd.DataFrame
    raking: CellRaking
    metrics: pd.DataFrame
    timings: dict = field(default_factory=dict)
    memory_limit: str = ""


def summarise_out_of_core(path: str | Path, cb: Codebook, memory_limit: str = "4GB", threads: int = 2,
                          temp_directory: str | Path | None = None, con=None) -> OutOfCoreSummary:
    """Read, screen, rake and summarise ``path`` out of core. Pass ``con`` to keep the connection
    (its tables survey_clean and survey_weighted) for `stratified_sample`."""
    con = con if con is not None else connect(memory_limit, threads, temp_directory)
    timings = {}
    t0 = time.perf_counter()
    columns = load(con, path, cb)
    timings["read"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    table = screen(con, cb, columns)
    timings["screen"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    if not cb.margins:
        raise ValueError("the codebook gives no margins to rake to")
    raking = rake_cells(con, cb.margins, base_weight=cb.weight)
    timings["rake"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    metrics = headline_metrics(con, cb, raking)
    timings["metrics"] = time.perf_counter() - t0
    return OutOfCoreSummary(screening=table, raking=raking, metrics=metrics, timings=timings, memory_limit=memory_limit)


def fit_weighted_logit(frame: pd.DataFrame, outcome: str, predictors: list[str],
                       weight: str = "_weight") -> pd.DataFrame:
    """Weighted logistic regression (statsmodels GLM, binomial; pseudo-likelihood point estimates
    with HC0 sandwich SEs), complete cases. One row per term: estimate, se."""
    import statsmodels.api as sm

    data = frame[[outcome, *predictors, weight]].dropna()
    X = sm.add_constant(data[predictors].astype(float), has_constant="add")
    fit = sm.GLM(data[outcome].astype(float), X, family=sm.families.Binomial(),
                 var_weights=data[weight].to_numpy(float)).fit(cov_type="HC0")
    return pd.DataFrame({"term": X.columns, "estimate": fit.params.to_numpy(), "se": fit.bse.to_numpy(),
                         "n": len(data)})


def logit_on_sample(con, outcome: str, predictors: list[str], fraction: float,
                    seed: int = 20261202) -> pd.DataFrame:
    """`fit_weighted_logit` on a `stratified_sample` of the raked table: the model step of the
    out-of-core path (its agreement with the full fit is tested where both fit in memory)."""
    sample = stratified_sample(con, fraction, seed, columns=[outcome, *predictors])
    return fit_weighted_logit(sample, outcome, predictors).assign(fraction=fraction)


def write_large_survey(out_dir: str | Path, n: int, chunk: int = 1_000_000, seed: int = 20261202) -> dict[str, Path]:
    """Simulate an n-respondent survey in chunks of ``chunk`` rows (each chunk its own seed) into
    one Parquet file per chunk, so memory stays at one chunk; returns the folder and the codebook."""
    import yaml

    from .simulate import SimulationParams, default_codebook, simulate_survey

    out = Path(out_dir)
    (out / "survey").mkdir(parents=True, exist_ok=True)
    start = 0
    for i in range(math.ceil(n / chunk)):
        size = min(chunk, n - start)
        df, _, _ = simulate_survey(SimulationParams(n=size, seed=seed + i))
        id_col = "resp_id"
        if id_col in df:
            df[id_col] = np.arange(start, start + len(df))  # ids unique across chunks
        df.to_parquet(out / "survey" / f"part-{i:04d}.parquet", index=False)
        start += size
    codebook = out / "codebook.yaml"
    codebook.write_text(yaml.safe_dump(default_codebook(SimulationParams(n=n, seed=seed)), sort_keys=False))
    return {"survey": out / "survey", "codebook": codebook}


def main(argv=None) -> None:
    """python -m engagement.outofcore --n 10000000 [--memory-limit 4GB]: simulate (in chunks) and time
    the out-of-core screen, rake and headline metrics; prints the timings, the peak RSS and the metrics."""
    import argparse
    import json
    import resource
    import tempfile

    from .codebook import load_codebook

    ap = argparse.ArgumentParser(description=main.__doc__)
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--memory-limit", default="4GB")
    ap.add_argument("--data", default=None, help="an existing Parquet folder or file (with --codebook)")
    ap.add_argument("--codebook", default=None)
    ap.add_argument("--workdir", default=None)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        t0 = time.perf_counter()
        if args.data:
            paths = {"survey": Path(args.data), "codebook": Path(args.codebook)}
            simulate_s = 0.0
        else:
            paths = write_large_survey(Path(tmp) / "data", args.n)
            simulate_s = time.perf_counter() - t0
        cb = load_codebook(paths["codebook"])
        t0 = time.perf_counter()
        summary = summarise_out_of_core(paths["survey"], cb, memory_limit=args.memory_limit,
                                        temp_directory=Path(tmp) / "spill")
        total = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"n": args.n, "simulate_s": simulate_s, "total_s": total, **summary.timings,
                      "peak_rss_mib": peak, "memory_limit": args.memory_limit,
                      "raking_iterations": summary.raking.iterations, "converged": summary.raking.converged,
                      "respondents_after_screening": summary.raking.n}))
    print(summary.metrics.to_string(index=False))


if __name__ == "__main__":
    main()
