"""Write charts atomically, check them for drift, prune the ones whose leaf is gone.

Writing: every changed chart is first written whole into a staging folder
(`.catalog-gen-tmp-*`, hidden) inside the output folder; nothing visible
changes while the charts are built, which is where almost all the time goes.
Then each chart directory is swapped in with renames. An exception or Ctrl-C
at any point, the swap included, leaves the output folder as it was before
the run (the swap is undone) and removes the staging folder. A run killed
outright (SIGKILL, power loss) during the swap may leave some charts new and
the rest old, each whole: the next run puts back any chart that was moved aside
and not replaced, then deletes the leftover staging folder, before it writes
anything else; until then `render --check`, `ci` and `lint` report the leftover
staging folder. A run holds the output folder's lock (`.catalog-gen.lock`,
flock, exclusive to write, shared to check) for its whole length, so a second
run never touches the first one's staging folder: it waits or exits 2 naming
the holder. Files in charts are read only when they are regular files and not
symlinks, with a size cap: a FIFO, device or symlink reads as a difference. Unchanged charts
are not rewritten. Nothing is written outside the output folder: chart paths
come from validated DNS labels and are checked again here, symlinks included.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import json
import os
import shutil
import stat
import tempfile
from pathlib import Path
from typing import Collection

from catalog_gen import fsutil
from catalog_gen.errors import UsageError, note_committed
from catalog_gen.render import fingerprint
from catalog_gen.render.chart import ANNOTATION_GENERATOR, ANNOTATION_SOURCE

TMP_PREFIX = ".catalog-gen-tmp-"


@dataclasses.dataclass
class Drift:
    chart: str  # chart dir relative to the output folder
    status: str  # "missing", "changed", "stale"
    files: list[str]  # files that differ (relative to the chart)
    diff: str = ""


def read_tree(root: Path) -> dict[str, bytes]:
    """Every file under `root` (relative POSIX path -> bytes); empty when `root` is not a folder."""
    files: dict[str, bytes] = {}
    for name in _list_files(str(root), "", []):
        data = _read_at_most(os.path.join(root, name), -1)
        if data is not None:
            files[name] = data
    return files


def _list_files(folder: str, prefix: str, names: list[str]) -> list[str]:
    # os.scandir rather than Path.rglob: --check lists and reads every file of every chart,
    # and Path objects cost more than the system calls.
    try:
        entries = list(os.scandir(folder))
    except (FileNotFoundError, NotADirectoryError):
        return names
    for entry in entries:
        if entry.is_dir(follow_symlinks=False):
            _list_files(entry.path, f"{prefix}{entry.name}/", names)
        else:
            names.append(prefix + entry.name)
    return names


MAX_READ = 64 << 20  # a chart file larger than this is different from anything we generate
_READ_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


def _read_at_most(path: str, size: int) -> bytes | None:
    """Up to `size` bytes of a file in one read (at most MAX_READ when `size` < 0); None when unreadable.

    Only a regular file that is not a symlink is read: a FIFO, device or symlink in a chart
    (none of which we write) reads as None, so it differs, and nothing blocks or grows.
    """
    try:
        fd = os.open(path, _READ_FLAGS)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        if size >= 0:
            return os.read(fd, size)  # a regular file reads short only at its end
        chunks, total = [], 0
        while total <= MAX_READ and (chunk := os.read(fd, 1 << 20)):
            chunks.append(chunk)
            total += len(chunk)
        return b"".join(chunks)[: MAX_READ + 1]
    except OSError:  # e.g. a folder where a file should be
        return None
    finally:
        os.close(fd)


class Guard:
    """Chart paths under the output folder; refuses any that would land outside it (symlinks too)."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.real = out.resolve()
        self._parents: dict[str, Path] = {}

    def target(self, rel: str) -> Path:
        parent_rel, _, name = rel.rpartition("/")
        parent = self._parents.get(parent_rel)
        if parent is None:
            parent = (self.out / parent_rel).resolve() if parent_rel else self.real
            self._parents[parent_rel] = parent
        target = parent / name
        if name in ("", ".", "..") or (parent != self.real and self.real not in parent.parents) or target.is_symlink():
            raise UsageError(f"refusing to write {self.out / rel}: it is outside the output folder {self.out}",
                             hint="chart paths come from environment/serviceName; remove the symlink or pick another --out")
        return target


