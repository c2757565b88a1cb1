"""Benchmark `catalog-gen lint` on many charts, side by side with kubernetes-validate's own CLI.

    .venv/bin/python benchmarks/lint.py [--charts 1000] [--runs 3] [--all-objects] [--kv-charts N] [--jobs N]

Builds N copies of the realistic fixture chart tests/lint/fixtures/good, each
under its own name, in a temporary folder. By default each copy keeps the 10
objects a typical generated chart has (Deployment with an init container,
Ollama and the router sidecar; Service, ConfigMap, PVC, NetworkPolicy, PDB,
HTTPRoute, ServiceMonitor, ScaledObject, helm test Pod) and its ci/ scenario
(an HPA instead of the ScaledObject); --all-objects keeps all 15 (adds
Gateway, Certificate, Ingress, Job, PrometheusRule).

Times, as users run them:
- `catalog-gen lint DIR --crds ../shared/crds` (Helm lint and a render per
  values scenario, strict Kubernetes and CRD schemas, semantic and policy
  checks, locations): median and best of --runs, and CPU time;
- `kubernetes-validate --strict -k 1.31` on the same rendered objects (default
  values; one process, one file per chart): built-in kinds only, first error
  only, no Helm, no CRDs, no policies. It takes about 10 ms an object, so
  --kv-charts can limit it to a sample; the table then says it was scaled.

Prints a Markdown table. Target: 1000 charts in at most 8 s wall on the
project's 2-core machine (other sessions share it: compare CPU time too).

    .venv/bin/python benchmarks/lint.py --generated [--charts 1000] [--runs 3] [--kv-charts 50] [--profile 50]

With --generated: the generator's own charts instead. A catalog of N copies of
the seed leaf (catalog/dev/ollama-phi.yaml, each under its own name and host)
with autoscaling on (router and monitoring are on by default), rendered with
`catalog-gen render` into a folder in /dev/shm, then, side by side in one run:
- cold: `catalog-gen lint --no-cache` of every chart (median of --runs);
- the first cached run (lints every chart and fills the cache; one run);
- one change: a leaf edited and re-rendered (not timed), then `catalog-gen
  lint` with the cache (median of --runs, a different edit each run);
- the same in a fresh copy of the charts folder, as a CI checkout is (every
  file has a new inode and ctime: lint reads and hashes them all);
- `catalog-gen ci` after one change the same way (validate, render --check,
  lint with the cache);
- `kubernetes-validate --strict` on the default-values objects of a sample of
  the charts (--kv-charts), scaled to all of them.
It checks that the cached and the uncached lint reports are identical. With
--profile N it also lints N of the charts serially in this process, once the
straightforward way and once with the work shared between charts, and prints
the CPU time a chart of each stage (Helm's calls, parsing, checks).
Targets: cold at most 12 s, one change at most 2 s (lint) and 3 s (ci).
"""

from __future__ import annotations

import argparse
import os
import resource
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


EXTRA_TEMPLATES = ("gateway.yaml", "certificate.yaml", "ingress.yaml", "job.yaml", "prometheusrule.yaml")


def make_charts(root: Path, count: int, all_objects: bool) -> list[Path]:
    charts = []
    for i in range(count):
        chart = root / "charts" / f"svc-{i:04d}"
        shutil.copytree(FIXTURE, chart)
        if not all_objects:
            for name in EXTRA_TEMPLATES:
                (chart / "templates" / name).unlink()
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


def timed(command: list[str], cwd: Path | None = None) -> tuple[float, float, subprocess.CompletedProcess]:
    """(wall seconds, CPU seconds of the command and its children, result)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True, cwd=cwd)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), proc


SEED_LEAF = ROOT / "catalog" / "dev" / "ollama-phi.yaml"
AUTOSCALING = "autoscaling:\n  enabled: true\n  minReplicas: 1\n  maxReplicas: 4\n  targetQueueDepth: 4\n"


def write_generated_catalog(root: Path, count: int) -> Path:
    """N copies of the seed leaf with autoscaling on, each with its own name and host, under the repo's defaults."""
    seed = SEED_LEAF.read_text()
    for needed in ("serviceName: ollama-phi\n", "host: text.hypermedia.au\n"):
        if needed not in seed:
            raise SystemExit(f"{SEED_LEAF} no longer has {needed.strip()!r}: update benchmarks/lint.py")
    catalog = root / "catalog"
    (catalog / "dev").mkdir(parents=True)
    shutil.copy(ROOT / "catalog" / "_defaults.yaml", catalog / "_defaults.yaml")
    for i in range(count):
        name = f"svc-{i:04d}"
        text = seed.replace("serviceName: ollama-phi\n", f"serviceName: {name}\n")
        text = text.replace("host: text.hypermedia.au\n", f"host: {name}.example.com\n") + AUTOSCALING
        (catalog / "dev" / f"{name}.yaml").write_text(text)
    return catalog


