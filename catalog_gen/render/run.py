"""The render stage: validated leaves -> plans -> chart files -> written, checked or pruned.

The work per leaf is: plan it, render its files in memory, compare them with the
chart on disk and, when writing, build a changed chart into the staging folder
(see write.py); the parent then swaps the built charts in, all at the end.

A large catalog (at least PARALLEL_MIN_LEAVES leaves) shares that work among
worker processes, one per CPU (at most 4; `CATALOG_GEN_JOBS=N` or `jobs=N`
sets the number, 1 turns it off). Workers are forked, so they inherit the
validated leaves and send back only what differs. The output does not depend
on the number of workers: each chart is a pure function of its leaf. A
process that already runs other threads (Go's, once helm-python-sdk is
imported) renders in one process unless told otherwise: forking it is unsafe.
Workers die with this process however it ends (``proc.die_with_parent``).

Leaf paths shown in the charts (`catalog-gen.io/source-leaf`) are relative to
the output folder's parent, normally the repository root holding `catalog/`
and `charts/`, so the bytes do not depend on the working directory, and
`--prune` can tell later whether a chart's leaf still exists.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import signal
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Iterator

from catalog_gen.catalog.index import chart_path
from catalog_gen.catalog.model import OllamaInferenceLoad
from catalog_gen.catalog.validate import Leaf, ValidationResult, validate_paths
from catalog_gen.errors import CatalogGenError, CatalogInvalid, Finding, UsageError, has_errors
from catalog_gen.plan.plan import ChartPlan, build_plan
from catalog_gen.proc import die_with_parent
from catalog_gen.progress import Progress, Tick, report
from catalog_gen.render import fingerprint, gitops, write
from catalog_gen.render.chart import chart_files

PARALLEL_MIN_LEAVES = 200
MAX_JOBS = 4


@dataclasses.dataclass
class RenderResult:
    findings: list[Finding]  # warnings from validation
    charts: list[str]  # chart dirs rendered (relative to the output folder), sorted
    written: list[str]  # chart dirs written (changed or new), sorted
    drift: list[write.Drift]  # with check: charts that differ (and stale ones with prune), sorted
    pruned: list[str]  # chart dirs removed, sorted


def leaf_model(leaf: Leaf) -> OllamaInferenceLoad:
    return OllamaInferenceLoad.model_validate(leaf.data)


def source_name(leaf: Leaf, base: Path | None = None) -> str:
    """The leaf's path relative to `base` (default: the working directory), with forward slashes."""
    return Path(os.path.relpath(leaf.doc.path, base if base is not None else os.curdir)).as_posix()


def valid_leaves(paths: list[Path]) -> tuple[list[Leaf], list[Finding]]:
    """Validate; raise CatalogInvalid (nothing may be rendered) on any error."""
    result = validate_paths(paths)
    if has_errors(result.findings):
        raise CatalogInvalid(result.findings)
    return result.leaves, result.findings


def plan_leaves(paths: list[Path], base: Path | None = None) -> tuple[list[ChartPlan], list[Finding]]:
    """Validate, then plan every leaf. Raises CatalogInvalid (nothing rendered) on any error."""
    leaves, findings = valid_leaves(paths)
    return [build_plan(leaf_model(leaf), source_name(leaf, base)) for leaf in leaves], findings


def render_catalog(paths: list[Path], out: Path, *, check: bool = False, diff: bool = False, prune: bool = False,
                   jobs: int | None = None, lock_timeout: float = 0.0, progress: Progress | None = None,
                   validated: ValidationResult | None = None) -> RenderResult:
    """Validate, then (holding the output folder's lock) repair what a killed run left, and render, check or prune.

    ``progress`` hears about each leaf done (and about waiting for the lock); nothing is printed.
    ``validated``: the result of ``validate_paths(paths)`` when the caller has it already (``ci``), so the
    catalog is not read and validated twice; with errors in it, nothing is rendered, as without it.
    """
    if validated is None:
        leaves, findings = valid_leaves(paths)
    elif has_errors(validated.findings):
        raise CatalogInvalid(validated.findings)
    else:
        leaves, findings = validated.leaves, validated.findings
    workers = _workers(len(leaves), jobs)  # before anything is written: CATALOG_GEN_JOBS may be wrong

    def waiting(waited: float, timeout: float, holder: str) -> None:
        report(progress, Tick(f"waiting for the lock on {out}", waited, timeout, "s", f"held by {holder}"))

    with write.locked(out, write=not check, timeout=lock_timeout, on_wait=waiting):
        if not check:
            write.recover(out)  # before anything else: put back what a killed run moved aside
        return _render_locked(leaves, findings, out, check, diff, prune, workers, progress)


def _render_locked(leaves: list[Leaf], findings: list[Finding], out: Path, check: bool, diff: bool, prune: bool,
                   workers: int, progress: Progress | None) -> RenderResult:
    base = Path(os.path.abspath(out)).parent
    charts = sorted(chart_path(leaf.data) for leaf in leaves)
    stale = []
    if prune:
        sources = {source_name(leaf, base) for leaf in leaves}
        stale = write.stale_charts(out, set(charts), sources, base)
    env_charts, stale = gitops.environment_charts(leaves, out, stale, prune)  # per environment: ApplicationSet...
    charts = sorted(charts + list(env_charts))
    if check:
        outcomes = _render(leaves, _Task(base, write.Guard(out), want_files=False, want_diff=diff), workers,
                           _counter(progress, "checking charts", len(leaves)))
        drift = [d for d, _ in outcomes] + [write.Drift(rel, "stale", []) for rel in stale]
        drift += [write.Drift(name, "interrupted", []) for name in write.leftover_staging(out)]
        drift += [d for d in (write.chart_drift(write.Guard(out), rel, files, diff) for rel, files in env_charts.items()) if d]
        return RenderResult(findings, charts, [], sorted(drift, key=lambda d: d.chart), [])
    with write.Staging(out) as staging:
        written = []
        outcomes = _render(leaves, _Task(base, staging.guard, want_files=True, want_diff=False), workers,
                           _counter(progress, "rendering charts", len(leaves)))
        try:
            for drift, files in outcomes:  # build phase: nothing visible changes
                staging.build(drift.chart, files)
                written.append(drift.chart)
            for rel, files in env_charts.items():
                if write.chart_drift(staging.guard, rel, files, False) is not None:
                    staging.build(rel, files)
                    written.append(rel)
        finally:
            outcomes.close()  # on an error or Ctrl-C: stop the workers before the staging folder goes
        written.sort()
        if written or stale:
            staging.commit(written, stale)  # swap phase
    return RenderResult(findings, charts, written, [], stale)


