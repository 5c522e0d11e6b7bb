"""Handing freed memory back to the system between the big steps of a run (issue 11)."""

from __future__ import annotations

import os

#: below this resident size there is nothing worth handing back, and a full garbage collection in a
#: kernel full of imported modules costs ≈ 0.1 s a call (0.7 s of a default-size ingest, measured)
RELEASE_ABOVE_BYTES = 512 * 2**20


def _resident_bytes() -> int | None:
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError, AttributeError):  # not Linux: unknown
        return None


def release_freed_memory() -> None:
    """Hand freed memory back to the system: glibc and Arrow's allocator (the extracts' text)
    otherwise keep it resident (1.4 GB at a million respondents, measured) while the next step or,
    in `engagement run`, every kernel allocates its own. Skipped while the process is small."""
    import ctypes
    import gc

    resident = _resident_bytes()
    if resident is not None and resident < RELEASE_ABOVE_BYTES:
        return
    gc.collect()
    try:
        import pyarrow

        pyarrow.default_memory_pool().release_unused()
    except ImportError:
        pass
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc (macOS, musl): nothing to trim
        pass