def change_one_leaf(catalog: Path, step: int) -> None:
    """Edit one leaf (its maxReplicas), differently each time."""
    leaf = catalog / "dev" / "svc-0000.yaml"
    text = leaf.read_text()
    start = text.index("  maxReplicas: ")
    end = text.index("\n", start)
    leaf.write_text(f"{text[:start]}  maxReplicas: {5 + step}{text[end:]}")


def fresh_copy(folder: Path) -> None:
    """Replace a folder by a copy of itself: same paths and bytes, every file with a new inode and ctime."""
    old = folder.with_name(folder.name + ".old")
    folder.rename(old)
    shutil.copytree(old, folder)
    shutil.rmtree(old)


def run_checked(command: list[str], cwd: Path, expect: int = 0) -> tuple[float, float]:
    wall, cpu, proc = timed(command, cwd)
    if proc.returncode != expect:
        print(proc.stdout[-3000:], proc.stderr[-3000:], file=sys.stderr)
        raise SystemExit(f"{' '.join(command[:2])} exited {proc.returncode}, expected {expect}")
    return wall, cpu


def generated(args: argparse.Namespace) -> int:
    shm = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    cli = str(BIN / "catalog-gen")
    with tempfile.TemporaryDirectory(prefix="bench-lint-generated-", dir=shm) as tmp:
        root = Path(tmp)
        catalog = write_generated_catalog(root, args.charts)
        cache_dir = root / "lint-cache"
        crds = ["--crds", str(CRDS.resolve())]
        render = [cli, "render", "catalog", "--out", "charts", "--quiet"]
        render_s, _ = run_checked(render, root)
        charts = sorted(p.parent for p in (root / "charts").glob("*/svc-*/Chart.yaml"))
        if len(charts) != args.charts:
            raise SystemExit(f"rendered {len(charts)} charts, expected {args.charts}")
        objects_per_chart = None
        load = os.getloadavg()[0]
        lint = [cli, "lint", "charts", *crds, "--quiet", "--format", "json"]
        if args.jobs:
            lint += ["--jobs", str(args.jobs)]
        cached = [*lint, "--cache-dir", str(cache_dir)]

        fill_s, fill_cpu = run_checked([*cached, "--output", "fill.json"], root)
        one, one_cpu, ci, ci_cpu = [], [], [], []
        for step in range(args.runs):
            change_one_leaf(catalog, step)
            run_checked(render, root)
            wall, cpu = run_checked([*cached, "--output", "warm.json"], root)
            one.append(wall)
            one_cpu.append(cpu)
        fresh, fresh_cpu = [], []
        for step in range(args.runs):  # as in CI: a fresh checkout, every file new (no stat index to trust)
            change_one_leaf(catalog, 2 * args.runs + step)
            run_checked(render, root)
            fresh_copy(root / "charts")
            wall, cpu = run_checked([*cached, "--output", "warm.json"], root)
            fresh.append(wall)
            fresh_cpu.append(cpu)
        for step in range(args.runs):
            change_one_leaf(catalog, args.runs + step)
            run_checked(render, root)
            wall, cpu = run_checked([cli, "ci", "catalog", "--charts", "charts", *crds, "--quiet", "--format", "json",
                                     "--output", "ci.json", "--cache-dir", str(cache_dir)], root)
            ci.append(wall)
            ci_cpu.append(cpu)
        run_checked([*cached, "--output", "warm.json"], root)  # the same charts the cold runs see
        cold, cold_cpu = [], []
        for _ in range(args.runs):
            wall, cpu = run_checked([*lint, "--no-cache", "--output", "cold.json"], root)
            cold.append(wall)
            cold_cpu.append(cpu)
        if (root / "cold.json").read_text() != (root / "warm.json").read_text():
            raise SystemExit("the cached and the uncached lint reports differ")

        profiled = None
        if args.profile:
            profiled = (min(args.profile, len(charts) - 1), *profile_stages(charts[: args.profile + 1], shared=False),
                        *profile_stages(charts[: args.profile + 1], shared=True))
        sample = charts[: args.kv_charts or 50]
        files, objects = render_for_kubernetes_validate(sample, root / "rendered")
        objects_per_chart = objects / len(sample)
        kv_cmd = [str(BIN / "kubernetes-validate"), "--strict", "-k", "1.31", "--quiet", "--no-warn", *map(str, files)]
        kv_raw, kv_cpu_raw, proc = timed(kv_cmd)
        if proc.returncode != 0:
            print(proc.stdout[-2000:], proc.stderr[-2000:], file=sys.stderr)
            raise SystemExit(f"kubernetes-validate exited {proc.returncode}")
        kv_s, kv_cpu = kv_raw * len(charts) / len(sample), kv_cpu_raw * len(charts) / len(sample)

    n, med = len(charts), statistics.median
    print(f"{n} generated charts (seed leaf, router, monitoring and autoscaling on; {objects_per_chart:.0f} objects each "
          f"with default values), in /dev/shm; {os.cpu_count()} CPUs, load {load:.2f} at start; render {render_s:.1f} s (not counted)")
    print(f"cold runs {', '.join(f'{t:.2f}' for t in cold)} s; one-change lint runs {', '.join(f'{t:.2f}' for t in one)} s; "
          f"fresh checkout: {', '.join(f'{t:.2f}' for t in fresh)} s; one-change ci runs {', '.join(f'{t:.2f}' for t in ci)} s\n")
    print("| Run | What | Wall median (best) s | CPU s (median) | Target | Ratio to kubernetes-validate (wall) |")
    print("|---|---|---|---|---|---|")
    print(f"| `catalog-gen lint --no-cache` | cold, every chart | {med(cold):.2f} ({min(cold):.2f}) | {med(cold_cpu):.2f} | 12 s | "
          f"{kv_s / med(cold):.1f}x faster |")
    print(f"| `catalog-gen lint` | first run with an empty cache (fills it) | {fill_s:.2f} | {fill_cpu:.2f} | | |")
    print(f"| `catalog-gen lint` | one leaf changed and re-rendered | {med(one):.2f} ({min(one):.2f}) | {med(one_cpu):.2f} | 2 s | |")
    print(f"| `catalog-gen lint` | the same in a fresh checkout (every file read and hashed) | {med(fresh):.2f} ({min(fresh):.2f}) "
          f"| {med(fresh_cpu):.2f} | 2 s | |")
    print(f"| `catalog-gen ci` | validate, render --check, lint; one leaf changed | {med(ci):.2f} ({min(ci):.2f}) | {med(ci_cpu):.2f} | 3 s | |")
    print(f"| `kubernetes-validate --strict` | default-values objects, built-in kinds, first error | {kv_s:.2f} | {kv_cpu:.2f} | | "
          f"1x (measured on {len(sample)} charts, scaled) |")
    print("\nThe cached and uncached lint reports were identical.")
    if profiled:
        print_profile(*profiled)
    return 0


