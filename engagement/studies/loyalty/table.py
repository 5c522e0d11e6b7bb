"""The loyalty study's analysis table: the run folder's screened, weighted table, only the columns
the study reads (about a third of a default survey's), so that a 1,000,000-respondent table is read
in about half the memory."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ...codebook import Codebook
from ...prepare import analysis_data
from ...results import WEIGHT


def study_columns(cb: Codebook) -> list[str]:
    """Every column the study and its survey design read: id, weights, raking margins, scale items,
    outcomes, controls, channel of last interaction and driver items, as the codebook declares them."""
    cols = [cb.id_column, WEIGHT, cb.weight, *cb.margins]
    for sc in cb.scales.values():
        cols += sc.columns
    cols += [o.column for o in cb.outcomes] + list(cb.controls) + list(getattr(cb, "drivers", None) or [])
    if cb.channels and cb.channels.last_interaction:
        cols.append(cb.channels.last_interaction)
    return list(dict.fromkeys(c for c in cols if c))


def analysis_table(data_path: str | Path, codebook_path: str | Path, output_dir: str | Path,
                   cb: Codebook) -> pd.DataFrame:
    """`prepare.analysis_data` restricted to `study_columns`."""
    return analysis_data(data_path, codebook_path, output_dir, columns=study_columns(cb))


def persona_labels(df: pd.DataFrame, id_column: str, path: Path) -> pd.Series | None:
    """Each row's persona name (or number) from the persona study's file, matched on the id as text
    (NaN where absent; a repeated id: its last row); None without the file, an id or a persona column.
    Reads the two columns it needs and matches through an index, not a per-respondent dict."""
    if not path.exists():
        return None
    import pyarrow.parquet as pq

    names = set(pq.read_schema(path).names)
    if id_column not in names or "persona" not in names or id_column not in df:
        return None
    label = "persona_name" if "persona_name" in names else "persona"
    per = pd.read_parquet(path, columns=[id_column, label])
    keys = pd.Index(per[id_column].astype(str))
    last = ~keys.duplicated(keep="last")
    pos = keys[last].get_indexer(df[id_column].astype(str))
    values = pd.Series(per[label].to_numpy()[last][pos], index=df.index, name=id_column)
    return values.where(pos >= 0) if (pos < 0).any() else values
