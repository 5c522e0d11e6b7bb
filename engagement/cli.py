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


@app.command()
def assign(
    typing_tool: Path = typer.Option(..., "--typing-tool", help="typing_tool.json written by a persona run (beside the report)."),
    data: Path = typer.Option(..., "--data", help="Survey file to type: CSV, Excel, SPSS or Parquet."),
    out: Optional[Path] = typer.Option(None, "--out", help="Output CSV (default: <data stem>-personas.csv beside the data)."),
    codebook: Optional[Path] = typer.Option(None, "--codebook", help="Codebook of the new file: validate it and drop its PII columns first."),
):
    """Assign every respondent of a new file to a persona with a saved typing tool (writes id, persona, persona_name)."""
    from .typing_tool import assign_personas

    try:
        path = assign_personas(typing_tool, data, out, codebook)
    except InputError as exc:
        _bad_input(exc)
    typer.echo(path)


def _parse_params(pairs: list[str]) -> dict:
    """-p key=value pairs; values are read as YAML scalars (numbers, booleans, lists stay typed)."""
    import yaml

    out = {}
    for pair in pairs:
        if "=" not in pair:
            raise typer.BadParameter(f"expected key=value, got {pair!r}", param_hint="-p")
        key, value = pair.split("=", 1)
        out[key.strip()] = yaml.safe_load(value)
    return out


@app.command()
def run(
    data: Optional[Path] = typer.Option(None, help="Survey file (CSV, Qualtrics CSV, .sav, .xlsx, .parquet). Default: the embedded survey."),
    codebook: Optional[Path] = typer.Option(None, help="Codebook YAML. Default: the embedded survey's."),
    out: Optional[Path] = typer.Option(None, help="Publish the run here instead of reports/<survey>/<wave>."),
    wave: Optional[str] = typer.Option(None, help="Survey wave label, e.g. 2026-Q4 (default: the codebook's)."),
    param: List[str] = typer.Option([], "-p", "--param", help="Notebook parameter key=value (repeatable)."),
    page_size: str = typer.Option("A4", help="PDF page size: A4 or letter."),
):
    """Run every notebook with papermill and publish findings.pdf and results.json.

    Exit codes: 0 ok; 2 bad input (nothing written); 1 a notebook or the report failed (the previous
    good report and the `latest` pointer are left as they were).
    """
    from .pipeline import NotebookFailed, run_pipeline

    try:
        result = run_pipeline(data, codebook, out=out, wave=wave, params=_parse_params(param),
                              page_size=page_size, progress=typer.echo)
    except InputError as exc:
        _bad_input(exc)
    except NotebookFailed as exc:
        typer.echo(f"run failed: {exc}", err=True)
        raise typer.Exit(1)
    typer.echo(f"results: {result.results}")
    typer.echo(f"PDF: {result.pdf}")


@codebook_app.command("draft")
def codebook_draft(
    datafile: Path = typer.Argument(..., help="The survey export to inspect."),
    out: Optional[Path] = typer.Option(None, help="Write the draft here (default: print it)."),
    encoding: str = typer.Option("utf-8"),
):
    """Write a starting codebook by inspecting the data (types, ranges, candidate roles)."""
    import yaml

    from .ingest import draft_codebook

    try:
        draft = draft_codebook(datafile, encoding=encoding)
    except InputError as exc:
        _bad_input(exc)
    text = "# Draft codebook: check every role, scale direction and label before use.\n" + yaml.safe_dump(
        draft, sort_keys=False, allow_unicode=True)
    if out:
        out.write_text(text, encoding="utf-8")
        typer.echo(out)
    else:
        typer.echo(text)


@codebook_app.command("check")
def codebook_check(
    codebook: Path = typer.Argument(...),
    data: Optional[Path] = typer.Option(None, help="Also validate this data file against it."),
):
    """Validate a codebook (and optionally a data file against it)."""
    from .codebook import load_codebook
    from .ingest import read_survey

    try:
        cb = load_codebook(codebook)
        if data:
            s = read_survey(data, cb)
            typer.echo(f"ok: {len(s.data)} rows, {len(s.data.columns)} columns; PII dropped: {s.dropped_pii}")
        else:
            typer.echo("ok")
    except InputError as exc:
        _bad_input(exc)


@codebook_app.command("schema")
def codebook_schema():
    """Print the codebook's JSON Schema (for editor autocompletion; the reference is docs/codebook.md)."""
    import json

    from .codebook import codebook_json_schema

    typer.echo(json.dumps(codebook_json_schema(), indent=2, ensure_ascii=False))


def main() -> None:  # pragma: no cover - console entry
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
