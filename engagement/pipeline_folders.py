"""Run folders of the pipeline (engagement.pipeline): `folder_name` for survey and wave labels, the
per-survey lock (`survey_lock`), removal of what killed runs left (`remove_stale_builds`), atomic
publishing and `latest` links, the `_failed/` copy, and the published waves (previous / newest wave).
Re-exported by engagement.pipeline.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import tempfile
import time
import unicodedata
from pathlib import Path

from . import config
from .pipeline_errors import RunInputError, RunLocked, clip


#: longest readable part of a folder name (characters; UTF-8 bytes are kept under 180 as well)
MAX_FOLDER_CHARS = 64

LOCK_FILE = ".lock"



def folder_name(label: str, what: str = "wave") -> str:
    """The folder of a survey or wave label: the label itself when it is a safe name, else a readable
    part and a short hash of the label, so that two different labels never share a folder.

    A safe name is NFC Unicode letters, marks and digits (Korean and Japanese stay readable) with
    `-`, `_` and `.` inside, at most 64 characters: `2026-Q4`, `2026_Q4`, `2026.Q4` and `고객조사` are
    kept as they are. Anything else gets `~` and 10 hex digits of the label's SHA-256 after its
    readable part: `2026 Q4` -> `2026-Q4~<hash>`, `2026/Q4` -> `2026-Q4~<other hash>`; safe names
    never contain `~`, so a hashed folder cannot equal a kept one. `latest`, `_failed` and names
    starting with `.` are the pipeline's own and are refused."""
    text = unicodedata.normalize("NFC", str(label))
    subject = f"{what} label {clip(label)}"
    if not text.strip():
        raise RunInputError(subject, "a non-empty name")
    stripped = text.strip()
    if stripped.casefold() in config.RESERVED_LABELS or stripped.startswith("."):
        raise RunInputError(subject, "a name other than 'latest' or '_failed' and not starting with '.' "
                                     "(those are the pipeline's own folders)")
    chars = [c if unicodedata.category(c)[0] in "LNM" or c in "-_." else "-" for c in text]
    readable = re.sub(r"-{2,}", "-", "".join(chars)).strip("-.")
    while len(readable) > MAX_FOLDER_CHARS or len(readable.encode("utf-8")) > 180:
        readable = readable[:-1]
    readable = readable.rstrip("-.")
    if readable == text:
        return text
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:10]
    return f"{readable or what}~{digest}"



def slug(text: str, lower: bool = True) -> str:  # kept for callers outside the pipeline
    """Deprecated: use `folder_name`, which cannot make two labels collide."""
    s = re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-")
    return (s.lower() if lower else s)[:60] or "survey"



def _relink(link: Path, target: str) -> None:
    """Point `link` at `target` atomically (a new symlink renamed over the old one)."""
    tmp = link.with_name(f".{link.name}.tmp-{os.getpid()}")
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    tmp.symlink_to(target)
    os.replace(tmp, link)



@contextlib.contextmanager
def survey_lock(path: Path, survey: str, wait: float = 0, progress=print):
    """Hold an exclusive fcntl lock on `path` (the file stays; its content is the holder's pid)."""
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    fh = open(path, "a+")
    try:
        deadline = time.monotonic() + max(0.0, float(wait))
        told = False
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                fh.seek(0)
                holder = fh.read().strip() or "?"
                if time.monotonic() >= deadline:
                    waited = f" after waiting {wait:g} s" if wait else ""
                    raise RunLocked(f"survey {clip(survey)}",
                                    f"another run (pid {holder}) is running it{waited}; nothing was written. "
                                    "Retry when it ends, or pass --wait SECONDS") from None
                if not told:
                    progress(f"waiting for the run of pid {holder} on this survey to finish …")
                    told = True
                time.sleep(0.2)
        fh.seek(0)
        fh.truncate()
        fh.write(f"{os.getpid()}\n")
        fh.flush()
        yield
    finally:
        fh.close()  # releases the lock



def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True



_STALE = re.compile(r"\..+\.(?:building|old|tmp)-(\d+)")



def remove_stale_builds(folder: Path) -> list[Path]:
    """Remove `.WAVE.building-PID`, `.WAVE.old-PID` and `.latest.tmp-PID` left by dead processes (a
    killed run), and their kernels' connection-file folders in the temp folder. Returns what went."""
    gone = []
    candidates = list(folder.glob(".*")) if folder.is_dir() else []
    candidates += list(Path(tempfile.gettempdir()).glob("engagement-kernels-*"))
    for p in candidates:
        m = _STALE.fullmatch(p.name) or re.fullmatch(r"engagement-kernels-(\d+)-.*", p.name)
        if not m:
            continue
        pid = int(m.group(1))
        if pid != os.getpid() and _pid_alive(pid):
            continue
        if p.is_symlink() or p.is_file():
            p.unlink(missing_ok=True)
        else:
            shutil.rmtree(p, ignore_errors=True)
        gone.append(p)
    return gone



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



def _published_waves(survey_dir: Path) -> dict[str, str]:
    """folder -> wave label of every published run of a survey (the label from its manifest)."""
    out = {}
    if not survey_dir.is_dir():
        return out
    for results in survey_dir.glob("*/results.json"):
        run = results.parent
        if run.is_symlink() or run.name.startswith((".", "_")):
            continue
        try:
            label = json.loads((run / "manifest.json").read_text()).get("wave") or run.name
        except (OSError, ValueError):
            label = run.name
        out[run.name] = str(label)
    return out



def _newest_wave(survey_dir: Path) -> str | None:
    """Folder of the last published wave in wave order (`config.wave_sort_key`)."""
    waves = _published_waves(survey_dir)
    return max(waves, key=lambda f: config.wave_sort_key(waves[f])) if waves else None



def _previous_results(survey_dir: Path, wave: str, final: Path | None = None) -> Path | None:
    """results.json of the published wave of this survey that comes just before `wave` in wave order
    (`config.wave_sort_key`: 2026-Q3 < 2026-Q4 < 2027-Q1), so rerunning an old wave compares it with
    the wave before it, never with a later one or with itself, whatever order the runs finished in."""
    key = config.wave_sort_key(wave)
    earlier = {f: w for f, w in _published_waves(survey_dir).items()
               if config.wave_sort_key(w) < key and (final is None or f != final.name)}
    if not earlier:
        return None
    folder = max(earlier, key=lambda f: config.wave_sort_key(earlier[f]))
    return survey_dir / folder / "results.json"
