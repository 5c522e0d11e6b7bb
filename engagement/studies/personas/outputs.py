"""What the persona study records: `personas.parquet` (id, persona number and name, for the loyalty
study) and the `personas` section of results.json (`collect`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from ...degrade import NotEstimated

from ...results import PERSONA_FILE, estimate
from .features import _weighted_moments
from .profiles import profile_vectors

if TYPE_CHECKING:
    from .fit import PersonaFit
    from .profiles import PersonaProfiles
    from .structure import Structure
    from .typing_tool import TypingToolResult

METHOD = ("latent class model (StepMix 3.0, EM, survey weights): Bernoulli / categorical / full-covariance "
          "Gaussian indicators, missing values by full-information likelihood")


def save_assignments(fit: PersonaFit, output_dir: str | Path) -> Path | None:
    """`output_dir/personas.parquet`: the id column, `persona` (int) and `persona_name`, one row per
    classified respondent — what the loyalty study joins on. Nothing else (no PII)."""
    if fit.skipped:
        return None
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    table = pd.DataFrame({fit.id_column: fit.df[fit.id_column].to_numpy(), "persona": fit.labels.astype("int64"),
                          "persona_name": [fit.name(p) for p in fit.labels]})
    path = out / PERSONA_FILE
    tmp = path.with_suffix(".tmp")
    table.to_parquet(tmp, index=False)
    tmp.replace(path)
    return path


def collect(fit: PersonaFit, profiles: PersonaProfiles | None = None, typing: TypingToolResult | None = None,
            structure: Structure | None = None) -> dict:
    """The `personas` section of results.json. With `structure`: `structure` ("clear" / "weak" /
    "none"), `structure_sentence` and `structure_evidence` for the summary."""
    if fit.skipped:
        return {"section": "Personas", "skipped": True, "reason": fit.skipped}
    from .sections import cap_sentence
    sizes_table = fit.sizes if profiles is None else profiles.sizes
    sizes = [{"persona": int(r["persona"]), "name": r["name"], **estimate(r["estimate"], r["ci_low"], r["ci_high"], r["n"]),
              "n_persona": int(r["n_persona"]), "model_share": r["model_share"]} for _, r in sizes_table.iterrows()]
    scale = {c: _weighted_moments(fit.values[c].to_numpy(float), fit.weights)[1] for c in fit.values.columns}
    share = sizes_table.set_index("persona")["estimate"]
    out = {
        "k": fit.k,
        "sizes": sizes,
        "names": {str(p): fit.name(p) for p in fit.numbers},
        "stability": fit.stability,
        "typing_tool_accuracy": None,
        "k_selection": fit.table.to_dict(orient="records"),
        "rule": fit.rule,
        "method": METHOD,
        "parameters": fit.params,
        "kmeans_ari": fit.kmeans_ari,
        "n": int(len(fit.labels)),
        "n_unclassified": int(fit.n_all - len(fit.labels)),
        "features": fit.enc.to_dict(),
        "profiles": [{"persona": p, "name": fit.name(p), "share": float(share.loc[p]),
                      "means": profile_vectors(fit.profile)[p]} for p in fit.numbers],
        "feature_sd": scale,
        "index_scores": fit.profile.to_dict(orient="records"),
        "matched_to_previous": None if fit.matching is None else fit.matching.to_dict(orient="records"),
        "notes": fit.notes,
        "cap_binds": fit.cap_binds,
        "bic_best_k": fit.bic_best_k,
        "cap_sentence": cap_sentence(fit),
    }
    if isinstance(typing, NotEstimated):
        out.update({"typing_tool": None, "typing_tool_not_estimated": typing.reason})
    elif typing is not None:
        out.update(typing.results())
    if structure is not None:
        out.update({"structure": structure.verdict, "structure_sentence": structure.sentence,
                    "structure_evidence": structure.evidence})
    return out