STAGES = ("chart survey", "Helm load", "Helm render", "Helm lint (native)", "helm lint shadow copy", "parse manifests",
          "checks (schemas, semantics, policies)")


def profile_stages(charts: list[Path], shared: bool) -> tuple[dict[str, float], float]:
    """CPU seconds per stage and in all, linting ``charts`` serially in this process (after one chart to warm up)."""
    import collections
    import tempfile as tmp

    import helm_python

    from catalog_gen.lint import chartfiles, engine, helm, manifests
    from catalog_gen.lint.crds import CrdStore
    from catalog_gen.lint.kube_schemas import KubeSchemas
    from catalog_gen.lint.shared import SharedWork

    spent: collections.Counter = collections.Counter()
    patched = []

    def wrap(owner, name: str, label: str) -> None:
        real = getattr(owner, name)

        def timed_call(*args, **kwargs):
            start = time.process_time()
            try:
                return real(*args, **kwargs)
            finally:
                spent[label] += time.process_time() - start

        patched.append((owner, name, real))
        setattr(owner, name, timed_call)

    wrap(chartfiles, "survey", STAGES[0])
    wrap(helm_python.Chart, "load", STAGES[1])
    wrap(helm_python.Chart, "render", STAGES[2])
    wrap(helm_python, "lint", STAGES[3])
    wrap(helm, "_shadow_copy", STAGES[4])
    wrap(SharedWork if shared else manifests, "parse" if shared else "parse_template", STAGES[5])
    wrap(engine, "check_objects", STAGES[6])
    try:
        with tmp.TemporaryDirectory(prefix="bench-lint-profile-") as scratch:
            settings = engine.Settings(KubeSchemas.for_version("1.31"), CrdStore.load((CRDS.resolve(),)), False, Path(scratch),
                                       SharedWork() if shared else None)
            engine.lint_chart(charts[0], settings)
            spent.clear()
            start = time.process_time()
            for chart in charts[1:]:
                engine.lint_chart(chart, settings)
            total = time.process_time() - start
    finally:
        for owner, name, real in reversed(patched):
            setattr(owner, name, real)
    return dict(spent), total


