"""Lint charts in worker processes: one chart costs a few ms of Helm (Go) and as much of Python.

Measured on the project's 2-core machine, threads overlap only the Helm part
(the parsing and checks hold the GIL): about 1.3x on 2 cores. Worker
processes use every core for both, at a start-up cost of about 0.3 s each
(imports, schema compilation), so they are used only from ``PARALLEL_MIN``
charts up. Workers are spawned, never forked: the Go runtime inside
helm-python-sdk does not survive a fork. Each worker keeps its own compiled
validators and CRD store for the whole run.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from catalog_gen.errors import Finding

PARALLEL_MIN = 16


@dataclasses.dataclass(frozen=True)
class Job:
    """Everything a worker needs, picklable."""

    kube_version: str
    crd_dirs: tuple[Path, ...]
    require_schemas: bool
    scratch: str


def lint_one(job: Job, index: int, chart: Path) -> list[Finding]:
    from catalog_gen.lint.crds import CrdStore
    from catalog_gen.lint.engine import Settings, lint_chart
    from catalog_gen.lint.kube_schemas import KubeSchemas

    settings = Settings(
        KubeSchemas.for_version(job.kube_version),
        CrdStore.load(job.crd_dirs),
        job.require_schemas,
        Path(job.scratch) / str(index),
    )
    return lint_chart(chart, settings)


def _lint_batch(job: Job, batch: list[tuple[int, Path]]) -> list[list[Finding]]:
    return [lint_one(job, index, chart) for index, chart in batch]


def run_in_processes(job: Job, charts: list[Path], workers: int) -> list[list[Finding]]:
    """Findings per chart, in the order of ``charts``."""
    indexed = list(enumerate(charts))
    size = max(1, len(indexed) // (workers * 4))
    batches = [indexed[i : i + size] for i in range(0, len(indexed), size)]
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        results = pool.map(_lint_batch, [job] * len(batches), batches)
        return [findings for batch in results for findings in batch]
