"""Share the charts of one lint run between this process and worker processes.

A chart costs a few ms of Helm (Go, outside the GIL) and as much again of
Python (parsing, schemas, checks), so threads only overlap the Helm part
(measured: about 1.3x on the project's 2 cores). Worker processes use every
core for both, at a start-up cost of about 0.3 s each, so they are used only
from ``PARALLEL_MIN`` charts up.

Workers are plain subprocesses (``python -m catalog_gen.lint.parallel FILE``)
that read a job from a JSON file and write findings as JSON on stdout, not
``multiprocessing``: its fork start method breaks the Go runtime inside
helm-python-sdk once loaded, and its spawn method re-runs the caller's main
script in every worker. This process lints its own share meanwhile. Workers
die with this process however it ends (``proc.die_with_parent``), and tell it
about each chart done with a line on stderr (for the progress display). The
charts are dealt round-robin, and the results put back in chart order, so
the output does not depend on the number of workers.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import catalog_gen

from catalog_gen import errors
from catalog_gen.errors import Finding, Severity, ToolError
from catalog_gen.proc import die_with_parent

if TYPE_CHECKING:
    from catalog_gen.progress import Progress

PARALLEL_MIN = 16
PARENT_ENV = "CATALOG_GEN_PARENT_PID"
PROGRESS_MARK = "\x1ecatalog-gen-progress\n"  # a line a worker writes to stderr per chart done


@dataclasses.dataclass(frozen=True)
class Job:
    kube_version: str
    crd_dirs: tuple[Path, ...]
    require_schemas: bool
    scratch: str
    crd_cache: str | None = None  # the lint cache folder, where converted CRDs are kept (None: not kept)


_SHARED: list = []  # this process's SharedWork, made on first use


def lint_one(job: Job, index: int, chart: Path) -> list[Finding]:
    from catalog_gen.lint.crds import CrdStore
    from catalog_gen.lint.engine import Settings, lint_chart
    from catalog_gen.lint.kube_schemas import KubeSchemas
    from catalog_gen.lint.shared import SharedWork

    if not _SHARED:
        _SHARED.append(SharedWork())
    settings = Settings(
        KubeSchemas.for_version(job.kube_version),
        CrdStore.load(job.crd_dirs, Path(job.crd_cache) if job.crd_cache else None),
        job.require_schemas,
        Path(job.scratch) / str(index),
        _SHARED[0],
    )
    return lint_chart(chart, settings)


def _to_json(job: Job, share: list[tuple[int, Path]]) -> str:
    return json.dumps(
        {
            "kube_version": job.kube_version,
            "crd_dirs": [str(d) for d in job.crd_dirs],
            "require_schemas": job.require_schemas,
            "scratch": job.scratch,
            "crd_cache": job.crd_cache,
            "charts": [[index, str(chart)] for index, chart in share],
        }
    )


def _finding(data: dict) -> Finding:
    return Finding(**{**data, "severity": Severity(data["severity"])})


def counter(progress: "Progress | None", total: int):
    """A function to call with the number of charts just finished; tells ``progress`` the running count."""
    from catalog_gen.progress import Tick, report

    state = {"done": 0}

    def done(count: int) -> None:
        state["done"] += count
        report(progress, Tick("linting charts", state["done"], total, "chart"))

    return done


class _Worker:
    """A worker subprocess; a thread reads its stderr: progress marks are counted, the rest kept for errors."""

    def __init__(self, command: list[str], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        self.finished = 0  # charts done, as the worker reports them
        self.errors: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.proc.stderr:
            if line == PROGRESS_MARK:
                self.finished += 1
            else:
                self.errors.append(line)


def run_in_processes(job: Job, charts: list[Path], workers: int, done=lambda count: None) -> list[list[Finding]]:
    """Findings per chart, in the order of ``charts``. ``done(n)`` is called (in this thread) as charts finish."""
    indexed = list(enumerate(charts))
    shares = [indexed[w::workers] for w in range(workers)]
    package_root = str(Path(catalog_gen.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")])),
           PARENT_ENV: str(os.getpid())}
    procs: list[_Worker] = []
    reported = 0

    def tell() -> None:
        nonlocal reported
        now = own + sum(w.finished for w in procs)
        if now > reported:
            done(now - reported)
            reported = now

    own = 0
    try:
        for number, share in enumerate(shares[1:], start=1):
            request = Path(job.scratch) / f"worker-{number}.json"
            request.write_text(_to_json(job, share), encoding="utf-8")
            command = [sys.executable, "-m", "catalog_gen.lint.parallel", str(request)]
            procs.append(_Worker(command, env))
        results = {}
        for index, chart in shares[0]:
            results[index] = lint_one(job, index, chart)
            own += 1
            tell()
        for worker in procs:
            while worker.proc.poll() is None and worker.reader.is_alive():
                worker.reader.join(0.2)
                tell()
            results.update(_collect(worker))
            tell()
    finally:
        for worker in procs:
            if worker.proc.poll() is None:
                worker.proc.kill()
                worker.proc.communicate()
    return [results[index] for index in range(len(charts))]


def _collect(worker: _Worker) -> dict[int, list[Finding]]:
    proc = worker.proc
    out = proc.stdout.read()
    proc.wait()
    worker.reader.join()
    err = "".join(worker.errors)
    try:
        reply = json.loads(out)
    except ValueError:
        message = f"a lint worker failed (exit {proc.returncode}): {err.strip()[-500:]}"
        raise ToolError(message, hint="rerun with --jobs 1 to lint in one process") from None
    if "error" in reply:
        error_class = getattr(errors, reply["type"], ToolError)
        raise error_class(reply["error"], hint=reply.get("hint", ""))
    return {index: [_finding(f) for f in findings] for index, findings in reply["results"]}


def _worker(request_file: str) -> int:
    if os.environ.get(PARENT_ENV, "").isdigit():
        die_with_parent(int(os.environ[PARENT_ENV]))  # a parent killed outright takes its workers with it
    request = json.loads(Path(request_file).read_text(encoding="utf-8"))
    job = Job(request["kube_version"], tuple(Path(d) for d in request["crd_dirs"]), request["require_schemas"], request["scratch"],
              request.get("crd_cache"))
    try:
        results = []
        for index, chart in request["charts"]:
            results.append([index, [dataclasses.asdict(f) for f in lint_one(job, index, Path(chart))]])
            sys.stderr.write(PROGRESS_MARK)
            sys.stderr.flush()
    except errors.CatalogGenError as err:
        json.dump({"error": err.message, "hint": err.hint, "type": type(err).__name__}, sys.stdout)
        return 0
    json.dump({"results": results}, sys.stdout, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(_worker(sys.argv[1]))