Outcome = tuple[write.Drift, "dict[str, bytes] | None"]  # a chart that differs, and its files when wanted


@dataclasses.dataclass(frozen=True)
class _Task:
    base: Path  # leaf paths in the charts are relative to it
    guard: write.Guard  # where the charts are
    want_files: bool  # return the files of charts that differ (to write them)
    want_diff: bool

    def one(self, leaf: Leaf) -> Outcome | None:
        source = source_name(leaf, self.base)
        inputs = fingerprint.inputs(leaf.data, source)
        if write.chart_unchanged(self.guard, chart_path(leaf.data), inputs):
            return None  # same inputs, files untouched: rendering would give the same bytes
        plan = build_plan(leaf_model(leaf), source)
        files = chart_files(plan)
        files[fingerprint.MANIFEST] = fingerprint.manifest(inputs, files)
        drift = write.chart_drift(self.guard, plan.chart_dir, files, self.want_diff)
        if drift is None or (drift.files == [fingerprint.MANIFEST] and not self.want_files):
            return None  # identical, or identical but for the manifest: not drift (render refreshes it)
        return drift, files if self.want_files else None


def _counter(progress: Progress | None, what: str, total: int):
    """A function to call with the number of leaves done, telling `progress` (or nothing)."""
    def done(count: int) -> None:
        report(progress, Tick(what, count, total, "leaf"))

    return done


def _render(leaves: list[Leaf], task: _Task, workers: int, done=lambda count: None) -> Iterator[Outcome]:
    """Outcomes of the charts that differ, in leaf order, as they come (workers or this process).

    Only this process writes files: file creation from several processes at once costs
    ext4 far more system time than it saves.
    """
    if workers <= 1:
        for count, leaf in enumerate(leaves, start=1):
            outcome = task.one(leaf)
            done(count)
            if outcome is not None:
                yield outcome
        return
    global _SHARED
    _SHARED = (leaves, task)  # inherited by the forked workers; only indices go to them
    step = max(1, len(leaves) // (workers * 8))
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"), initializer=_worker_init,
                               initargs=(os.getpid(),))
    try:
        futures = [pool.submit(_render_slice, start, min(start + step, len(leaves))) for start in range(0, len(leaves), step)]
        for number, future in enumerate(futures, start=1):
            outcomes = future.result()
            done(min(len(leaves), number * step))
            for outcome in outcomes:
                if isinstance(outcome, _Failure):
                    outcome.throw()
                yield outcome
    except BaseException:  # also GeneratorExit when the caller stops early
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    finally:
        _SHARED = None
    pool.shutdown(wait=True)


def _workers(leaves: int, jobs: int | None) -> int:
    if jobs is None and os.environ.get("CATALOG_GEN_JOBS"):
        text = os.environ["CATALOG_GEN_JOBS"]
        if not text.isdigit() or int(text) < 1:
            raise UsageError(f"CATALOG_GEN_JOBS must be a whole number >= 1, not {text!r}",
                             hint="unset it to use one worker per CPU, or set 1 to render in one process")
        jobs = int(text)
    if "fork" not in multiprocessing.get_all_start_methods() or leaves < 2:
        return 1
    if jobs is None:
        if leaves < PARALLEL_MIN_LEAVES or _threads() > 1:  # forking a multi-threaded process is unsafe
            return 1
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        jobs = min(MAX_JOBS, cpus)
    return max(1, min(jobs, leaves))


def _threads() -> int:
    """Threads of this process, native ones included (Go's inside helm-python-sdk) where Linux tells."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        import threading

        return threading.active_count()


_SHARED: tuple[list[Leaf], _Task] | None = None


def _worker_init(parent_pid: int) -> None:
    die_with_parent(parent_pid)  # a parent killed outright (SIGKILL) takes its workers with it
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the parent's handler: a terminated worker just ends


@dataclasses.dataclass
class _Failure:
    """An exception in a worker, carried back by value (CatalogGenError's keyword `hint` does not pickle)."""

    kind: type
    message: str
    hint: str

    def throw(self) -> None:
        if issubclass(self.kind, CatalogGenError):
            raise self.kind(self.message, hint=self.hint)
        raise RuntimeError(f"{self.kind.__name__}: {self.message} (in a render worker)")


def _render_slice(start: int, stop: int) -> list[Outcome | _Failure]:
    """In a worker. Files shared by many charts (the static ones) are pickled once per slice."""
    assert _SHARED is not None
    leaves, task = _SHARED
    outcomes: list[Outcome | _Failure] = []
    for leaf in leaves[start:stop]:
        try:
            outcome = task.one(leaf)
        except Exception as exc:
            return outcomes + [_Failure(type(exc), getattr(exc, "message", str(exc)), getattr(exc, "hint", ""))]
        if outcome is not None:
            outcomes.append(outcome)
    return outcomes
