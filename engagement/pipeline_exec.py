"""Executing the notebooks of a pipeline run (engagement.pipeline): papermill in a worker thread
(`_execute`, `_in_workers`: side by side where the notebooks allow) while the main thread takes SIGTERM/SIGINT (`_catch_signals`), and
stopping this run's kernels (`_stop_kernels`). Re-exported by engagement.pipeline.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
import time
from pathlib import Path

from .pipeline_errors import NotebookFailed, RunInterrupted
from .pipeline_folders import _pid_alive


def _catch_signals() -> dict:
    """SIGTERM and SIGINT raise RunInterrupted in the main thread (elsewhere: left as they are)."""
    if threading.current_thread() is not threading.main_thread():
        return {}

    def interrupt(signum, frame):
        _set_handlers(saved, lambda *_: None)  # a second signal must not cut the clean-up short
        raise RunInterrupted(signum)

    saved = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    _set_handlers(saved, interrupt)
    return saved



def _set_handlers(saved: dict, handler) -> None:
    for s in saved:
        signal.signal(s, handler)



def _restore_signals(saved: dict) -> None:
    for s, h in saved.items():
        signal.signal(s, h if h is not None else signal.SIG_DFL)



def _in_workers(names: list[str], needs: dict[str, tuple[str, ...] | dict[str, str | None]], fn, workers: int = 1,
                on_start=None, on_done=None, folder: Path | None = None) -> None:
    """Run `fn(name)` for every name, each in a worker thread, at most `workers` at a time, a name
    only once the names it needs (among `names`) are done; the order of `names` is the order of
    starting when several are ready. A need given as {name: file} is met earlier, as soon as `file`
    exists in `folder`: the notebook reads only that file of the other, which writes it atomically
    before it ends (a notebook that needs another's results section needs it done: file None). The main thread stays free to take SIGTERM/SIGINT: nbclient
    installs its own signal handlers only in the main thread; in a worker it does not, so a signal
    reaches `_catch_signals`, which stops the kernels and removes the build. The first failure stops the run: the other notebooks' kernels are stopped and
    that failure is raised (what it caused in the others is not)."""
    done: set[str] = set()
    running: dict[str, tuple[threading.Thread, dict]] = {}
    finished: list[str] = []  # names whose thread has ended, in order (appended by the threads)
    wake = threading.Event()

    def met(dep: str, file: str | None) -> bool:
        return dep in done or dep not in names or (file is not None and folder is not None and (folder / file).exists())

    def ready(name: str) -> bool:
        want = needs.get(name, ())
        want = want if isinstance(want, dict) else dict.fromkeys(want)
        return all(met(dep, file) for dep, file in want.items())

    def start(name: str) -> None:
        box: dict = {}

        def target():
            try:
                box["value"] = fn(name)
            except BaseException as exc:  # handed to the main thread
                box["error"] = exc
            finished.append(name)
            wake.set()

        worker = threading.Thread(target=target, name=f"engagement-{name}", daemon=True)
        running[name] = (worker, box)
        if on_start:
            on_start(name)
        worker.start()

    try:
        while len(done) < len(names):
            for name in names:
                if len(running) >= max(1, workers):
                    break
                if name not in done and name not in running and ready(name):
                    start(name)
            if not running:  # nothing can start: a dependency cycle (a programming error)
                raise RuntimeError(f"notebooks {sorted(set(names) - done)} wait for each other")
            wake.wait(0.2)  # a thread ending sets it; otherwise look again for a file that appeared
            wake.clear()
            while finished:
                name = finished.pop(0)
                worker, box = running.pop(name)
                worker.join()
                if "error" in box:
                    if running:
                        _stop_kernels()
                        for other, _ in running.values():
                            other.join(15)
                    raise box["error"]
                done.add(name)
                if on_done:
                    on_done(name)
    except RunInterrupted:
        _stop_kernels()
        for worker, _ in running.values():
            worker.join(15)
        raise


#: connection-file folder of the run going on in this process: its kernels name it on their command line
_RUNTIME_DIR: list[str] = []



def _kernels() -> list[int]:
    """Child processes of this process started for this run's notebooks (Linux /proc; elsewhere none)."""
    if not _RUNTIME_DIR:
        return []
    me, marker = str(os.getpid()), _RUNTIME_DIR[-1].encode()
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if fields[1] == me and marker in (stat.parent / "cmdline").read_bytes():
                pids.append(int(stat.parent.name))
        except (OSError, IndexError):
            continue
    return pids



def _stop_kernels(grace: float = 3.0) -> None:
    """Stop the kernels of this run: SIGTERM, then SIGKILL (nbclient would only do it in the main
    thread, and not at all when the process is being stopped)."""
    kids = _kernels()
    for pid in kids:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while kids and time.monotonic() < deadline:
        kids = [p for p in kids if _pid_alive(p) and not _reaped(p)]
        time.sleep(0.05)
    for pid in kids:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)



def _reaped(pid: int) -> bool:
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return done == pid



def _execute(src: Path, dst: Path, parameters: dict, log: logging.Logger, km=None) -> None:
    """Execute one notebook with papermill, in the kernel `km` when one was started for it
    (pipeline_kernels.KernelPool), else in a fresh kernel."""
    import papermill as pm
    from nbclient.exceptions import DeadKernelError
    from papermill.exceptions import PapermillExecutionError

    from .pipeline_kernels import KERNEL_ARGUMENTS, WARM_ENGINE, register_warm_engine

    # the kernel's working folder is the notebook's (relative paths in it resolve as in JupyterLab),
    # given to the kernel rather than by papermill's chdir: notebooks run side by side in threads,
    # and the process has one working folder
    where = {"resources": {"metadata": {"path": str(src.parent)}}}
    if km is not None:
        register_warm_engine()
        where.update(engine_name=WARM_ENGINE, km=km)
    try:
        pm.execute_notebook(str(src), str(dst), parameters=parameters, kernel_name="python3",
                            progress_bar=False, log_output=False, request_save_on_cell_execute=False,
                            extra_arguments=KERNEL_ARGUMENTS, **where)
    except PapermillExecutionError as exc:
        log.error("notebook %s failed at cell %s: %s: %s", src.stem, exc.exec_count, exc.ename, exc.evalue)
        raise NotebookFailed(src.stem, exc.exec_count, f"{exc.ename}: {exc.evalue}", dst) from None
    except DeadKernelError as exc:
        detail = (f"the kernel died (DeadKernelError: {exc}); most often it ran out of memory — "
                  "try a smaller sample or fewer drivers")
        log.error("notebook %s: %s", src.stem, detail)
        if not dst.exists():  # papermill saves nothing when the kernel dies: keep the notebook that was run
            import nbformat

            nb = nbformat.read(src, as_version=4)
            nb.cells.insert(0, nbformat.v4.new_markdown_cell(f"**The kernel died while running this notebook.** {detail}"))
            nbformat.write(nb, dst)
        raise NotebookFailed(src.stem, None, detail, dst) from None


@contextlib.contextmanager
def papermill_log_to(log: logging.Logger):
    """papermill's and nbclient's messages ("Kernel died while waiting for execute reply") go to
    run.log, not to the terminal: the CLI's one line says what happened. Set once for the whole run,
    since notebooks run side by side."""
    pm_log = logging.getLogger("papermill")
    saved = pm_log.handlers[:], pm_log.propagate
    pm_log.handlers, pm_log.propagate = list(log.handlers), False
    try:
        yield
    finally:
        pm_log.handlers, pm_log.propagate = saved
