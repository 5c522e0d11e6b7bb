"""The `engagement` command: simulate, codebook draft, run, assign."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import List, Optional

import typer

from . import config
from .errors import InputError

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Customer-engagement survey toolkit: channels, CES vs CSAT loyalty, personas.")
codebook_app = typer.Typer(no_args_is_help=True, help="Codebook helpers.")
app.add_typer(codebook_app, name="codebook")

EXIT_BAD_INPUT = 2


def _bad_input(exc: InputError) -> None:
    typer.echo(exc.one_line(), err=True)
    raise typer.Exit(EXIT_BAD_INPUT)


@app.command()
def simulate(
    out: Path = typer.Option(config.DEFAULT_DATA_DIR, help="Folder for survey.csv, codebook.yaml, truth.*"),
    n: int = typer.Option(config.DEFAULT_N, help="Respondents before duplicates are added."),
    seed: int = typer.Option(config.DEFAULT_SEED),
    personas: int = typer.Option(4, min=1, max=4, help="Planted personas."),
    effect_effort: float = typer.Option(0.55, help="Loading of loyalty on standardized CES."),
    effect_satisfaction: float = typer.Option(0.30, help="Loading of loyalty on standardized CSAT."),
    waves: int = typer.Option(0, help="Write a drifting series of this many waves into OUT/<wave>/ instead."),
):
    """Simulate the omnichannel CX survey from the documented generative model."""
    from .simulate import SimulationParams, simulate_waves, write_survey

    params = SimulationParams(n=n, seed=seed, n_personas=personas, effect_effort=effect_effort,
                              effect_satisfaction=effect_satisfaction)
    if waves:
        for paths in simulate_waves(out, waves, params):
            typer.echo(paths["survey"])
    else:
        typer.echo(write_survey(out, params)["survey"])


def main() -> None:  # pragma: no cover - console entry
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
