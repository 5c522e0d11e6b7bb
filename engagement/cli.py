"""The `engagement` command: simulate, codebook draft, run, assign."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import List, Optional

import typer

try:  # typer >= 0.24 carries its own copy of click
    from typer._click import exceptions as click_errors
except ImportError:  # pragma: no cover
    from click import exceptions as click_errors

from . import config
from .errors import InputError


def one_line(text: str, limit: int = 80) -> str:
    """A message on one line, every quoted value in it cut to about `limit` characters."""
    flat = " ".join(str(text).split())

    def cut(m: re.Match) -> str:
        q, body = m.group(1), m.group(2)
        return m.group(0) if len(body) <= limit else f"{q}{body[:limit - 1]}…{q}"

    flat = re.sub(r"(['\"])(.*?)\1(?=[\s,:;.)]|$)", cut, flat)
    return flat if len(flat) <= 600 else flat[:599] + "…"


class _OneLineTyper(typer.Typer):
    """Usage errors (unknown option, bad option value) as one line on stderr with exit 2, like every
    other bad input, instead of click's usage block."""

    def __call__(self, args=None, prog_name: str = "engagement"):
        command = typer.main.get_command(self)
        try:
            code = command.main(args=args, prog_name=prog_name, standalone_mode=False)
        except click_errors.NoArgsIsHelpError as exc:
            typer.echo(exc.ctx.get_help())
            sys.exit(0)
        except click_errors.ClickException as exc:
            hint = f" (see {exc.ctx.command_path} --help)" if getattr(exc, "ctx", None) else ""
            typer.echo(one_line(f"bad input: {exc.format_message()}{hint}"), err=True)
            sys.exit(exc.exit_code)
        except typer.Abort:
            typer.echo("aborted", err=True)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


app = _OneLineTyper(add_completion=False, no_args_is_help=True,
                    help="Customer-engagement survey toolkit: channels, CES vs CSAT loyalty, personas.")
codebook_app = typer.Typer(no_args_is_help=True, help="Codebook helpers.")
app.add_typer(codebook_app, name="codebook")

EXIT_BAD_INPUT = 2


def _bad_input(exc: InputError) -> None:
    typer.echo(one_line(exc.one_line()), err=True)
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
    from .studies.personas.typing_tool import assign_personas

    try:
        path = assign_personas(typing_tool, data, out, codebook)
    except InputError as exc:
        _bad_input(exc)
    typer.echo(path)


def _parse_params(pairs: list[str]) -> dict:
    """-p key=value pairs, values as text: the pipeline types them as the notebooks' parameters cells
    declare (`pipeline.check_params`) and names the parameter when one does not fit."""
    from .pipeline import RunInputError, clip

    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise RunInputError(f"-p {clip(pair)}", "key=value")
        out[key.strip()] = value
    return out


