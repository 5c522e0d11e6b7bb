"""Run the numbered notebooks with papermill into a run folder, then publish it atomically.

Layout under `reports/`:

    reports/<survey>/<wave>/            one published run: executed notebooks, findings.html,
                                        findings.pdf, results.json, manifest.json, run.log, …
    reports/<survey>/latest -> <wave>   moves only when a run succeeds
    reports/latest -> <survey>/<wave>   the most recent successful run of any survey
    reports/<survey>/_failed/<wave>/    the last failed attempt, kept for debugging

A run is built in a hidden temporary folder beside its destination and renamed into place only when
every notebook, results.json and the PDF are done, so a failed or interrupted run never touches the
previous good report. Inputs are validated before anything is written (bad input: exit code 2).
"""

from __future__ import annotations

import json
import logging
import os
import platform
import re
import shutil
import time
from dataclasses import dataclass, field
from datetime import date
from importlib import metadata
from pathlib import Path

from . import __version__, config
from .codebook import Codebook, load_codebook
from .ingest import file_sha256, read_survey
from .results import write_results_json

#: execution order: personas (30) run before loyalty (20) so that loyalty can test heterogeneity by persona
NOTEBOOKS = ["00-data-quality", "10-channel-preferences", "30-personas", "20-loyalty-ces-vs-csat", "90-findings"]
#: order of sections in the PDF: findings first (executive summary, claims ledger), methods last
REPORT_ORDER = ["90-findings", "10-channel-preferences", "20-loyalty-ces-vs-csat", "30-personas", "00-data-quality"]
PACKAGES = ["engagement", "numpy", "pandas", "scipy", "statsmodels", "scikit-learn", "stepmix", "weightipy",
            "matplotlib", "seaborn", "UpSetPlot", "papermill", "nbconvert", "weasyprint", "pydantic", "pyreadstat"]


class NotebookFailed(RuntimeError):
    def __init__(self, notebook: str, cell: int | None, detail: str, kept: Path):
        self.notebook, self.cell, self.detail, self.kept = notebook, cell, detail, kept
        where = f"cell {cell}" if cell is not None else "an unknown cell"
        super().__init__(f"notebook {notebook} failed at {where}: {detail} (executed copy kept in {kept})")


@dataclass
class RunResult:
    run_dir: Path
    pdf: Path
    results: Path
    timings: dict = field(default_factory=dict)


def slug(text: str, lower: bool = True) -> str:
    """A folder name: letters, digits and single dashes (waves keep their case: 2026-Q4)."""
    s = re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-")
    return (s.lower() if lower else s)[:60] or "survey"


def notebook_parameters(path: Path) -> set[str]:
    import papermill as pm

    return set(pm.inspect_notebook(str(path)).keys())


def package_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def _setup_log(path: Path) -> logging.Logger:
    log = logging.getLogger(f"engagement.run.{path}")
    log.handlers.clear()
    log.setLevel(logging.INFO)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log.addHandler(handler)
    log.propagate = False
    return log


def _relink(link: Path, target: str) -> None:
    """Point `link` at `target` atomically (a new symlink renamed over the old one)."""
    tmp = link.with_name(f".{link.name}.tmp-{os.getpid()}")
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    tmp.symlink_to(target)
    os.replace(tmp, link)


