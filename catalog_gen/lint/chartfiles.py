"""What lint may read of a chart: a survey of its files before Helm or anything else opens them.

Helm's loader follows symlinks and reads whole files, and a chart comes from a
pull request: a ``ci/values.yaml`` symlinked to ``/dev/zero`` would fill
memory, a FIFO would hang the run. So before a chart is loaded, every entry is
looked at with ``lstat`` (nothing is opened):

- a FIFO, device or socket, a symlink whose target is outside the chart (or
  dangling), a file over ``MAX_FILE_BYTES``, or a chart over ``MAX_CHART_BYTES``
  in all, is a ``chart-files`` finding naming the file, and the chart is not
  given to Helm at all;
- a chart rendered by catalog-gen carries a manifest of its files
  (``.catalog-gen-manifest.json``); files it lists that are missing mean a
  render was killed half-way: a finding too (the rest is still linted).

Reads of chart files elsewhere in lint go through ``read_chart_file``: regular
files only, bounded while reading, inside the chart.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from catalog_gen.fsutil import Refused, file_kind, inside, read_regular
from catalog_gen.lint.objects import Issue

CHECK = "chart-files"
MAX_FILE_BYTES = 8 << 20  # Helm's own limit for a file in a chart archive is 5 MiB less a little
MAX_CHART_BYTES = 64 << 20  # Helm refuses chart archives that decompress to more than 100 MiB
MANIFEST = ".catalog-gen-manifest.json"
STAGING_PREFIX = ".catalog-gen-tmp-"


def read_chart_file(chart_dir: Path, relative: str, limit: int = MAX_FILE_BYTES) -> bytes:
    """A chart file's bytes (regular, inside the chart, at most ``limit``); raises Refused."""
    return read_regular(chart_dir / relative, limit, root=chart_dir)


def survey(chart_dir: Path) -> tuple[list[Issue], bool]:
    """(issues, safe): issues about the chart's files; ``safe`` is False when Helm must not load the chart."""
    state = _Survey(str(chart_dir))
    state.walk(str(chart_dir), "")
    issues = state.issues
    if state.total > MAX_CHART_BYTES and state.safe:
        issues.append(Issue(CHECK, f"the chart's files add up to {state.total} bytes, more than the {MAX_CHART_BYTES} allowed; "
                                   "the chart is not loaded", file="Chart.yaml"))
        state.safe = False
    if state.safe and MANIFEST in state.present:
        issues += _missing_files(chart_dir, state.present)
    return issues, state.safe


class _Survey:
    """One walk over a chart with scandir (file types from the directory entries, one lstat a file for its size)."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.issues: list[Issue] = []
        self.present: set[str] = set()
        self.total = 0
        self.safe = True

    def refuse(self, rel: str, why: str) -> None:
        self.issues.append(Issue(CHECK, f"{rel} {why}; the chart is not loaded", file=rel))
        self.safe = False

    def walk(self, folder: str, prefix: str) -> None:
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            self.refuse(prefix.rstrip("/") or ".", f"cannot be listed: {exc.strerror}")
            return
        for entry in entries:
            rel = prefix + entry.name
            try:
                if entry.is_dir(follow_symlinks=False):
                    self.walk(entry.path, rel + "/")
                    continue
                if entry.is_symlink():
                    if not inside(entry.path, self.root):
                        self.refuse(rel, f"is a symlink to {os.path.realpath(entry.path)}, outside the chart")
                        continue
                    info = os.stat(entry.path)
                    if stat.S_ISDIR(info.st_mode):
                        continue  # a folder inside the chart: its files are surveyed where they are
                else:
                    info = entry.stat(follow_symlinks=False)
            except OSError as exc:
                self.refuse(rel, f"cannot be read: {exc.strerror}")
                continue
            if not stat.S_ISREG(info.st_mode):
                self.refuse(rel, f"is {file_kind(info.st_mode)}, not a regular file")
                continue
            self.present.add(rel)
            self.total += info.st_size
            if info.st_size > MAX_FILE_BYTES:
                self.refuse(rel, f"is {info.st_size} bytes, more than the {MAX_FILE_BYTES} a chart file may have")


def _missing_files(chart_dir: Path, present: set[str]) -> list[Issue]:
    try:
        listed = json.loads(read_chart_file(chart_dir, MANIFEST)).get("files") or {}
    except (Refused, ValueError, AttributeError):
        return []
    missing = sorted(name for name in listed if isinstance(name, str) and name not in present)
    if not missing:
        return []
    shown = ", ".join(missing[:5]) + (", ..." if len(missing) > 5 else "")
    return [Issue(CHECK, f"the chart is missing {len(missing)} file(s) its manifest lists ({shown}): "
                         "a render was interrupted or files were deleted", file=MANIFEST)]


def leftover_staging(folder: Path) -> list[Path]:
    """Staging folders of a killed `catalog-gen render` in ``folder`` (an output folder)."""
    try:
        return sorted(folder / name for name in os.listdir(folder) if name.startswith(STAGING_PREFIX))
    except OSError:
        return []