@app.command()
def run(
    data: Optional[Path] = typer.Option(None, help="Survey file (CSV, Qualtrics CSV, .sav, .xlsx, .parquet). Default: the embedded survey."),
    codebook: Optional[Path] = typer.Option(None, help="Codebook YAML. Default: the embedded survey's."),
    out: Optional[Path] = typer.Option(None, help="Publish the run here instead of reports/<survey>/<wave>."),
    wave: Optional[str] = typer.Option(None, help="Survey wave label, e.g. 2026-Q4 (default: the codebook's)."),
    param: List[str] = typer.Option([], "-p", "--param", help="Notebook parameter key=value (repeatable)."),
    page_size: str = typer.Option("A4", help="PDF page size: A4 or letter."),
    no_respondent_data: bool = typer.Option(False, "--no-respondent-data",
                                            help="Publish only aggregates: no clean.parquet, personas.parquet."),
    wait: float = typer.Option(0, "--wait", min=0,
                               help="Seconds to wait for another run of the same survey to finish (default: exit 2 at once)."),
    lang: Optional[str] = typer.Option(None, "--lang", help="Language of the findings brief: en, ko or ja (default: the codebook's survey.language, else en)."),
    jobs: Optional[int] = typer.Option(None, "--jobs", min=1, max=8,
                                       help="Notebooks run side by side where one does not read another's output (default: 2 on a machine with 2 or more cores, else 1). Results do not depend on it."),
):
    """Run every notebook with papermill and publish findings.pdf and results.json.

    Every input is checked before any notebook runs. Exit codes: 0 published (sections that could not
    be estimated are listed); 2 bad input or another run of the survey is going on (nothing written);
    1 a notebook or the report failed (the previous good report and `latest` are left as they were);
    130/143 interrupted by SIGINT/SIGTERM (kernels stopped, nothing published).
    """
    from .brief import LANGUAGES
    from .pipeline import NotebookFailed, RunInterrupted, run_pipeline

    if lang is not None and lang not in LANGUAGES:
        typer.echo(f"--lang: expected one of {', '.join(LANGUAGES)}, got {lang[:20]!r}", err=True)
        raise typer.Exit(EXIT_BAD_INPUT)
    try:
        result = run_pipeline(data, codebook, out=out, wave=wave, params=_parse_params(param),
                              page_size=page_size, respondent_data=not no_respondent_data, wait=wait,
                              progress=typer.echo, lang=lang, jobs=jobs)
    except InputError as exc:
        _bad_input(exc)
    except NotebookFailed as exc:
        typer.echo(one_line(f"run failed: {exc}", 200), err=True)
        raise typer.Exit(1)
    except RunInterrupted as exc:
        done = ("the run was published before stopping" if exc.published
                else "kernels stopped, nothing published; the last good report is unchanged")
        typer.echo(f"run interrupted ({exc}): {done}", err=True)
        raise typer.Exit(128 + exc.signum)
    for section, reason in sorted(result.degraded.items()):
        typer.echo(f"not estimated: {section}: {reason}")
    typer.echo(f"results: {result.results}")
    typer.echo(f"PDF: {result.pdf}")


@codebook_app.command("draft")
def codebook_draft(
    datafile: Path = typer.Argument(..., help="The survey export to inspect."),
    out: Optional[Path] = typer.Option(None, help="Write the draft here (default: print it)."),
    encoding: Optional[str] = typer.Option(None, help="Text encoding of the export (default: detected: UTF-8, CP949 or Shift-JIS)."),
):
    """Write a starting codebook by inspecting the data: roles guessed from names and values, each with its evidence
    as a YAML comment; then say which studies the draft feeds and what the others lack."""
    from .draft import draft_file, studies_summary, validate_draft

    try:
        draft = draft_file(datafile, encoding=encoding)
    except InputError as exc:
        _bad_input(exc)
    text = draft.text()
    if out:
        out.write_text(text, encoding="utf-8")
        typer.echo(out)
    else:
        typer.echo(text)
    try:
        cb, unknown = validate_draft(draft.codebook)
        lines = [f"draft {line}" for line in studies_summary(cb)]
        if unknown:
            lines.append(f"note: this version of engagement does not know the draft's keys {', '.join(unknown)}")
    except Exception as exc:  # the draft is a starting point; `codebook check` names the key to fix
        lines = [f"the draft does not validate yet ({str(exc).splitlines()[0]}): run `engagement codebook check`"]
    for line in lines:
        typer.echo(line, err=not out)


@codebook_app.command("check")
def codebook_check(
    codebook: Path = typer.Argument(...),
    data: Optional[Path] = typer.Option(None, help="Also validate this data file against it."),
):
    """Validate a codebook (and optionally a data file against it)."""
    from .codebook import load_codebook
    from .ingest import read_survey

    from .pipeline import _check_input_file

    try:
        _check_input_file(codebook, "codebook")
        if data:
            _check_input_file(data, "data file")
        cb = load_codebook(codebook)
        from .draft import studies_fed

        fed = studies_fed(cb)
        if not fed["fed"].any():  # an unedited draft must not pass for a working codebook
            typer.echo("warning: this codebook feeds no study: " + "; ".join(
                f"{r.study} needs {r.missing.split('; ')[0]}" for r in fed.itertuples()), err=True)
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


def main(argv: list[str] | None = None) -> None:  # pragma: no cover - console entry
    app(argv)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