def chart_unchanged(guard: Guard, rel: str, inputs: str) -> bool:
    """The chart's manifest says it was made from these inputs, and no file changed since (see fingerprint.py)."""
    root = str(guard.target(rel))
    return fingerprint.unchanged(root, inputs, _list_files(root, "", []))


def chart_drift(guard: Guard, rel: str, files: dict[str, bytes], want_diff: bool) -> Drift | None:
    """How the chart on disk differs from `files`, or None when it is identical (extra files count)."""
    root = str(guard.target(rel))
    present = _list_files(root, "", [])
    if not present:
        return Drift(rel, "missing", sorted(files))
    changed = set(present).symmetric_difference(files)
    for name, data in files.items():
        # one read of len+1 bytes tells equal from different, longer included
        if name not in changed and _read_at_most(os.path.join(root, name), len(data) + 1) != data:
            changed.add(name)
    if not changed:
        return None
    names = sorted(changed)
    diff = _unified(rel, names, read_tree(Path(root)), files) if want_diff else ""
    return Drift(rel, "changed", names, diff)


def _unified(rel: str, names: list[str], old: dict[str, bytes], new: dict[str, bytes]) -> str:
    chunks = []
    for name in names:
        a = old.get(name, b"").decode("utf-8", "replace").splitlines(keepends=True)
        b = new.get(name, b"").decode("utf-8", "replace").splitlines(keepends=True)
        chunks.extend(difflib.unified_diff(a, b, f"a/{rel}/{name}", f"b/{rel}/{name}"))
    return "".join(chunks)


def generated_charts(out: Path) -> dict[str, str]:
    """Chart dirs under `out` that catalog-gen made (they carry its annotation) -> their source leaf."""
    found = {}
    if not out.is_dir():
        return found
    for chart_yaml in sorted(out.glob("*/*/Chart.yaml")):
        fields = {}
        raw = _read_at_most(str(chart_yaml), 1 << 20) or b""  # not read_text: a symlink to /dev/zero must not grow us
        for line in raw.decode("utf-8", "replace").splitlines():
            key, _, value = line.strip().partition(":")
            if key in (ANNOTATION_GENERATOR, ANNOTATION_SOURCE):
                fields[key] = _annotation_value(value.strip())
        if ANNOTATION_GENERATOR in fields:
            found[chart_yaml.parent.relative_to(out).as_posix()] = fields.get(ANNOTATION_SOURCE, "")
    return found


def _annotation_value(text: str) -> str:
    """Chart.yaml writes annotation values with Jinja's tojson: JSON strings, `&`, `'`, `<`, `>` escaped."""
    if text.startswith('"'):
        try:
            value = json.loads(text)
        except ValueError:
            return text.strip('"')
        return value if isinstance(value, str) else text
    return text


def stale_charts(out: Path, charts: Collection[str], rendered_sources: set[str], base: Path | None = None) -> list[str]:
    """Generated chart dirs not rendered now whose leaf is gone, or now renders somewhere else.

    Sources are leaf paths relative to `base` (default: the working directory), as the
    charts' `catalog-gen.io/source-leaf` annotation holds them. A chart whose leaf still
    exists but was not among the rendered paths is left alone.
    """
    stale = []
    for rel, source in generated_charts(out).items():
        if rel in charts:
            continue
        if not source or not (base / source if base else Path(source)).exists() or source in rendered_sources:
            stale.append(rel)
    return sorted(stale)


