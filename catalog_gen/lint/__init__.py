"""`catalog-gen lint`: real Helm, strict Kubernetes and CRD schemas, policy checks, with locations.

Public API::

    lint_charts(chart_dirs, *, kube_version="1.31", crd_dirs=(), require_schemas=False) -> LintResult
    find_charts(paths) -> list[Path]
    policies.CHECKS  (the registry of every check)

Stages (one module each): ``helm`` (lint + render per values scenario),
``manifests`` (parse with positions), ``schemas`` (+ ``kube_schemas``,
``crds``, ``apis``), ``semantic``, ``security`` (kube-linter's set),
``platform`` (our rules), ``suppress`` (annotations), ``locate`` (lines),
``engine`` (one chart, issues -> findings).
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from pathlib import Path
from typing import Iterable

from catalog_gen.errors import Finding, UsageError

__all__ = ["LintResult", "find_charts", "lint_charts"]


@dataclasses.dataclass(frozen=True)
class LintResult:
    findings: list[Finding]
    charts_checked: int


def find_charts(paths: Iterable[Path]) -> list[Path]:
    """Chart directories named, or found at any depth below the folders named (not inside a chart)."""
    charts: list[Path] = []
    for path in paths:
        if (path / "Chart.yaml").is_file():
            charts.append(path)
            continue
        if not path.exists():
            raise UsageError(f"{path}: no such directory", hint="name a chart directory or a folder that holds charts")
        if not path.is_dir():
            raise UsageError(f"{path} is a file, not a chart", hint="name the chart's directory (the one with Chart.yaml)")
        for root, dirs, files in os.walk(path):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            if "Chart.yaml" in files:
                charts.append(Path(root))
                dirs[:] = []  # a chart's charts/ holds its subcharts: Helm lints them with it
    unique = list(dict.fromkeys(charts))
    if not unique:
        named = ", ".join(str(p) for p in paths)
        raise UsageError(f"no Helm chart (a folder with Chart.yaml) under {named}", hint="render the catalog first, or name a chart directory")
    return unique


def _scratch_parent() -> str | None:
    """Helm lint needs a shadow copy of each chart on disk: use memory (/dev/shm) when there is one."""
    shm = "/dev/shm"
    return shm if os.path.isdir(shm) and os.access(shm, os.W_OK) else None


def lint_charts(
    chart_dirs: list[Path],
    *,
    kube_version: str = "1.31",
    crd_dirs: Iterable[Path] = (),
    require_schemas: bool = False,
    jobs: int | None = None,
) -> LintResult:
    """Lint every chart under ``chart_dirs``; findings are sorted, and nothing is printed.

    ``jobs`` worker processes (default: the CPU count, at most 4) share the
    charts when there are at least ``PARALLEL_MIN`` of them; the result does not
    depend on ``jobs``. Processes, not threads: parsing and checking are Python
    and would serialize on the GIL.
    """
    from catalog_gen.lint import parallel
    from catalog_gen.lint.crds import CrdStore
    from catalog_gen.lint.kube_schemas import normalize_version

    version = normalize_version(kube_version)
    charts = find_charts([Path(p) for p in chart_dirs])
    crd_paths = tuple(Path(d).resolve() for d in crd_dirs)
    CrdStore.load(crd_paths)  # fail early on a bad --crds, in this process
    workers = max(1, jobs or min(4, os.cpu_count() or 1))
    with tempfile.TemporaryDirectory(prefix="catalog-gen-lint-", dir=_scratch_parent()) as scratch:
        job = parallel.Job(version, crd_paths, require_schemas, scratch)
        if workers > 1 and len(charts) >= parallel.PARALLEL_MIN:
            per_chart = parallel.run_in_processes(job, charts, workers)
        else:
            per_chart = [parallel.lint_one(job, i, chart) for i, chart in enumerate(charts)]
    findings = [f for chart_findings in per_chart for f in chart_findings]
    return LintResult(sorted(findings, key=Finding.sort_key), len(charts))
