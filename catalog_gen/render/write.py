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
    files: dict[str, bytes] = {}
    if not root.is_dir():
        return files
    for path in root.rglob("*"):
        if path.is_file():
            files[path.relative_to(root).as_posix()] = path.read_bytes()
    return files


def _inside(out: Path, rel: str) -> Path:
    target = (out / rel).resolve()
    if out.resolve() not in target.parents:
        raise UsageError(f"refusing to write {target}: it is outside the output folder {out}")
    return target


def compare(out: Path, charts: dict[str, dict[str, bytes]], want_diff: bool) -> list[Drift]:
    drifts = []
    for rel, files in sorted(charts.items()):
        current = read_tree(_inside(out, rel))
        if not current:
            drifts.append(Drift(rel, "missing", sorted(files)))
            continue
        changed = sorted(name for name in set(files) | set(current) if files.get(name) != current.get(name))
        if changed:
            diff = _unified(rel, changed, current, files) if want_diff else ""
            drifts.append(Drift(rel, "changed", changed, diff))
    return drifts


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
    for leftover in out.glob(TMP_PREFIX + "*"):  # from a run that was killed mid-way
        shutil.rmtree(leftover, ignore_errors=True)
    changed = [d.chart for d in compare(out, charts, want_diff=False)]
    if not changed and not prune:
        return []
    staging = Path(tempfile.mkdtemp(prefix=TMP_PREFIX, dir=out))
    try:
        for rel in changed:  # build phase: nothing visible changes
            root = staging / "new" / rel
            for name, data in charts[rel].items():
                path = root / name
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
                if name.endswith(".sh"):
                    path.chmod(0o755)
        for rel in changed:  # swap phase: one rename per chart
            target = _inside(out, rel)
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.exists():
                old = staging / "old" / rel
                old.parent.mkdir(parents=True, exist_ok=True)
                os.replace(target, old)
            os.replace(staging / "new" / rel, target)
        for rel in prune:
            target = _inside(out, rel)
            if target.exists():
                old = staging / "pruned" / rel
                old.parent.mkdir(parents=True, exist_ok=True)
                os.replace(target, old)
            parent = target.parent
            if parent != out and parent.is_dir() and not any(parent.iterdir()):
                parent.rmdir()
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return changed