def run_pipeline(
    data_path: str | Path | None = None,
    codebook_path: str | Path | None = None,
    *,
    out: str | Path | None = None,
    wave: str | None = None,
    params: dict | None = None,
    notebooks: list[str] | None = None,
    page_size: str = "A4",
    reports_dir: str | Path | None = None,
    progress=print,
) -> RunResult:
    """Run the whole pipeline. Raises InputError (bad input, nothing written) or NotebookFailed."""
    data_path = Path(data_path or config.DEFAULT_SURVEY).resolve()
    codebook_path = Path(codebook_path or config.DEFAULT_CODEBOOK).resolve()
    params = dict(params or {})

    # Validate before anything is written: a bad codebook or data file stops here.
    cb: Codebook = load_codebook(codebook_path)
    survey = read_survey(data_path, cb)
    input_hash = file_sha256(data_path)

    wave = wave or cb.survey.wave or date.today().isoformat()
    reports = Path(reports_dir or config.REPORTS_DIR).resolve()
    survey_dir = reports / slug(cb.survey.name)
    final = Path(out).resolve() if out else survey_dir / slug(wave, lower=False)
    final.parent.mkdir(parents=True, exist_ok=True)
    work = final.parent / f".{final.name}.building-{os.getpid()}"
    if work.exists():
        shutil.rmtree(work)
    work.mkdir()
    log = _setup_log(work / "run.log")
    log.info("run: data=%s codebook=%s wave=%s sha256=%s", data_path.name, codebook_path.name, wave, input_hash)
    log.info("%s", survey.dropped_summary())  # names only: the values never leave ingest
    for note in survey.warnings:
        log.warning("%s", note)

    previous = _previous_results(survey_dir, final)
    base = {"data_path": str(data_path), "codebook_path": str(codebook_path), "output_dir": str(work),
            "seed": int(params.pop("seed", config.DEFAULT_SEED)), "wave": wave,
            "previous_results": str(previous) if previous else ""}
    names = notebooks or NOTEBOOKS
    timings: dict[str, float] = {}
    try:
        for i, name in enumerate(names, 1):
            src = config.NOTEBOOKS_DIR / f"{name}.ipynb"
            accepted = notebook_parameters(src)
            unknown = set(params) - set().union(*(notebook_parameters(config.NOTEBOOKS_DIR / f"{n}.ipynb") for n in names))
            if unknown:
                raise ValueError(f"unknown parameter(s) {sorted(unknown)}: no notebook declares them")
            nb_params = {k: v for k, v in {**base, **params}.items() if k in accepted}
            progress(f"[{i}/{len(names)}] {name} …")
            t0 = time.perf_counter()
            _execute(src, work / f"{name}.ipynb", nb_params, log)
            timings[name] = round(time.perf_counter() - t0, 2)
            progress(f"[{i}/{len(names)}] {name} done in {timings[name]:.1f} s")
            log.info("notebook %s ok in %.2f s", name, timings[name])

        results_path = write_results_json(work)
        results = json.loads(results_path.read_text())
        dq = results.get("data_quality", {})
        meta = {"survey": cb.survey.name, "wave": wave, "date": date.today().isoformat(),
                "n": dq.get("n_clean"), "n_raw": dq.get("n_raw"), "input_sha256": input_hash,
                "version": __version__}
        progress("building findings.html and findings.pdf …")
        t0 = time.perf_counter()
        from .report import build_report

        ordered = [work / f"{n}.ipynb" for n in REPORT_ORDER if n in names]
        build_report(ordered, work / "findings.html", work / "findings.pdf", meta, page_size=page_size)
        timings["report"] = round(time.perf_counter() - t0, 2)
        manifest = {
            "survey": cb.survey.name, "wave": wave, "data_file": data_path.name, "codebook_file": codebook_path.name,
            "input_sha256": input_hash, "codebook_sha256": file_sha256(codebook_path),
            "parameters": {k: v for k, v in {**base, **params}.items() if k not in ("output_dir",)},
            "notebooks": names, "timings_seconds": timings, "packages": package_versions(),
            "dropped_pii_columns": survey.dropped_pii, "previous_wave_results": str(previous) if previous else None,
        }
        (work / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        log.info("report built; publishing to %s", final)
    except BaseException as exc:
        failed = _keep_failed(work, final)
        if isinstance(exc, NotebookFailed):
            exc.kept = failed
            raise NotebookFailed(exc.notebook, exc.cell, exc.detail, failed) from None
        raise

    _publish(work, final)
    if not out:
        _relink(survey_dir / "latest", final.name)
        _relink(reports / "latest", os.path.relpath(final, reports))
    return RunResult(run_dir=final, pdf=final / "findings.pdf", results=final / "results.json", timings=timings)


def _execute(src: Path, dst: Path, parameters: dict, log: logging.Logger) -> None:
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    try:
        pm.execute_notebook(str(src), str(dst), parameters=parameters, cwd=str(src.parent),
                            kernel_name="python3", progress_bar=False, log_output=False,
                            request_save_on_cell_execute=False,
                            # the kernel's own start-up chatter is not the analyst's business
                            extra_arguments=["--IPKernelApp.log_level=CRITICAL"])
    except PapermillExecutionError as exc:
        log.error("notebook %s failed at cell %s: %s: %s", src.stem, exc.exec_count, exc.ename, exc.evalue)
        raise NotebookFailed(src.stem, exc.exec_count, f"{exc.ename}: {exc.evalue}", dst) from None


def _keep_failed(work: Path, final: Path) -> Path:
    """Move a failed build to <survey>/_failed/<wave> (replacing an older failure)."""
    dest = final.parent / "_failed" / final.name
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.exists():
        shutil.rmtree(dest)
    if work.exists():
        os.replace(work, dest)
    return dest


def _publish(work: Path, final: Path) -> None:
    """Swap the new run into place; the old one is removed only after the rename succeeded."""
    old = None
    if final.exists():
        old = final.parent / f".{final.name}.old-{os.getpid()}"
        os.replace(final, old)
    os.replace(work, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _previous_results(survey_dir: Path, final: Path) -> Path | None:
    """results.json of the published wave of this survey that comes just before this one.

    Wave labels sort in time order (2026-Q3 < 2026-Q4, 2026-09 < 2026-10), so rerunning an old wave
    compares it with the wave before it, never with a later one or with itself."""
    runs = sorted(p.parent.name for p in survey_dir.glob("*/results.json")
                  if not p.parent.is_symlink() and not p.parent.name.startswith((".", "_")))
    earlier = [name for name in runs if name < final.name]
    return survey_dir / earlier[-1] / "results.json" if earlier else None
