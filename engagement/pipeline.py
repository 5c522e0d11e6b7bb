"""Run the numbered notebooks with papermill into a run folder, then publish it atomically.

Layout under `reports/`:

    reports/<survey>/<wave>/            one published run: executed notebooks, findings.html,
                                        findings.pdf, results.json, manifest.json, run.log, …
    reports/<survey>/latest -> <wave>   the newest published wave in wave order (config.wave_sort_key)
    reports/latest -> <survey>/<wave>   that of the survey published last
    reports/<survey>/_failed/<wave>/    the last failed attempt, kept for debugging
    reports/<survey>/.lock              held (fcntl) by the run of this survey going on

<survey> and <wave> are `folder_name(label)`: the label itself when it is a safe name, otherwise a
readable part and a hash of the label, so that two labels never share a folder.

Every input (options, parameters and their types, paths, encodings, labels, output folder, codebook,
data, screening and margins) is checked by `plan_run` before anything is written (bad input: exit
code 2). A run is built in a hidden temporary folder beside its destination and renamed into place
only when every notebook, results.json and the PDF are done, so a failed or interrupted run never
touches the previous good report. SIGTERM/SIGINT stop the kernels, remove their connection files and
the unfinished build; what a killed (SIGKILL) run leaves is removed when the next run starts.

Layout: the checks are in engagement.pipeline_checks, the folders, lock and publishing in
engagement.pipeline_folders, notebook execution and signals in engagement.pipeline_exec, the errors
in engagement.pipeline_errors; this module runs the pipeline (`run_pipeline`) and re-exports them.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from importlib import metadata
from pathlib import Path

from . import __version__, config
from .ingest import file_sha256
# the up-front checks, the run folders, the notebook execution and the errors live in their own
# modules (issue 13); every name is re-exported here
from .pipeline_checks import (  # noqa: F401  (re-exported)
    _check_data, _check_input_file, check_params, _check_utf8, _check_writable, _declared_cached,
    _declared_parameters, _kind, notebook_parameters, NOTEBOOK_NEEDS, NOTEBOOKS, PAGE_SIZES, PIPELINE_PARAMETERS, plan_run,
    release_freed_memory,
    RunPlan, _TYPE_WORDS,
)
from .pipeline_errors import (  # noqa: F401  (re-exported)
    clip, NotebookFailed, RunInputError, RunInterrupted, RunLocked, RunResult,
)
from .pipeline_exec import (  # noqa: F401  (re-exported)
    _catch_signals, _execute, _in_workers, _kernels, _reaped, _restore_signals, _RUNTIME_DIR, _set_handlers,
    papermill_log_to, _stop_kernels,
)
from .pipeline_kernels import KernelPool, shutdown_kernel
from .pipeline_folders import (  # noqa: F401  (re-exported)
    folder_name, _keep_failed, LOCK_FILE, MAX_FOLDER_CHARS, _newest_wave, _pid_alive, _previous_results,
    _publish, _published_waves, _relink, remove_stale_builds, slug, _STALE, survey_lock,
)
from .prepare import VALIDATED, write_validated
from .results import CLEAN_SOURCE, RESPONDENT_LEVEL_FILES, write_results_json

#: order of sections in the PDF: findings first (executive summary, claims ledger), methods last
REPORT_ORDER = ["90-findings", "10-channel-preferences", "20-loyalty-ces-vs-csat", "30-personas", "00-data-quality"]
PACKAGES = ["engagement", "numpy", "pandas", "scipy", "statsmodels", "scikit-learn", "stepmix", "weightipy",
            "matplotlib", "seaborn", "UpSetPlot", "papermill", "nbconvert", "weasyprint", "pydantic", "pyreadstat"]
#: test hook: seconds to pause just before publishing (so that a test can interrupt a run there)
PAUSE_BEFORE_PUBLISH_ENV = "ENGAGEMENT_TEST_PAUSE_BEFORE_PUBLISH"


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
    respondent_data: bool = True,
    wait: float = 0,
    progress=print,
    lang: str | None = None,
    jobs: int | None = None,
) -> RunResult:
    """Run the whole pipeline. Raises InputError (bad input or survey busy, nothing written),
    NotebookFailed (failed notebook kept in `_failed/`) or RunInterrupted (SIGTERM/SIGINT).

    One run per survey at a time: a run holds `reports/<survey>/.lock` (fcntl) from before its
    previous-wave lookup until `latest` is moved; another run of the same survey waits up to `wait`
    seconds for it, then stops with RunLocked (exit 2).

    `jobs` notebooks run side by side where they do not read each other's output (NOTEBOOK_NEEDS);
    default: `default_jobs()`. The results do not depend on it."""
    t0 = time.perf_counter()
    plan = plan_run(data_path, codebook_path, out=out, wave=wave, params=params, notebooks=notebooks,
                    page_size=page_size, reports_dir=reports_dir)
    validation = round(time.perf_counter() - t0, 2)  # reading and validating the inputs, once
    lock_dir = plan.survey_dir if plan.publish_links else plan.final.parent
    with survey_lock(lock_dir / (LOCK_FILE if plan.publish_links else f".{plan.final.name}.lock"),
                     plan.codebook.survey.name, wait, progress):
        remove_stale_builds(plan.final.parent)
        if plan.publish_links:
            remove_stale_builds(plan.reports)
        return _run(plan, respondent_data=respondent_data, progress=progress, lang=lang,
                    jobs=default_jobs() if jobs is None else jobs, validation=validation)


def _notebook_body(path: Path) -> None:
    """Convert an executed notebook for the report ahead of time (report.notebook_body keeps it);
    a failure here is left to the report step, which converts again and reports it."""
    try:
        from .report import notebook_body

        notebook_body(path)
    except Exception:  # noqa: BLE001
        pass


def default_jobs() -> int:
    """Notebooks side by side: two where there are two cores (each kernel's numerical work is
    single-threaded or nearly), else one."""
    return 2 if (os.cpu_count() or 1) >= 2 else 1


def _run(plan: RunPlan, *, respondent_data: bool, progress, lang: str | None = None, jobs: int = 1,
         warm_kernels: bool = True, validation: float | None = None) -> RunResult:
    cb, final, work = plan.codebook, plan.final, plan.final.parent / f".{plan.final.name}.building-{os.getpid()}"
    if work.exists():
        shutil.rmtree(work)
    work.mkdir()
    log = _setup_log(work / "run.log")
    if plan.survey is not None:  # validated once (plan_run); notebook 00 takes it from here
        write_validated(plan.survey, work)
        plan.survey = None
        release_freed_memory()
    log.info("run: data=%s codebook=%s wave=%s sha256=%s", plan.data_path.name, plan.codebook_path.name,
             plan.wave, plan.input_hash)
    if plan.dropped_pii:
        log.info("personal-data columns dropped: %s", ", ".join(plan.dropped_pii))
    for note in plan.ingest_notes:  # names only: the values never leave ingest
        log.info("%s", note)

    previous = _previous_results(plan.survey_dir, plan.wave, final)
    base = {"data_path": str(plan.data_path), "codebook_path": str(plan.codebook_path), "output_dir": str(work),
            "seed": plan.seed, "wave": plan.wave, "previous_results": str(previous) if previous else ""}
    params = plan.params
    names = plan.notebooks
    timings: dict[str, float] = {} if validation is None else {"validation": validation}
    timeline: dict[str, list[float]] = {}  # notebook -> [start, end], seconds from the first notebook's start
    # Kernels write their connection files (which hold the kernel's key) into a folder of this run,
    # removed at the end whatever happens; a killed run's folder goes at the next run's start.
    # (jupyter_client makes them with tempfile.mkstemp, hence the process's temp folder is redirected.)
    runtime = Path(tempfile.mkdtemp(prefix=f"engagement-kernels-{os.getpid()}-"))
    saved_env, saved_tempdir = os.environ.get("JUPYTER_RUNTIME_DIR"), tempfile.tempdir
    os.environ["JUPYTER_RUNTIME_DIR"] = str(runtime)
    tempfile.tempdir = str(runtime)
    _RUNTIME_DIR.append(str(runtime))
    handlers = _catch_signals()
    try:
        started: dict[str, float] = {}
        number = {name: i for i, name in enumerate(names, 1)}

        def on_start(name: str) -> None:
            started[name] = time.perf_counter()
            timeline[name] = [round(started[name] - t_notebooks, 2)]
            progress(f"[{number[name]}/{len(names)}] {name} …")

        def on_done(name: str) -> None:
            if pool:
                pool.refill()
            if name in REPORT_ORDER:  # its part of the report is converted while the others run
                prepare.submit(_notebook_body, work / f"{name}.ipynb")
            timings[name] = round(time.perf_counter() - started[name], 2)
            timeline[name].append(round(time.perf_counter() - t_notebooks, 2))
            progress(f"[{number[name]}/{len(names)}] {name} done in {timings[name]:.1f} s")
            log.info("notebook %s ok in %.2f s", name, timings[name])

        sources = {name: config.NOTEBOOKS_DIR / f"{name}.ipynb" for name in names}

        def execute(name: str) -> None:
            accepted = notebook_parameters(sources[name])
            nb_params = {k: v for k, v in {**base, **params}.items() if k in accepted}
            km = pool.take(name) if pool else None
            try:
                _execute(sources[name], work / f"{name}.ipynb", nb_params, log, km=km)
            finally:  # papermill's engine shuts a handed kernel down; this covers a failure before it
                if km is not None:
                    shutdown_kernel(km)

        t_notebooks = time.perf_counter()
        # one background thread prepares the report while notebooks run: each executed notebook's
        # HTML (the first also imports engagement.report; not at the start, where the first
        # notebook's kernel start-up is the critical path)
        prepare = ThreadPoolExecutor(max_workers=1, thread_name_prefix="engagement-report")
        # kernels of the next notebooks start (and import) while the current ones run
        pool = KernelPool(sources, ahead=jobs) if warm_kernels else None
        try:
            with papermill_log_to(log):
                _in_workers(names, NOTEBOOK_NEEDS, execute, workers=jobs, on_start=on_start, on_done=on_done,
                            folder=work)
        finally:
            if pool:
                pool.close()
            prepare.shutdown(wait=True, cancel_futures=True)
            (work / VALIDATED).unlink(missing_ok=True)  # respondent-level: never published
        timings["notebooks_wall"] = round(time.perf_counter() - t_notebooks, 2)
        log.info("notebooks done in %.2f s (%d side by side at most)", timings["notebooks_wall"], jobs)

        results_path = write_results_json(work)
        results = json.loads(results_path.read_text())
        degraded = results.get("degraded", {}) or {}
        for section, reason in sorted(degraded.items()):
            log.warning("not estimated: %s: %s", section, reason)
        dq = results.get("data_quality", {})
        meta = {"survey": cb.survey.name, "wave": plan.wave, "date": date.today().isoformat(),
                "n": dq.get("n_clean"), "n_raw": dq.get("n_raw"), "input_sha256": plan.input_hash,
                "version": __version__, "previous_wave": previous.parent.name if previous else None}
        progress("building findings.html and findings.pdf …")
        t0 = time.perf_counter()
        from .report import build_report

        ordered = [work / f"{n}.ipynb" for n in REPORT_ORDER if n in names]
        # the brief opens the PDF: from results.json, in --lang or the codebook's language
        build_report(ordered, work / "findings.html", work / "findings.pdf", meta, page_size=plan.page_size,
                     results=results, codebook=cb, lang=lang, logger=log)
        timings["report"] = round(time.perf_counter() - t0, 2)
        if not respondent_data:
            for fname in [*RESPONDENT_LEVEL_FILES, CLEAN_SOURCE]:
                (work / fname).unlink(missing_ok=True)
            log.info("respondent-level files not published (--no-respondent-data): %s",
                     ", ".join(RESPONDENT_LEVEL_FILES))
        manifest = {
            "survey": cb.survey.name, "wave": plan.wave, "data_file": plan.data_path.name,
            "codebook_file": plan.codebook_path.name,
            "input_sha256": plan.input_hash, "codebook_sha256": file_sha256(plan.codebook_path),
            # customer records joined to the survey (issue 15): each extract's file and bytes
            "extracts": {ex.name: {"file": ex.file, "sha256": file_sha256(
                Path(ex.file) if Path(ex.file).is_absolute() else plan.data_path.parent / ex.file)}
                for ex in cb.extracts},
            "parameters": {k: v for k, v in {**base, **params}.items() if k not in ("output_dir",)},
            "notebooks": names, "timings_seconds": timings, "timeline_seconds": timeline, "packages": package_versions(),
            "dropped_pii_columns": plan.dropped_pii,
            "previous_wave_results": str(previous) if previous else None,
            "degraded": degraded,
            "respondent_level_files": sorted(f for f in RESPONDENT_LEVEL_FILES if (work / f).exists()),
        }
        (work / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
        log.info("report built; publishing to %s", final)
        progress("publishing …")
        pause = float(os.environ.get(PAUSE_BEFORE_PUBLISH_ENV) or 0)
        if pause:
            time.sleep(pause)
    except RunInterrupted:
        _stop_kernels()
        shutil.rmtree(work, ignore_errors=True)  # an interrupted build is debris, not a failure to debug
        _restore_signals(handlers)
        raise
    except BaseException as exc:
        _stop_kernels()
        failed = _keep_failed(work, final)
        if not respondent_data:
            for fname in RESPONDENT_LEVEL_FILES:
                (failed / fname).unlink(missing_ok=True)
        _restore_signals(handlers)
        if isinstance(exc, NotebookFailed):
            raise NotebookFailed(exc.notebook, exc.cell, exc.detail, failed) from None
        raise
    finally:
        _RUNTIME_DIR.remove(str(runtime))
        tempfile.tempdir = saved_tempdir
        shutil.rmtree(runtime, ignore_errors=True)
        if saved_env is None:
            os.environ.pop("JUPYTER_RUNTIME_DIR", None)
        else:
            os.environ["JUPYTER_RUNTIME_DIR"] = saved_env

    # Publishing is not interrupted half-way: a signal now is honoured once `latest` has moved.
    deferred: list[int] = []
    _set_handlers(handlers, lambda signum, frame: deferred.append(signum))
    try:
        _publish(work, final)
        if plan.publish_links:
            newest = _newest_wave(plan.survey_dir) or final.name
            _relink(plan.survey_dir / "latest", newest)
            _relink(plan.reports / "latest", os.path.relpath(plan.survey_dir / newest, plan.reports))
    finally:
        _restore_signals(handlers)
    if deferred:
        raise RunInterrupted(deferred[0], published=True)
    return RunResult(run_dir=final, pdf=final / "findings.pdf", results=final / "results.json", timings=timings,
                     degraded=degraded)

