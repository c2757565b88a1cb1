"""Lint's scratch folder (helm lint's shadow copies): in memory, owned, budgeted, and cleaned after killed runs.

The folder lives in ``/dev/shm`` when there is one (``catalog-gen-lint-*``).
Its owner holds an flock on ``.owner`` inside it for the whole run; the kernel
drops that lock when the owner dies, however it dies. Every run first removes
the scratch folders whose ``.owner`` it can lock: those of runs that were
killed. The folder is removed on every ordinary exit (exceptions, Ctrl-C and
SIGTERM included). Its size is bounded: shadow copies hold one chart at a time
per process, each under ``chartfiles.MAX_CHART_BYTES``, written from files that
``chartfiles.survey`` let through.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

PREFIX = "catalog-gen-lint-"
OWNER = ".owner"


def parent() -> str | None:
    shm = "/dev/shm"
    return shm if os.path.isdir(shm) and os.access(shm, os.W_OK) else None


def remove_abandoned(where: str | None) -> list[Path]:
    """Remove scratch folders of killed runs in ``where`` (default temp dir); the ones removed."""
    base = Path(where or tempfile.gettempdir())
    removed = []
    try:
        candidates = sorted(p for p in base.iterdir() if p.name.startswith(PREFIX))
    except OSError:
        return removed
    for folder in candidates:
        try:
            if folder.is_symlink() or not folder.is_dir():
                continue
            fd = os.open(folder / OWNER, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
        except OSError:
            continue  # not ours to judge (another user's, or being created right now)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            continue  # its run is alive
        finally:
            os.close(fd)
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed


@contextlib.contextmanager
def scratch_folder() -> Iterator[str]:
    where = parent()
    remove_abandoned(where)
    folder = tempfile.mkdtemp(prefix=PREFIX, dir=where)
    fd = os.open(os.path.join(folder, OWNER), os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        os.close(fd)
