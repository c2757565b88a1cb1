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
script in every worker. This process lints its own share meanwhile. The
charts are dealt round-robin, and the results put back in chart order, so
the output does not depend on the number of workers.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import catalog_gen

from catalog_gen import errors
from catalog_gen.errors import Finding, Severity, ToolError

PARALLEL_MIN = 16


@dataclasses.dataclass(frozen=True)
class Job:
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


def _to_json(job: Job, share: list[tuple[int, Path]]) -> str:
    return json.dumps(
        {
            "kube_version": job.kube_version,
            "crd_dirs": [str(d) for d in job.crd_dirs],
            "require_schemas": job.require_schemas,
            "scratch": job.scratch,
            "charts": [[index, str(chart)] for index, chart in share],
        }
    )


def _finding(data: dict) -> Finding:
    return Finding(**{**data, "severity": Severity(data["severity"])})


def run_in_processes(job: Job, charts: list[Path], workers: int) -> list[list[Finding]]:
    """Findings per chart, in the order of ``charts``."""
    indexed = list(enumerate(charts))
    shares = [indexed[w::workers] for w in range(workers)]
    package_root = str(Path(catalog_gen.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")]))}
    procs = []
    for number, share in enumerate(shares[1:], start=1):
        request = Path(job.scratch) / f"worker-{number}.json"
        request.write_text(_to_json(job, share), encoding="utf-8")
        command = [sys.executable, "-m", "catalog_gen.lint.parallel", str(request)]
        procs.append(subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env))
    try:
        results = {index: lint_one(job, index, chart) for index, chart in shares[0]}
        for proc in procs:
            results.update(_collect(proc))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    return [results[index] for index in range(len(charts))]


def _collect(proc: subprocess.Popen) -> dict[int, list[Finding]]:
    out, err = proc.communicate()
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
    request = json.loads(Path(request_file).read_text(encoding="utf-8"))
    job = Job(request["kube_version"], tuple(Path(d) for d in request["crd_dirs"]), request["require_schemas"], request["scratch"])
    try:
        results = [
            [index, [dataclasses.asdict(f) for f in lint_one(job, index, Path(chart))]] for index, chart in request["charts"]
        ]
    except errors.CatalogGenError as err:
        json.dump({"error": err.message, "hint": err.hint, "type": type(err).__name__}, sys.stdout)
        return 0
    json.dump({"results": results}, sys.stdout, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(_worker(sys.argv[1]))
