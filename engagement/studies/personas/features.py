"""Persona features: how raw answers become model inputs (`FeatureEncoder`), readable feature labels,
and the features on the scale a reader knows (`natural_values`).

Binary items are coded 0/1 ("Yes"/"No" text accepted), ordinal items by their ordered levels (the
codebook's `columns.<c>.allowed` order, else the observed values sorted). Continuous items are
standardized with the weighted mean and SD after a log(1 + x) transform of the non-negative ones when
any of them is right-skewed (skewness > 1): one scale for counts and spend keeps multiplicative
relations (spend = orders × order value) linear within a persona. Missing answers stay missing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ...codebook import Codebook, code_key

#: a continuous feature is log(1 + x) transformed when non-negative with skewness above this
SKEW_FOR_LOG = 1.0
#: a non-negative continuous feature with at least this share of exact zeros is modelled in two parts
ZERO_SHARE = 0.01
_YES = {"1", "1.0", "yes", "y", "true", "t"}
_NO = {"0", "0.0", "no", "n", "false", "f"}


def _binary_values(s: pd.Series, column: str) -> np.ndarray:
    """0/1/NaN from 0/1 numbers, booleans or yes/no text. Text answers that start with "no"
    (e.g. Telco's "No internet service") count as 0: the customer does not have / use it."""
    if pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
        x = s.astype("Float64").to_numpy(dtype=float, na_value=np.nan)
        bad = ~np.isnan(x) & (x != 0) & (x != 1)
        if bad.any():
            raise ValueError(f"persona feature {column!r} is declared binary but has values "
                             f"{sorted({code_key(v) for v in x[bad]})[:5]}; expected 0/1")
        return x
    text = s.astype("string").str.strip().str.lower()
    out = np.full(len(s), np.nan)
    yes = text.isin(_YES).fillna(False).to_numpy(bool)
    no = (text.isin(_NO) | text.str.startswith("no")).fillna(False).to_numpy(bool)
    out[yes], out[no] = 1.0, 0.0
    other = text.notna().to_numpy(bool) & ~yes & ~no
    if other.any():
        raise ValueError(f"persona feature {column!r} is declared binary but has values "
                         f"{sorted(text[other].unique())[:5]}; expected yes/no or 0/1")
    return out


def _weighted_moments(x: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    ok = ~np.isnan(x)
    m = float(np.average(x[ok], weights=w[ok]))
    sd = float(np.sqrt(np.average((x[ok] - m) ** 2, weights=w[ok])))
    return m, sd


def _skewness(x: np.ndarray) -> float:
    x = x[~np.isnan(x)]
    sd = x.std()
    return float(np.mean((x - x.mean()) ** 3) / sd**3) if sd > 0 else 0.0


@dataclass
class FeatureEncoder:
    """How raw answers become model inputs; stored in the typing tool so new data is coded the same."""

    binary: list[str]
    ordinal: list[str]
    continuous: list[str]
    #: ordered levels of each ordinal feature (as text, `codebook.code_key`)
    levels: dict[str, list[str]] = field(default_factory=dict)
    #: continuous feature -> {"log": bool, "center": float, "scale": float, "two_part": bool}
    transform: dict[str, dict] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def features(self) -> list[str]:
        return [*self.binary, *self.ordinal, *self.continuous]

    def kind(self, column: str) -> str:
        return "binary" if column in self.binary else "ordinal" if column in self.ordinal else "continuous"

    @classmethod
    def fit(cls, df: pd.DataFrame, cb: Codebook, weights: np.ndarray | None = None) -> FeatureEncoder:
        pf = cb.persona_features
        missing = [c for c in pf.all if c not in df.columns]
        if missing:
            raise ValueError(f"persona_features not in the data: {', '.join(missing)}")
        w = np.ones(len(df)) if weights is None else np.asarray(weights, float)
        enc = cls(list(pf.binary), list(pf.ordinal), list(pf.continuous), labels=feature_labels(cb))
        for c in enc.ordinal:
            spec = cb.columns.get(c)
            observed = df[c].dropna().unique()
            if spec is not None and spec.allowed:
                order = [code_key(v) for v in spec.allowed]
            elif pd.api.types.is_numeric_dtype(df[c]):
                order = [code_key(v) for v in sorted(observed)]
            else:
                order = sorted(code_key(v) for v in observed)
            extra = sorted({code_key(v) for v in observed} - set(order))
            if extra:
                raise ValueError(f"persona feature {c!r} has values {extra[:5]} outside its declared levels")
            enc.levels[c] = order
        raw = {c: pd.to_numeric(df[c], errors="coerce").to_numpy(float) for c in enc.continuous}
        nonneg = {c: bool(np.nanmin(x) >= 0) for c, x in raw.items()}
        # one scale for all non-negative features (counts, spend): log when any is right-skewed, so
        # that multiplicative relations (spend = orders × order value) stay linear within a persona
        log = any(nonneg[c] and _skewness(x) > SKEW_FOR_LOG for c, x in raw.items())
        for c, x in raw.items():
            use_log = log and nonneg[c]
            z = np.log1p(x) if use_log else x
            m, sd = _weighted_moments(z, w)
            two_part = nonneg[c] and float(np.mean(x[~np.isnan(x)] == 0)) >= ZERO_SHARE
            enc.transform[c] = {"log": use_log, "center": m, "scale": sd if sd > 0 else 1.0, "two_part": two_part}
        return enc

    def codes(self, df: pd.DataFrame) -> pd.DataFrame:
        """Binary 0/1, ordinal level index 0…L−1, continuous standardized; NaN where missing."""
        out = {}
        for c in self.binary:
            out[c] = _binary_values(df[c], c)
        for c in self.ordinal:
            index = {lv: i for i, lv in enumerate(self.levels[c])}
            # code_key once per distinct value, not per respondent (24 s at a million)
            rows, distinct = pd.factorize(df[c])
            level = np.array([index.get(code_key(v), -1) for v in distinct] + [np.nan], dtype=float)
            vals = level[rows]  # missing (code -1) -> the appended NaN
            if (vals == -1).any():
                bad = df.loc[vals == -1, c].unique()[:5]
                raise ValueError(f"persona feature {c!r} has values {list(bad)} outside its levels {self.levels[c]}")
            out[c] = vals
        for c in self.continuous:
            t = self.transform[c]
            x = pd.to_numeric(df[c], errors="coerce").to_numpy(float)
            if t["log"]:
                x = np.log1p(np.clip(x, 0, None))
            out[c] = (x - t["center"]) / t["scale"]
        return pd.DataFrame(out, index=df.index)

    def standardized(self, codes: pd.DataFrame, weights: np.ndarray) -> np.ndarray:
        """Every feature on a z scale with missing values at the weighted mean (for k-means and starts)."""
        X = codes[self.features].to_numpy(float).copy()
        for j in range(X.shape[1]):
            m, sd = _weighted_moments(X[:, j], weights)
            X[:, j] = (np.where(np.isnan(X[:, j]), m, X[:, j]) - m) / (sd if sd > 0 else 1.0)
        return X

    def to_dict(self) -> dict:
        return {"binary": self.binary, "ordinal": self.ordinal, "continuous": self.continuous,
                "levels": self.levels, "transform": self.transform, "labels": self.labels}

    @classmethod
    def from_dict(cls, d: dict) -> FeatureEncoder:
        return cls(d["binary"], d["ordinal"], d["continuous"], d.get("levels", {}), d.get("transform", {}),
                   d.get("labels", {}))


def feature_labels(cb: Codebook) -> dict[str, str]:
    """Short readable names for persona features: "uses <channel>" for the codebook's channel-usage
    columns, the codebook's column label when it is short (≤ 30 characters), else the column name
    without a question prefix (att_, use_, q_) or period suffix (_365d, _12m, _6m), split into words."""
    usage = {col: ch for ch, col in cb.channels.usage.items()} if cb.channels else {}
    labels: dict[str, str] = {}
    for c in (cb.persona_features.all if cb.persona_features else []):
        if c in usage:
            labels[c] = f"uses {usage[c]}"
            continue
        spec = cb.columns.get(c)
        if spec is not None and spec.label and len(spec.label) <= 30:
            labels[c] = spec.label
            continue
        text = re.sub(r"^(att|use|q|pf)_", "", c)
        text = re.sub(r"_?(365d|12m|6m|30d|90d)$", "", text)
        text = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", text).replace("_", " ").strip()
        labels[c] = " ".join(w if w.isupper() else w.lower() for w in text.split()) or c
    return labels


# -------------------------------------------------------------------------------- profiles


def natural_values(df: pd.DataFrame, enc: FeatureEncoder, codes: pd.DataFrame | None = None) -> pd.DataFrame:
    """Features on the scale a reader knows: binary 0/1, ordinal level number 1…L (the answer itself
    when the levels are numbers), continuous as recorded."""
    codes = enc.codes(df) if codes is None else codes
    out = {}
    for c in enc.binary:
        out[c] = codes[c]
    for c in enc.ordinal:
        levels = enc.levels[c]
        try:
            values = np.array([float(v) for v in levels])
        except ValueError:
            values = np.arange(1, len(levels) + 1, dtype=float)
        idx = codes[c].to_numpy(float)
        out[c] = np.where(np.isnan(idx), np.nan, values[np.nan_to_num(idx).astype(int)])
    for c in enc.continuous:
        out[c] = pd.to_numeric(df[c], errors="coerce").to_numpy(float)
    return pd.DataFrame(out, index=df.index)


def _weighted_mean_ignore_nan(x: np.ndarray, w: np.ndarray) -> float:
    ok = ~np.isnan(x)
    return float(np.average(x[ok], weights=w[ok])) if ok.any() and w[ok].sum() > 0 else np.nan

