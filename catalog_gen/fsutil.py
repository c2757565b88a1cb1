"""File-system safety: bounded reads of regular files only, atomic writes, output paths, folder locks.

Inputs in CI come from anyone who can open a pull request, so every read of a
file the user (or a chart, or a catalog) names goes through ``read_regular``:

- only regular files: a FIFO, device, socket or folder is refused before it
  is opened (``stat``), and again on the opened descriptor (``fstat``, same
  inode), so a file swapped for a FIFO in between cannot block us; the open
  itself uses ``O_NONBLOCK`` (a FIFO never blocks the open) and ``O_NOFOLLOW``
  on the resolved path (a symlink swapped in is refused);
- the size limit is enforced while reading: at most ``limit + 1`` bytes are
  read, whatever ``stat`` said (``/proc`` files report 0, devices anything);
- with a ``root``, a path whose real location is outside the root's real
  location (a symlink out of the catalog or chart) is refused.

Refusals raise ``Refused`` with a finding code, so callers turn them into
findings naming the path.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import json
import os
import stat
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Iterator

from catalog_gen.errors import UsageError

_READ_FLAGS = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOCTTY", 0)


class Refused(Exception):
    """A file we will not read. ``code`` is a finding code; ``str()`` says why, without the path."""

    def __init__(self, code: str, message: str, hint: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.hint = hint


def file_kind(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a folder")):
        if test(mode):
            return name
    return "not a regular file"


@functools.lru_cache(maxsize=256)
def _real(folder: str) -> str:
    return os.path.realpath(folder)


def inside(path: str | os.PathLike, root: str | os.PathLike) -> bool:
    """Whether the real location of ``path`` is ``root``'s real location or beneath it."""
    return _inside(os.path.realpath(path), _real(os.fspath(root)))


def _inside(real: str, real_root: str) -> bool:
    return real == real_root or real.startswith(real_root.rstrip(os.sep) + os.sep)


def _refuse_escape(real: str, root: str | os.PathLike) -> None:
    raise Refused("io.symlink-escape", f"is a symlink to {real}, outside {root}",
                  "replace the symlink with the file itself, or point it at a file inside the folder")


def check_path(path: str | os.PathLike, root: str | os.PathLike | None = None) -> os.stat_result:
    """The stat of a path we may read (following symlinks inside ``root``); raises Refused otherwise."""
    if root is not None:
        real = os.path.realpath(path)
        if not _inside(real, _real(os.fspath(root))):
            _refuse_escape(real, root)
    return _stat_regular(path)


def _stat_regular(path: str | os.PathLike) -> os.stat_result:
    try:
        info = os.stat(path)
    except OSError as exc:
        raise Refused("io.read", f"cannot read the file: {exc.strerror}", "check the path and its permissions") from exc
    if not stat.S_ISREG(info.st_mode):
        raise Refused("io.special-file", f"is {file_kind(info.st_mode)}, not a regular file; it is not read",
                      "replace it with a regular file (or remove it)")
    return info


def read_regular(path: str | os.PathLike, limit: int, *, root: str | os.PathLike | None = None) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes; raises Refused for anything else."""
    real = os.path.realpath(path)
    if root is not None and not _inside(real, _real(os.fspath(root))):
        _refuse_escape(real, root)
    before = _stat_regular(real)
    try:
        fd = os.open(real, _READ_FLAGS | os.O_NOFOLLOW)
    except OSError as exc:
        raise Refused("io.read", f"cannot read the file: {exc.strerror}", "check the path and its permissions") from exc
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or (info.st_dev, info.st_ino) != (before.st_dev, before.st_ino):
            raise Refused("io.special-file", f"is {file_kind(info.st_mode)}, not a regular file; it is not read",
                          "replace it with a regular file (or remove it)")
        data = _read_at_most(fd, limit)
    except OSError as exc:
        raise Refused("io.read", f"cannot read the file: {exc.strerror}", "check the path and its permissions") from exc
    finally:
        os.close(fd)
    if data is None:
        raise Refused("io.too-large", f"the file is larger than the {limit} bytes allowed",
                      "split the file or remove generated content")
    return data


def _read_at_most(fd: int, limit: int) -> bytes | None:
    """What the open file holds, or None when it holds more than ``limit`` bytes (reads at most limit+1)."""
    chunks, size = [], 0
    while size <= limit:
        chunk = os.read(fd, min(1 << 20, limit + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks) if size <= limit else None


def read_plain(path: str, limit: int) -> bytes | None:
    """Up to ``limit`` bytes of a regular file that is not a symlink, or None (a FIFO, device,
    symlink, folder, a file larger than ``limit``, or unreadable). Cheap: for files we wrote ourselves."""
    try:
        fd = os.open(path, _READ_FLAGS | os.O_NOFOLLOW)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        return _read_at_most(fd, limit)
    except OSError:
        return None
    finally:
        os.close(fd)


# --- writes --------------------------------------------------------------------------------------


def _umask() -> int:
    try:
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # no /proc: read it by setting it (and back at once)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: Path, data: bytes, mode: int | None = None) -> None:
    """Write via a temporary sibling, fsync, rename; the file gets ``mode`` (default: 0666 less the umask, as open() would)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, mode if mode is not None else 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def check_output_file(output: str) -> Path:
    """The path a report may be written to; a UsageError (exit 2) for a folder or a missing parent folder."""
    path = Path(output)
    if output.endswith(os.sep) or path.is_dir():
        raise UsageError(f"--output {output}: is a folder, not a file", hint=f"name a file, e.g. {path / 'report.txt'}")
    parent = path.parent
    if not parent.is_dir():
        raise UsageError(f"--output {output}: the folder {parent} does not exist",
                         hint=f"create it first (`mkdir -p {parent}`) or write the report elsewhere")
    return path


