"""Warm kernels for a pipeline run (issue 11: fixed cost per notebook).

A fresh kernel costs a process start and then the notebook's import cell (pandas, matplotlib,
statsmodels, scikit-learn, the study modules): seconds of every notebook's time that are not
analysis. `KernelPool` starts the kernel of the next notebooks while the current ones run, and
runs in it, silently (no output, no execution count, nothing in the executed notebook), the
`import` statements of that notebook's first code cell. papermill then executes the notebook,
every cell as written, in that kernel through the `WARM_ENGINE` engine, which shuts the kernel
down afterwards as papermill's own engine does. The notebooks are unchanged: each still runs on its
own in JupyterLab and under nbval, and the executed notebooks are the same.

Any failure to warm a kernel (it dies, an import fails) only means the notebook gets a fresh kernel
from papermill the usual way, where the same failure is reported as a notebook failure.
"""

from __future__ import annotations

import ast
import asyncio
import json
import threading
from pathlib import Path

#: papermill engine name of `_WarmKernelEngine`
WARM_ENGINE = "engagement-warm"
#: the kernel's own start-up chatter is not the analyst's business
KERNEL_ARGUMENTS = ["--IPKernelApp.log_level=CRITICAL"]
#: seconds allowed for a kernel to start and import a notebook's modules
WARM_TIMEOUT = 180


def import_code(notebook: Path) -> str:
    """The import statements of the notebook's first code cell (its imports cell), as code."""
    nb = json.loads(Path(notebook).read_text(encoding="utf-8"))
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "code":
            source = "".join(cell.get("source", []))
            try:
                tree = ast.parse(source)
            except SyntaxError:
                return ""
            return "\n".join(ast.unparse(node) for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom)))
    return ""


async def _start_warm(cwd: str, code: str):
    from jupyter_client.manager import AsyncKernelManager

    km = AsyncKernelManager(kernel_name="python3")
    await km.start_kernel(extra_arguments=KERNEL_ARGUMENTS, cwd=cwd)
    kc = km.client()
    kc.start_channels()
    try:
        await kc.wait_for_ready(timeout=WARM_TIMEOUT)
        if code:
            # silent: no output and no execution count, so the executed notebook shows nothing of it
            msg_id = kc.execute(code, silent=True, store_history=False)
            while True:
                reply = await kc.get_shell_msg(timeout=WARM_TIMEOUT)
                if reply["parent_header"].get("msg_id") == msg_id:
                    break
            if reply["content"].get("status") != "ok":
                raise RuntimeError(f"warm-up imports failed: {reply['content'].get('ename')}")
    except BaseException:
        kc.stop_channels()
        await km.shutdown_kernel(now=True)
        raise
    kc.stop_channels()
    return km


async def _shutdown(km) -> None:
    if await km.is_alive():
        await km.shutdown_kernel(now=True)
    await km.cleanup_resources()


def shutdown_kernel(km) -> None:
    """Shut a kernel down if it is still running (a kernel already gone needs nothing)."""
    try:
        asyncio.run(_shutdown(km))
    except Exception:  # noqa: BLE001
        pass


class KernelPool:
    """Kernels warmed ahead for the notebooks `names` (in the order they will be taken), at most
    `ahead` warming or waiting at a time. `take(name)` returns the warm kernel manager for that
    notebook (waiting for it if it is still warming) or None when it could not be warmed."""

    def __init__(self, notebooks: dict[str, Path], ahead: int = 2):
        self._notebooks = dict(notebooks)
        self._order = list(notebooks)
        self._ahead = max(1, ahead)
        self._lock = threading.Lock()
        self._slots: dict[str, dict] = {}  # name -> {"thread", "km", "error"}
        self._closed = False
        self._fill()

    def _fill(self) -> None:
        with self._lock:
            waiting = sum(1 for s in self._slots.values() if not s.get("taken"))
            for name in self._order:
                if waiting >= self._ahead or self._closed:
                    break
                if name not in self._slots:
                    self._slots[name] = self._warm(name)
                    waiting += 1

    def _warm(self, name: str) -> dict:
        slot: dict = {}
        path = self._notebooks[name]

        def target():
            try:
                slot["km"] = asyncio.run(_start_warm(str(path.parent), import_code(path)))
            except BaseException as exc:  # the notebook then starts its own kernel
                slot["error"] = exc

        slot["thread"] = threading.Thread(target=target, name=f"engagement-warm-{name}", daemon=True)
        slot["thread"].start()
        return slot

    def take(self, name: str):
        with self._lock:
            slot = self._slots.setdefault(name, {})
            slot["taken"] = True
        thread = slot.get("thread")
        if thread is not None:
            thread.join(WARM_TIMEOUT + 10)
        return slot.get("km")

    def refill(self) -> None:
        """Start warming the next kernels (call when a notebook ends): not on `take`, so that the
        next warm-ups do not compete with the notebook just started, whose first cells are the run's
        critical path (00 until its analysis table is written)."""
        self._fill()

    def close(self) -> None:
        """Shut down the kernels warmed and never taken."""
        with self._lock:
            self._closed = True
            slots = [s for s in self._slots.values() if not s.get("taken")]
        for slot in slots:
            if slot.get("thread") is not None:
                slot["thread"].join(WARM_TIMEOUT + 10)
            if slot.get("km") is not None:
                shutdown_kernel(slot["km"])


def register_warm_engine() -> None:
    """papermill's nbclient engine, executing in a kernel that was started (and warmed) beforehand
    and shutting it down at the end (papermill's own engine owns its kernel; this one is handed it)."""
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine, papermill_engines
    from papermill.log import logger
    from papermill.utils import merge_kwargs, remove_args

    if WARM_ENGINE in papermill_engines._engines:
        return

    class _WarmKernelEngine(NBClientEngine):
        @classmethod
        def execute_managed_notebook(cls, nb_man, kernel_name, log_output=False, stdout_file=None,
                                     stderr_file=None, start_timeout=60, execution_timeout=None, **kwargs):
            kwargs = remove_args(["input_path", "timeout", "startup_timeout"], **kwargs)
            final = merge_kwargs(kwargs, timeout=execution_timeout, startup_timeout=start_timeout,
                                 kernel_name=kernel_name, log=logger, log_output=log_output,
                                 stdout_file=stdout_file, stderr_file=stderr_file)
            # cleanup_kc: stop the client and shut the handed kernel down, as for an owned one; at once
            # (every output is in by then): a graceful shutdown took 1-3 s per notebook, measured
            final["shutdown_kernel"] = "immediate"
            return PapermillNotebookClient(nb_man, **final).execute(cleanup_kc=True)

    papermill_engines.register(WARM_ENGINE, _WarmKernelEngine)
