"""Write charts atomically, check them for drift, prune the ones whose leaf is gone.

Writing: every changed chart is first written whole into a temporary folder
inside the output folder, then each chart directory is swapped in with
renames. An interrupted run leaves each chart either as it was or complete,
and the build phase (where almost all the time goes) touches nothing visible.
Unchanged charts are not rewritten. Nothing is written outside the output
folder: chart paths come from validated DNS labels and are checked again here.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import shutil
import tempfile
from pathlib import Path

from catalog_gen.errors import UsageError
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
    _read_into(str(root), "", files)
    return files


def _read_into(folder: str, prefix: str, files: dict[str, bytes]) -> None:
    # os.scandir rather than Path.rglob: --check reads every file of every chart, and the
    # Path objects cost more than the reads.
    try:
        entries = list(os.scandir(folder))
    except (FileNotFoundError, NotADirectoryError):
        return
    for entry in entries:
        if entry.is_dir(follow_symlinks=False):
            _read_into(entry.path, f"{prefix}{entry.name}/", files)
        elif entry.is_file():
            with open(entry.path, "rb") as handle:
                files[prefix + entry.name] = handle.read()


class _Guard:
    """Refuses chart paths that would land outside the output folder (also through a symlink)."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.real = out.resolve()
        self.parents: dict[str, Path] = {}

    def target(self, rel: str) -> Path:
        parent_rel, _, name = rel.rpartition("/")
        parent = self.parents.get(parent_rel)
        if parent is None:
            parent = (self.out / parent_rel).resolve() if parent_rel else self.real
            self.parents[parent_rel] = parent
        target = parent / name
        if name in ("", ".", "..") or (parent != self.real and self.real not in parent.parents) or target.is_symlink():
            raise UsageError(f"refusing to write {self.out / rel}: it is outside the output folder {self.out}",
                             hint="chart paths come from environment/serviceName; remove the symlink or pick another --out")
        return target


def _inside(out: Path, rel: str) -> Path:
    return _Guard(out).target(rel)


def compare(out: Path, charts: dict[str, dict[str, bytes]], want_diff: bool) -> list[Drift]:
    """Charts whose files on disk differ from `charts` (missing, changed, extra files)."""
    guard = _Guard(out)
    drifts = []
    for rel, files in sorted(charts.items()):
        root = str(guard.target(rel))
        present = _list_files(root, "", [])
        if not present:
            drifts.append(Drift(rel, "missing", sorted(files)))
            continue
        changed = set(present).symmetric_difference(files)
        for name, data in files.items():
            if name not in changed and _read_at_most(os.path.join(root, name), len(data) + 1) != data:
                changed.add(name)
        if changed:
            names = sorted(changed)
            diff = _unified(rel, names, read_tree(Path(root)), files) if want_diff else ""
            drifts.append(Drift(rel, "changed", names, diff))
    return drifts


def _list_files(folder: str, prefix: str, names: list[str]) -> list[str]:
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


def _read_at_most(path: str, size: int) -> bytes | None:
    """Up to `size` bytes of a file, in one read (a regular file reads short only at its end)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        return os.read(fd, size)
    except OSError:  # e.g. a folder where a file should be
        return None
    finally:
        os.close(fd)


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
        for line in chart_yaml.read_text(encoding="utf-8", errors="replace").splitlines():
            key, _, value = line.strip().partition(":")
            if key in (ANNOTATION_GENERATOR, ANNOTATION_SOURCE):
                fields[key] = value.strip().strip('"')
        if ANNOTATION_GENERATOR in fields:
            found[chart_yaml.parent.relative_to(out).as_posix()] = fields.get(ANNOTATION_SOURCE, "")
    return found


def stale_charts(out: Path, charts: dict[str, dict[str, bytes]], rendered_sources: set[str]) -> list[str]:
    """Generated chart dirs whose leaf is gone, or whose leaf now renders somewhere else."""
    stale = []
    for rel, source in generated_charts(out).items():
        if rel in charts:
            continue
        if not source or not Path(source).exists() or source in rendered_sources:
            stale.append(rel)
    return sorted(stale)


def write_charts(out: Path, charts: dict[str, dict[str, bytes]], prune: list[str]) -> list[str]:
    """Write changed charts atomically; remove pruned ones. Returns chart dirs written."""
    out.mkdir(parents=True, exist_ok=True)
    for leftover in sorted(out.glob(TMP_PREFIX + "*")):  # from a run that was killed mid-way
        _recover(out, leftover)
    changed = [d.chart for d in compare(out, charts, want_diff=False)]
    if not changed and not prune:
        return []
    guard = _Guard(out)
    staging = Path(tempfile.mkdtemp(prefix=TMP_PREFIX, dir=out))
    moved: list[tuple[Path, Path]] = []  # (chart dir, where its previous version waits) until the run ends
    try:
        for rel in changed:  # build phase: nothing visible changes
            _build(staging / "new" / rel, charts[rel])
        for rel in changed:  # swap phase: two renames per chart, undone on failure
            target = guard.target(rel)
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.exists():
                old = staging / "old" / rel
                old.parent.mkdir(parents=True, exist_ok=True)
                os.replace(target, old)
                moved.append((target, old))
            os.replace(staging / "new" / rel, target)
        for rel in prune:
            target = guard.target(rel)
            if target.exists():
                old = staging / "pruned" / rel
                old.parent.mkdir(parents=True, exist_ok=True)
                os.replace(target, old)
            parent = target.parent
            if parent != guard.real and parent.is_dir() and not any(parent.iterdir()):
                parent.rmdir()
    except BaseException:
        for target, old in moved:  # a chart moved aside but not replaced gets its old version back
            if not target.exists() and old.exists():
                os.replace(old, target)
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return changed


def _build(root: Path, files: dict[str, bytes]) -> None:
    made: set[str] = set()
    base = str(root)
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


def _recover(out: Path, leftover: Path) -> None:
    """A run killed mid-swap may have moved a chart aside: put it back, then drop the leftover."""
    old_root = leftover / "old"
    for chart_yaml in sorted(old_root.glob("*/*/Chart.yaml")) if old_root.is_dir() else []:
        rel = chart_yaml.parent.relative_to(old_root).as_posix()
        target = out / rel
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(chart_yaml.parent, target)
    shutil.rmtree(leftover, ignore_errors=True)