def write_report(output: str, text: str) -> None:
    """A report file: atomic for regular files (mode 0666 less umask), written in place to a FIFO or device (/dev/stdout)."""
    path = check_output_file(output)
    data = text.encode("utf-8")
    try:
        info = os.stat(path)
    except FileNotFoundError:
        info = None
    if info is not None and not stat.S_ISREG(info.st_mode):  # e.g. /dev/stdout or a pipe: never replace it
        with open(path, "wb") as handle:
            handle.write(data)
        return
    try:
        atomic_write_bytes(path, data)
    except PermissionError as exc:
        raise UsageError(f"--output {output}: {exc.strerror}", hint="write the report to a folder you can write to") from exc


# --- folder locks --------------------------------------------------------------------------------

LOCK_NAME = ".catalog-gen.lock"


class LockBusy(UsageError):
    """Another run holds the folder's lock (exit 2)."""


def _holder(path: Path) -> str:
    try:
        info = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        info = {}
    if not isinstance(info, dict) or "pid" not in info:
        return "another catalog-gen run (one that only reads, e.g. `render --check`)"
    return f"pid {info.get('pid')} (`{info.get('command', '?')}`, started {info.get('started', '?')})"


@contextlib.contextmanager
def locked(folder: Path, *, exclusive: bool = True, timeout: float = 0.0,
           on_wait: Callable[[float, float, str], None] | None = None) -> Iterator[None]:
    """Hold ``folder``'s lock file (flock) for the block: exclusive to write, shared to read.

    A run that finds the lock held waits up to ``timeout`` seconds (telling
    ``on_wait(waited, timeout, holder)`` about it), then raises LockBusy naming
    the holder. The kernel drops the lock when the holder dies, however it dies.
    The lock file is removed on release; a waiter that then holds the lock of a
    removed file notices (another inode at the path) and tries again.
    A read-only folder cannot be locked: readers go on without the lock.
    """
    path = folder / LOCK_NAME
    started = time.monotonic()
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0), 0o644)
        except OSError as exc:
            if not exclusive:
                yield
                return
            raise UsageError(f"cannot lock {folder}: {exc.strerror}", hint="check that the output folder is writable") from exc
        try:
            fcntl.flock(fd, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            waited = time.monotonic() - started
            holder = _holder(path)
            if waited >= timeout:
                raise LockBusy(f"{folder} is in use by {holder}",
                               hint="wait for it to finish, or pass --lock-timeout SECONDS to wait for it") from None
            if on_wait is not None:
                on_wait(waited, timeout, holder)
            time.sleep(min(0.1, max(0.0, timeout - waited)))
            continue
        try:
            if os.fstat(fd).st_ino != os.stat(path).st_ino:
                raise FileNotFoundError  # the holder removed the file as we opened it: lock the new one
        except FileNotFoundError:
            os.close(fd)
            continue
        break
    try:
        if exclusive:
            started_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            info = {"pid": os.getpid(), "command": " ".join(["catalog-gen", *sys.argv[1:]])[:200], "started": started_at}
            os.ftruncate(fd, 0)
            os.pwrite(fd, (json.dumps(info) + "\n").encode(), 0)
        yield
    finally:
        try:  # a reader removes the file only when no one else holds it (it can take the lock alone)
            if not exclusive:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            os.unlink(path)
        except OSError:
            pass
        os.close(fd)
