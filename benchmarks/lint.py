"""Benchmark `catalog-gen lint` on many charts, side by side with kubernetes-validate's own CLI.

    .venv/bin/python benchmarks/lint.py [--charts 1000] [--runs 3] [--kv-charts N]

Builds N copies of the realistic fixture chart tests/lint/fixtures/good (a
Deployment with an init container, Ollama and the router sidecar, Service,
ConfigMap, PVC, Job, NetworkPolicy, PDB, Gateway, HTTPRoute, Certificate,
Ingress, helm test Pod, ServiceMonitor, PrometheusRule, ScaledObject, and a
ci/ scenario with an HPA), each under its own name, in a temporary folder.

Times, as users run them:
- `catalog-gen lint DIR --crds ../shared/crds` (one process: Helm lint and two
  renders per chart, strict Kubernetes and CRD schemas, semantic and policy
  checks, locations), median of --runs;
- `kubernetes-validate --strict -k 1.31` on the same rendered objects (default
  values; one process, one file per chart): built-in kinds only, first error
  only, no Helm, no CRDs, no policies. It takes about 10 ms an object, so
  --kv-charts can limit it to a sample; the table then says it extrapolated.

Prints a Markdown table. Target: 1000 charts in at most 8 s wall on the
project's 2-core machine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "lint" / "fixtures" / "good"
CRDS = ROOT / ".." / "shared" / "crds"
BIN = Path(sys.executable).parent


def make_charts(root: Path, count: int) -> list[Path]:
    charts = []
    for i in range(count):
        chart = root / "charts" / f"svc-{i:04d}"
        shutil.copytree(FIXTURE, chart)
        meta = chart / "Chart.yaml"
        meta.write_text(meta.read_text().replace("name: ollama-phi", f"name: svc-{i:04d}"))
        charts.append(chart)
    return charts


def render_for_kubernetes_validate(charts: list[Path], out: Path) -> tuple[list[Path], int]:
    """One multi-document file of default-values manifests per chart; returns files and object count."""
    import helm_python
    import yaml

    helm_python.disable_logging()
    out.mkdir()
    files, objects = [], 0
    for chart_dir in charts:
        chart = helm_python.Chart.load(str(chart_dir))
        rendered = chart.render(name=chart_dir.name, namespace="default")
        chart.close()
        docs = [text for name, text in sorted(rendered.items()) if name.endswith(".yaml") and text.strip()]
        text = "".join(f"---\n{doc.rstrip()}\n" for doc in docs)
        objects += sum(1 for doc in yaml.safe_load_all(text) if doc)
        path = out / f"{chart_dir.name}.yaml"
        path.write_text(text)
        files.append(path)
    return files, objects


def timed(command: list[str]) -> tuple[float, subprocess.CompletedProcess]:
    start = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True)
    return time.perf_counter() - start, proc


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--charts", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3, help="catalog-gen lint runs (median reported)")
    parser.add_argument("--kv-charts", type=int, default=0, help="charts for kubernetes-validate (default: all)")
    parser.add_argument("--jobs", type=int, default=0, help="catalog-gen lint --jobs (default: its own default)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-lint-") as tmp:
        root = Path(tmp)
        charts = make_charts(root, args.charts)
        files, objects = render_for_kubernetes_validate(charts, root / "rendered")
        per_chart = objects / len(charts)
        load = os.getloadavg()[0]

        lint_cmd = [str(BIN / "catalog-gen"), "lint", str(root / "charts"), "--crds", str(CRDS), "--format", "json", "--output", str(root / "lint.json")]
        if args.jobs:
            lint_cmd += ["--jobs", str(args.jobs)]
        lint_times = []
        for _ in range(args.runs):
            seconds, proc = timed(lint_cmd)
            if proc.returncode != 0:
                print(proc.stdout[-2000:], proc.stderr[-2000:], file=sys.stderr)
                raise SystemExit(f"catalog-gen lint exited {proc.returncode}; the fixture charts must lint clean")
            lint_times.append(seconds)
        lint_s = statistics.median(lint_times)

        sample = files[: args.kv_charts] if args.kv_charts else files
        kv_cmd = [str(BIN / "kubernetes-validate"), "--strict", "-k", "1.31", "--quiet", "--no-warn", *map(str, sample)]
        kv_raw, proc = timed(kv_cmd)
        if proc.returncode != 0:
            print(proc.stdout[-2000:], proc.stderr[-2000:], file=sys.stderr)
            raise SystemExit(f"kubernetes-validate exited {proc.returncode}")
        kv_s = kv_raw * len(files) / len(sample)
        kv_note = "" if len(sample) == len(files) else f" (measured on {len(sample)}, scaled)"

    n = len(charts)
    print(f"catalog-gen lint vs kubernetes-validate: {n} charts, {per_chart:.0f} objects each (+1 in a ci/ scenario), "
          f"{os.cpu_count()} CPUs, load {load:.2f} at start; lint runs: {', '.join(f'{t:.2f}' for t in lint_times)} s\n")
    print("| Tool | Does | Wall (s) | ms / chart | ms / object | vs catalog-gen lint |")
    print("|---|---|---|---|---|---|")
    print(f"| `catalog-gen lint` | Helm lint + 2 renders, strict Kubernetes + CRD schemas (all errors), semantic + policy checks, line numbers "
          f"| {lint_s:.2f} | {lint_s / n * 1000:.2f} | {lint_s / objects * 1000:.3f} | 1.0x |")
    print(f"| `kubernetes-validate --strict` | built-in kinds only, first error only{kv_note} "
          f"| {kv_s:.2f} | {kv_s / n * 1000:.2f} | {kv_s / objects * 1000:.3f} | {kv_s / lint_s:.1f}x slower |")
    print(f"\nTarget {n} charts in <= 8 s: {'met' if lint_s <= 8 else 'NOT met'} ({lint_s:.2f} s).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