class Staging:
    """The hidden staging folder of one write: build charts into it, then commit (swap them in).

    Use as a context manager; on exit the folder is removed whatever happened.
    """

    def __init__(self, out: Path) -> None:
        recover(out)
        self.guard = Guard(out)
        self.root = Path(tempfile.mkdtemp(prefix=TMP_PREFIX, dir=out))

    def __enter__(self) -> "Staging":
        return self

    def __exit__(self, *exc) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    def build(self, rel: str, files: dict[str, bytes]) -> None:
        """Write one chart into the staging folder: nothing visible changes."""
        made: set[str] = set()
        base = os.path.join(self.root, "new", rel)
        for name, data in files.items():
            path = os.path.join(base, name)
            folder = os.path.dirname(path)
            if folder not in made:
                os.makedirs(folder, exist_ok=True)
                made.add(folder)
            with open(path, "wb") as handle:
                handle.write(data)
            if name.endswith(".sh"):
                os.chmod(path, 0o755)

    def commit(self, built: list[str], prune: list[str]) -> None:
        """Swap the built charts in and move the pruned ones out: all of it, or (on any failure) none.

        A step is at most two renames: the chart dir aside into the staging folder, the new
        version in. Every step is recorded before it starts and its state is read back from
        the file system, so an exception or Ctrl-C at any point undoes exactly what was done
        and the output folder is left as it was before the run.
        """
        steps: list[tuple[Path, Path, Path | None, str]] = []  # (chart dir, its place aside, new version, rel)
        try:
            for rel in built:
                target = self.guard.target(rel)
                steps.append((target, self.root / "old" / rel, self.root / "new" / rel, rel))
                target.parent.mkdir(parents=True, exist_ok=True)
                self._move_aside(target, steps[-1][1])
                os.replace(self.root / "new" / rel, target)
            for rel in prune:
                target = self.guard.target(rel)
                steps.append((target, self.root / "pruned" / rel, None, rel))
                self._move_aside(target, steps[-1][1])
                parent = target.parent
                if parent != self.guard.real and parent.is_dir() and not any(parent.iterdir()):
                    parent.rmdir()
        except BaseException:
            for target, aside, new, rel in reversed(steps):
                if new is not None and not new.exists() and target.exists():  # the new version went in: out again
                    self._move_aside(target, self.root / "undone" / rel)
                if aside.exists() and not target.exists():  # the previous version waits aside: back in
                    target.parent.mkdir(parents=True, exist_ok=True)
                    os.replace(aside, target)
            raise
        note_committed(f"the charts in {self.guard.out}")

    @staticmethod
    def _move_aside(target: Path, aside: Path) -> None:
        if target.exists():
            aside.parent.mkdir(parents=True, exist_ok=True)
            os.replace(target, aside)


def leftover_staging(out: Path) -> list[str]:
    """Staging folders a killed run left in `out` (relative names); `render --check` and `ci` report them."""
    if not out.is_dir():
        return []
    return sorted(p.name for p in out.glob(TMP_PREFIX + "*"))


def locked(out: Path, *, write: bool, timeout: float = 0.0, on_wait=None):
    """The output folder's lock: exclusive to write (the folder is created first), shared to check."""
    if write:
        out.mkdir(parents=True, exist_ok=True)
    elif not out.is_dir():
        return contextlib.nullcontext()
    return fsutil.locked(out, exclusive=write, timeout=timeout, on_wait=on_wait)


def recover(out: Path) -> None:
    """Create `out`; clean up after a run that was killed mid-way.

    Such a run may have moved a chart aside into its staging folder: put it back, then
    delete the staging folder.
    """
    out.mkdir(parents=True, exist_ok=True)
    for leftover in sorted(out.glob(TMP_PREFIX + "*")):
        old_root = leftover / "old"
        for chart_yaml in sorted(old_root.glob("*/*/Chart.yaml")) if old_root.is_dir() else []:
            target = out / chart_yaml.parent.relative_to(old_root)
            if not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(chart_yaml.parent, target)
        shutil.rmtree(leftover, ignore_errors=True)