def print_profile(n: int, plain: dict[str, float], plain_total: float, fast: dict[str, float], fast_total: float) -> None:
    """Where a cold chart's CPU time goes, the straightforward way and with the work shared between charts."""
    print(f"\nWhere a cold chart's CPU time goes ({n} charts linted serially in one process, CPU ms a chart):\n")
    print("| Stage | straightforward (`Settings.shared=None`) | shared work (what lint runs) |")
    print("|---|---:|---:|")
    for stage in STAGES:
        print(f"| {stage} | {plain.get(stage, 0) / n * 1000:.1f} | {fast.get(stage, 0) / n * 1000:.1f} |")
    rest = lambda spent, total: (total - sum(spent.values())) / n * 1000  # noqa: E731
    print(f"| everything else (locating findings, suppressions, bookkeeping) | {rest(plain, plain_total):.1f} | "
          f"{rest(fast, fast_total):.1f} |")
    print(f"| **total** | **{plain_total / n * 1000:.1f}** | **{fast_total / n * 1000:.1f}** |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--charts", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3, help="catalog-gen lint runs (median reported)")
    parser.add_argument("--all-objects", action="store_true", help="keep all 15 objects of the fixture (default: 10)")
    parser.add_argument("--kv-charts", type=int, default=0, help="charts for kubernetes-validate (default: all; --generated: 50)")
    parser.add_argument("--jobs", type=int, default=0, help="catalog-gen lint --jobs (default: its own default)")
    parser.add_argument("--generated", action="store_true", help="the generator's own charts, cold and after one change")
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="with --generated: also profile N of the charts, serially, stage by stage (CPU ms a chart)")
    args = parser.parse_args()
    if args.generated:
        return generated(args)

    with tempfile.TemporaryDirectory(prefix="bench-lint-") as tmp:
        root = Path(tmp)
        charts = make_charts(root, args.charts, args.all_objects)
        files, objects = render_for_kubernetes_validate(charts, root / "rendered")
        per_chart = objects / len(charts)
        load = os.getloadavg()[0]

        lint_cmd = [str(BIN / "catalog-gen"), "lint", str(root / "charts"), "--crds", str(CRDS), "--format", "json", "--output", str(root / "lint.json"),
                    "--no-cache"]
        if args.jobs:
            lint_cmd += ["--jobs", str(args.jobs)]
        lint_times, lint_cpus = [], []
        for _ in range(args.runs):
            seconds, cpu, proc = timed(lint_cmd)
            if proc.returncode != 0:
                print(proc.stdout[-2000:], proc.stderr[-2000:], file=sys.stderr)
                raise SystemExit(f"catalog-gen lint exited {proc.returncode}; the fixture charts must lint clean")
            lint_times.append(seconds)
            lint_cpus.append(cpu)
        lint_s, lint_best, lint_cpu = statistics.median(lint_times), min(lint_times), statistics.median(lint_cpus)

        sample = files[: args.kv_charts] if args.kv_charts else files
        kv_cmd = [str(BIN / "kubernetes-validate"), "--strict", "-k", "1.31", "--quiet", "--no-warn", *map(str, sample)]
        kv_raw, kv_cpu_raw, proc = timed(kv_cmd)
        if proc.returncode != 0:
            print(proc.stdout[-2000:], proc.stderr[-2000:], file=sys.stderr)
            raise SystemExit(f"kubernetes-validate exited {proc.returncode}")
        kv_s = kv_raw * len(files) / len(sample)
        kv_cpu = kv_cpu_raw * len(files) / len(sample)
        kv_note = "" if len(sample) == len(files) else f" (measured on {len(sample)}, scaled)"

    n = len(charts)
    runs = ", ".join(f"{t:.2f}" for t in lint_times)
    print(f"{n} charts of {per_chart:.0f} objects (+1 in a ci/ scenario); {os.cpu_count()} CPUs, load {load:.2f} at start; "
          f"catalog-gen lint runs: {runs} s\n")
    print("| Tool | Does | Wall median (best) s | CPU s | ms / chart | ms / object | Ratio (wall, CPU) |")
    print("|---|---|---|---|---|---|---|")
    print(f"| `catalog-gen lint` | Helm lint + renders, strict Kubernetes + CRD schemas (all errors), semantic and policy checks, "
          f"file:line | {lint_s:.2f} ({lint_best:.2f}) | {lint_cpu:.2f} | {lint_s / n * 1000:.2f} | {lint_s / objects * 1000:.3f} | 1x |")
    print(f"| `kubernetes-validate --strict` | built-in kinds only, first error only{kv_note} "
          f"| {kv_s:.2f} | {kv_cpu:.2f} | {kv_s / n * 1000:.2f} | {kv_s / objects * 1000:.3f} "
          f"| {kv_s / lint_s:.1f}x, {kv_cpu / lint_cpu:.1f}x slower |")
    print(f"\nTarget: {n} charts in at most 8 s wall: {'met' if lint_s <= 8 else 'not met'} by the median ({lint_s:.2f} s), "
          f"{'met' if lint_best <= 8 else 'not met'} by the best run ({lint_best:.2f} s).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
