"""Weighted banner crosstabs, shared by the channel and persona studies.

`crosstab(df, row, column, design)` runs the Rao–Scott second-order corrected F test
(`survey_stats.rao_scott_chisq`, R's svychisq(statistic = "F")) with Cramér's V and the
column-proportion letters of SPSS / Q tables (`survey_stats.column_proportion_tests`). Code-to-label
helpers (`relabel`, `in_values`, `categorical`) live here too, so both studies code answers alike.
No printing, no charts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .codebook import code_key, map_distinct
from .survey_stats import Design, column_proportion_tests, rao_scott_chisq

#: a crosstab row level with fewer respondents than this in some column is merged into "other"
MIN_CELL = 5


def relabel(values: pd.Series, mapping: dict) -> pd.Series:
    """Map codes to labels, matching 1, 1.0 and "1" alike; unmapped or missing values become None."""
    keyed = {code_key(k): v for k, v in mapping.items()}
    return pd.Series(map_distinct(values, lambda u: keyed.get(code_key(u))), index=values.index, dtype=object)


def label_indicators(labels: pd.Series, levels) -> list[pd.Series]:
    """For each level: 1.0 where `labels` equals it, 0.0 at another label, NaN where missing — the
    same as ``(labels == level).astype(float).where(labels.notna())``, on integer codes (comparing
    a million Python objects once per level was most of a stage-share table)."""
    codes, uniques = pd.factorize(labels)
    position = {u: i for i, u in enumerate(uniques)}
    answered = codes >= 0
    return [pd.Series(np.where(answered, (codes == position.get(level, -2)).astype(float), np.nan), index=labels.index)
            for level in levels]


def in_values(values: pd.Series, accepted) -> pd.Series:
    """1.0 where the value is one of `accepted`, 0.0 where it is another value, NaN where missing."""
    keys = {code_key(v) for v in accepted}
    hit = map_distinct(values, lambda u: 1.0 if code_key(u) in keys else 0.0, missing=np.nan)
    return pd.Series(hit.astype(float), index=values.index)


def categorical(values: pd.Series, labels: dict | None) -> pd.Series:
    """A categorical in label order (codebook labels) or sorted codes; missing stays missing."""
    if labels:
        mapped = relabel(values, labels)
        return pd.Series(pd.Categorical(mapped, categories=list(dict.fromkeys(labels.values()))), index=values.index)
    return values


@dataclass
class Crosstab:
    """A weighted crosstab: Rao–Scott test, Cramér's V and column-proportion letters."""

    row: str
    column: str
    test: dict
    cells: pd.DataFrame  # survey_stats.column_proportion_tests output
    collapsed: list = field(default_factory=list)  # row levels merged into "other"
    excluded: list = field(default_factory=list)  # row levels too thin even when merged: left out

    def banner(self, rows: list | None = None) -> pd.DataFrame:
        """SPSS/Q-style banner: one row per row level, one column per column level headed
        "label (A)", cells "62.1% BC" (column %, letters of columns this one is significantly above)."""
        cells = self.cells if rows is None else self.cells[self.cells["row"].isin(rows)]
        text = cells.assign(header=[f"{c} ({l})" for c, l in zip(cells["column"], cells["letter"])],
                            cell=[f"{p * 100:.1f}%" + (f" {h}" if h else "")
                                  for p, h in zip(cells["proportion"], cells["higher_than"])])
        wide = text.pivot(index="row", columns="header", values="cell")
        wide = wide.loc[list(dict.fromkeys(text["row"])), list(dict.fromkeys(text["header"]))]
        return wide.reset_index().rename(columns={"row": self.row})


def merge_sparse_rows(x: pd.Series, y: pd.Series, min_cell: int = MIN_CELL) -> tuple[pd.Series, list, list]:
    """Merge the row levels that have fewer than `min_cell` respondents in some column into "other"
    (the Rao–Scott correction needs every cell filled, and tiny cells make it unstable). When even the
    merged "other" row is that thin, those respondents are left out of the table instead.
    Returns the new row variable, the merged levels and the excluded levels."""
    ok = x.notna() & y.notna()
    counts = pd.crosstab(x[ok], y[ok])
    sparse = [lv for lv in counts.index if counts.loc[lv].min() < min_cell]
    if not sparse:
        return x, [], []
    order = list(x.cat.categories) if isinstance(x.dtype, pd.CategoricalDtype) else list(counts.index)
    keep = [lv for lv in order if lv in counts.index and lv not in sparse]
    if counts.loc[sparse].sum().min() >= min_cell:
        merged = x.astype(object).where(~x.isin(sparse), "other").where(x.notna())
        return pd.Series(pd.Categorical(merged, categories=[*keep, "other"]), index=x.index), sparse, []
    kept = x.astype(object).where(~x.isin(sparse)).where(x.notna())
    return pd.Series(pd.Categorical(kept, categories=keep), index=x.index), [], sparse


def crosstab(df: pd.DataFrame, row: str, column: str, design: Design | None = None, alpha: float = 0.05,
             row_labels: dict | None = None, column_labels: dict | None = None,
             collapse_sparse: bool = False) -> Crosstab:
    """Weighted crosstab of `row` by `column` (the banner): the Rao–Scott second-order corrected F test
    (`survey_stats.rao_scott_chisq`, R's svychisq(statistic = "F")) with the unweighted χ² and
    Cramér's V, and column-proportion z-tests with Bonferroni-corrected letters
    (`survey_stats.column_proportion_tests`). Labels map codes to text and fix the level order.
    With `collapse_sparse`, row levels with a cell under MIN_CELL respondents are merged into
    "other" (or left out when the merged row is still that thin)."""
    design = design or Design.unweighted(len(df))
    x = categorical(df[row], row_labels)
    y = categorical(df[column], column_labels)
    collapsed, excluded = [], []
    if collapse_sparse:
        x, collapsed, excluded = merge_sparse_rows(x, y)
    try:
        test = rao_scott_chisq(x, y, design)
    except ValueError as exc:  # an empty cell or a single level: no test, say why
        test = {"error": str(exc), "p_value": np.nan, "f_statistic": np.nan, "cramers_v": np.nan,
                "weighted_cramers_v": np.nan, "ndf": np.nan, "ddf": np.nan,
                "n": int((x.notna() & y.notna()).sum())}
    cells = column_proportion_tests(x, y, design, alpha=alpha)
    return Crosstab(row=row, column=column, test=test, cells=cells, collapsed=collapsed, excluded=excluded)
