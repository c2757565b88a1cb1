"""The smoke runner's own overhead: the full suite against an instantly answering target.

    .venv/bin/python benchmarks/smoke.py [--runs 10] [--concurrency 8]

The target is the Ollama double in a child process (no load time, no token
delay, 8 tokens a reply, 8 parallel slots), so nearly all the time measured is
the runner's: HTTP, JSON, timing, reports. The leaf has two models (a text and
an embedding model) and ``smoke.concurrency`` as given; warm-up waits are zero
because the target is ready at once. Two rows: ``run()`` in-process (the suite
and the report rendering), and the whole ``catalog-gen smoke`` command as a
process (interpreter start and imports included). Prints a Markdown table;
nothing here asserts. Target from issue 6: under 1 s wall beyond configured waits.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from catalog_gen.catalog.model import OllamaInferenceLoad  # noqa: E402
from catalog_gen.smoke.report import render  # noqa: E402
from catalog_gen.smoke.results import Status  # noqa: E402
from catalog_gen.smoke.runner import Options, run  # noqa: E402
from catalog_gen.testing.ollama_double import DoubleModel, Knobs, OllamaDouble, spawn_double  # noqa: E402


def leaf_data(concurrency: int) -> dict:
    return {
        "workloadType": "OLLAMA_INFERENCE_LOAD",
        "serviceName": "bench",
        "serviceCatalog": "ml-inference",
        "namespace": "ml",
        "environment": "dev",
        "models": [{"name": "llama3.1:8b"}, {"name": "nomic-embed-text:v1.5", "kind": "embedding"}],
        "router": {"enabled": False},
        "smoke": {"concurrency": concurrency, "timeoutSeconds": 30, "warmupSeconds": 30},
    }


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def row(name: str, samples: list[float], checks: int) -> str:
    return (
        f"| {name} | {checks} | {len(samples)} | {statistics.median(samples) * 1000:.0f} | "
        f"{percentile(samples, 95) * 1000:.0f} | {max(samples) * 1000:.0f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()

    data = leaf_data(args.concurrency)
    leaf = OllamaInferenceLoad.model_validate(data)
    double = OllamaDouble(
        [DoubleModel("llama3.1:8b"), DoubleModel("nomic-embed-text:v1.5", capabilities=("embedding",))],
        Knobs(num_parallel=args.concurrency, tokens_per_reply=8),
    )
    with tempfile.TemporaryDirectory() as tmp, spawn_double(double) as target:
        leaf_file = Path(tmp) / "bench.yaml"
        leaf_file.write_text(yaml.safe_dump(data), encoding="utf-8")

        run(leaf, str(leaf_file), Options(target.url))  # first run loads both models in the double
        in_process, checks = [], 0
        for _ in range(args.runs):
            started = time.perf_counter()
            report = run(leaf, str(leaf_file), Options(target.url))
            render([report], "junit")
            in_process.append(time.perf_counter() - started)
            bad = [r.name for r in report.results if r.status in (Status.FAILED, Status.ERROR)]
            if bad:
                raise SystemExit(f"benchmark target is not healthy: {bad}")
            checks = len(report.results)

        command = [sys.executable, "-m", "catalog_gen.cli", "smoke", str(leaf_file), "--url", target.url, "--format", "junit", "--output", str(Path(tmp) / "out.xml")]
        cli = []
        for _ in range(args.runs):
            started = time.perf_counter()
            done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
            cli.append(time.perf_counter() - started)
            if done.returncode != 0:
                raise SystemExit(f"catalog-gen smoke exited {done.returncode}: {done.stderr}")

    print(f"Smoke suite, leaf with 2 models (text + embedding), concurrency {args.concurrency}, instant target (the Ollama double in a child process), {args.runs} runs each.\n")
    print("| what | checks | runs | median ms | p95 ms | max ms |")
    print("|---|---:|---:|---:|---:|---:|")
    print(row("`run()` in-process: warm-up + checks + JUnit report", in_process, checks))
    print(row("`catalog-gen smoke` process (start, imports, suite, report)", cli, checks))


if __name__ == "__main__":
    main()
