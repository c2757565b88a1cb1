"""`catalog-gen lint`: real Helm, strict Kubernetes and CRD schemas, policy checks, with locations.

Public API::

    lint_charts(chart_dirs, *, kube_version="1.31", crd_dirs=(), require_schemas=False,
                cache=True, cache_dir=None) -> LintResult
    find_charts(paths) -> list[Path]
    policies.CHECKS  (the registry of every check)

Stages (one module each): ``helm`` (lint + render per values scenario),
``manifests`` (parse with positions), ``schemas`` (+ ``kube_schemas``,
``crds``, ``apis``), ``semantic``, ``security`` (kube-linter's set),
``platform`` (our rules), ``suppress`` (annotations), ``locate`` (lines),
``engine`` (one chart, issues -> findings), ``cache`` (unchanged charts are not linted again).
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from catalog_gen.errors import Finding, UsageError
from catalog_gen.lint.scratch import scratch_folder

if TYPE_CHECKING:
    from catalog_gen.progress import Progress

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


def interrupted_renders(paths: Iterable[Path]) -> list[Finding]:
    """A finding for each staging folder a killed `catalog-gen render` left in a folder named (or its parent):
    charts may be missing there, and lint alone would not notice one chart fewer."""
    from catalog_gen.lint import chartfiles
    from catalog_gen.lint.policies import CHECK_BY_ID

    check = CHECK_BY_ID[chartfiles.CHECK]
    folders = dict.fromkeys(f for p in paths if p.is_dir() for f in (p, p.parent))
    found = dict.fromkeys(leftover for folder in folders for leftover in chartfiles.leftover_staging(folder))
    return [Finding(file=str(leftover), line=0, column=0, pointer="", code=check.id, severity=check.severity,
                    message=f"{leftover} is the staging folder of a `catalog-gen render` that was killed; "
                            "charts may be missing from this folder",
                    hint="run `catalog-gen render` (it repairs the folder first), then lint again")
            for leftover in found]


def lint_charts(
    chart_dirs: list[Path],
    *,
    kube_version: str = "1.31",
    crd_dirs: Iterable[Path] = (),
    require_schemas: bool = False,
    jobs: int | None = None,
    progress: "Progress | None" = None,
    cache: bool = True,
    cache_dir: Path | None = None,
) -> LintResult:
    """Lint every chart under ``chart_dirs``; findings are sorted, and nothing is printed.

    ``jobs`` worker processes (default: the CPU count, at most 4) share the
    charts when there are at least ``PARALLEL_MIN`` of them; the result does not
    depend on ``jobs``. Processes, not threads: parsing and checking are Python
    and would serialize on the GIL. ``progress`` hears about each chart done.
    The scratch folder (helm lint's shadow copies) is removed on every exit;
    the next run removes what a killed run left (``scratch.py``).
    With ``cache`` (the default), a chart whose inputs are unchanged since a
    run stored its findings is not linted again (``cache.py``; ``cache_dir``,
    default ``cache.default_dir()``); the findings are the same either way.
    """
    from catalog_gen.lint import parallel
    from catalog_gen.lint.cache import LintCache, default_dir
    from catalog_gen.lint.crds import CrdStore
    from catalog_gen.lint.kube_schemas import normalize_version

    version = normalize_version(kube_version)
    charts = find_charts([Path(p) for p in chart_dirs])
    crd_paths = tuple(Path(d).resolve() for d in crd_dirs)
    where = (cache_dir if cache_dir is not None else default_dir()) if cache else None
    crd_cache = Path(where).resolve() if where is not None else None
    crd_store = CrdStore.load(crd_paths, crd_cache)  # fail early on a bad --crds, in this process
    workers = max(1, jobs or min(4, os.cpu_count() or 1))
    done = parallel.counter(progress, len(charts))
    stored = LintCache.open(where, kube_version=version, crd_files=crd_store.files,
                            require_schemas=require_schemas) if where is not None else None
    keys = [stored.key(chart) for chart in charts] if stored else [None] * len(charts)
    per_chart = [stored.get(key) if stored and key else None for key in keys]
    todo = [i for i, found in enumerate(per_chart) if found is None]
    done(len(charts) - len(todo))
    if todo:
        with scratch_folder() as scratch:
            job = parallel.Job(version, crd_paths, require_schemas, scratch, str(crd_cache) if crd_cache else None)
            if workers > 1 and len(todo) >= parallel.PARALLEL_MIN:
                linted = parallel.run_in_processes(job, [charts[i] for i in todo], workers, done)
            else:
                linted = []
                for n, i in enumerate(todo):
                    linted.append(parallel.lint_one(job, n, charts[i]))
                    done(1)
        for i, chart_findings in zip(todo, linted):
            per_chart[i] = chart_findings
            if stored and keys[i]:
                stored.put(keys[i], charts[i], chart_findings)
    if stored:
        stored.prune()
    findings = interrupted_renders([Path(p) for p in chart_dirs])
    findings += [f for chart_findings in per_chart for f in chart_findings]
    return LintResult(sorted(findings, key=Finding.sort_key), len(charts))
