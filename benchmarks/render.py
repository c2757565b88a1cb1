"""Benchmark: `catalog-gen render` and `render --check` on 1000 generated leaves.

Run: `.venv/bin/python benchmarks/render.py [--leaves 1000] [--runs 5]`

It writes a catalog of varied leaves (three environments, a `_defaults.yaml`
at two levels; every cache mode, router on and off, several Ollama processes,
custom models, pinned digests, API keys, created and existing Gateways, TLS,
plain Ingress) into a temporary folder and times the real command as whole
processes (interpreter start-up included):

- `render` into an empty output folder (every chart written);
- `render --check` with nothing changed (every chart read back and compared);
- `render` again with nothing changed (compared, nothing written).

Each is run `--runs` times; the table shows the median and the slowest run.
After the runs it checks what was measured: the output holds one chart per
leaf, `--check` exited 0, and a second render wrote nothing.

Targets (2-core machine, shared): render at most 4 s, `--check` at most 1.5 s.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLI = [str(Path(sys.executable).with_name("catalog-gen"))]  # the installed console script
ENVIRONMENTS = ("dev", "staging", "prod")
MODELS = ("llama3.1:8b", "llama3.2:3b", "qwen2.5:7b", "qwen2.5:0.5b", "mistral:7b", "phi3:mini",
          "gemma2:9b", "nomic-embed-text:v1.5", "qwen2.5-coder:14b", "llama3.1:70b")
SMALL = ("llama3.2:3b", "qwen2.5:0.5b", "phi3:mini", "qwen2.5:7b")
PRODUCTS = ("NVIDIA-A10G", "NVIDIA-L4", "NVIDIA-L40S")
ROOT_DEFAULTS = """\
ollama:
  image: ollama/ollama
  version: "0.33.0"
router:
  image:
    repository: ghcr.io/catalog-gen/catalog-gen
    tag: "0.1.0"
ingress:
  gatewayClassName: cilium
ownership:
  owner: group:ml-platform
"""
PROD_DEFAULTS = "container:\n  replicas: 2\ncache:\n  mode: pvc\ningress:\n  tls:\n    enabled: true\n    issuer: letsencrypt-prod\n"


def leaf(rng: random.Random, env: str, number: int) -> str:
    name = f"svc-{number:04d}"
    lines = ["workloadType: OLLAMA_INFERENCE_LOAD", f"serviceName: {name}", "serviceCatalog: ml-inference",
             f"namespace: team-{number % 17}", f"environment: {env}"]
    shape = rng.randrange(4)
    gpus = 2 if shape == 3 else rng.choice((0, 1, 1))
    pool = SMALL if gpus == 0 else MODELS[:-1] if gpus == 1 else MODELS
    if shape == 0:
        lines.append(f'model: "{rng.choice(pool)}"')
    else:
        lines.append("models:")
        chosen = rng.sample(pool, min(shape, 2))
        for model in chosen:
            lines.append(f"  - name: {model}")
            if rng.random() < 0.3:
                lines.append(f"    digest: {rng.getrandbits(256):064x}")
        if shape == 2:
            lines += [f"  - name: custom-{number}:1", "    modelfile:", f"      from: {chosen[0]}",
                      "      system: |", "        You answer briefly. Quote \"this\" and {{ .Values }} literally.",
                      "      parameters:", "        temperature: 0.3"]
    lines += ["gpu:", f"  count: {gpus}"]
    lines += [f"  product: {rng.choice(PRODUCTS)}"] if gpus else ["  vendor: none"]
    if gpus == 2:
        lines += ["ollama:", "  processes: 2", "  env:", "    OLLAMA_DEBUG: \"1\""]
    mode = rng.choice(("emptyDir", "pvc", "shared")) if env != "prod" else rng.choice(("pvc", "shared"))
    if mode == "shared":
        lines += ["cache:", "  mode: shared", "  size: 80Gi", "  storageClass: nfs-rwx"]
    elif mode == "pvc" and env != "prod":
        lines += ["cache:", "  mode: pvc", "  size: 80Gi"]
    if rng.random() < 0.15 and gpus < 2:
        lines += ["router:", "  enabled: false"]
    elif rng.random() < 0.3:
        lines += ["router:", "  apiKeySecret:", f"    name: {name}-keys"]
    if rng.random() < 0.8:
        lines += ["ingress:", "  enabled: true", f"  host: {name}.{env}.example.com"]
        kind = rng.randrange(3)
        if kind == 1:
            lines += ["  gateway:", "    name: shared-gateway", "    namespace: gateway-system", "    sectionName: https"]
        elif kind == 2:
            lines += ["  api: ingress", "  ingressClassName: nginx"]
    if rng.random() < 0.3:
        lines += ["autoscaling:", "  enabled: true", "  minReplicas: 1", "  maxReplicas: 4"]
    return "\n".join(lines) + "\n"


def write_catalog(root: Path, count: int, seed: int) -> Path:
    rng = random.Random(seed)
    catalog = root / "catalog"
    catalog.mkdir(parents=True)
    (catalog / "_defaults.yaml").write_text(ROOT_DEFAULTS)
    for env in ENVIRONMENTS:
        (catalog / env).mkdir()
    (catalog / "prod" / "_defaults.yaml").write_text(PROD_DEFAULTS)
    for number in range(count):
        env = ENVIRONMENTS[number % len(ENVIRONMENTS)]
        (catalog / env / f"svc-{number:04d}.yaml").write_text(leaf(rng, env, number))
    return catalog


def timed(args: list[str], cwd: Path, env: dict | None = None) -> tuple[float, float, subprocess.CompletedProcess]:
    """Wall seconds and CPU seconds (user + system, workers included) of one whole process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(CLI + args, cwd=cwd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, proc


def chart_count(out: Path) -> int:
    return len(list(out.glob("*/*/Chart.yaml")))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leaves", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--dir", default=None, help="work in this folder (default: the system temp folder), e.g. /dev/shm")
    args = parser.parse_args()
    one_process = dict(os.environ, CATALOG_GEN_JOBS="1")
    load_before = os.getloadavg()[0]

    with tempfile.TemporaryDirectory(prefix="catalog-gen-bench-render-", dir=args.dir) as tmp:
        work = Path(tmp)
        write_catalog(work, args.leaves, args.seed)
        times: dict[str, list[tuple[float, float]]] = {"fresh": [], "check": [], "again": [], "check1": [], "fresh1": []}

        def run(key: str, argv: list[str], env: dict | None = None, expect: str = "") -> subprocess.CompletedProcess:
            wall, cpu, proc = timed(argv, work, env)
            if proc.returncode != 0 or expect not in proc.stdout:
                sys.stderr.write(f"catalog-gen {' '.join(argv)} failed or said something unexpected:\n"
                                 f"{proc.stdout[-1500:]}{proc.stderr[-1500:]}")
                raise SystemExit(1)
            times[key].append((wall, cpu))
            return proc

        for number in range(args.runs):
            # A fresh output folder per run; old ones are deleted only at the end, because ext4
            # creates files slowly for a minute after many deletions (recently deleted inodes).
            out = f"charts-{number}"
            run("fresh", ["render", "catalog", "--out", out], expect=f"{args.leaves} written")
            if chart_count(work / out) != args.leaves:
                print(f"expected {args.leaves} charts, found {chart_count(work / out)}", file=sys.stderr)
                return 1
            run("check", ["render", "catalog", "--out", out, "--check"], expect="0 differ")
            run("again", ["render", "catalog", "--out", out], expect="0 written")
            run("check1", ["render", "catalog", "--out", out, "--check"], one_process, expect="0 differ")
            run("fresh1", ["render", "catalog", "--out", f"{out}-one"], one_process, expect=f"{args.leaves} written")
        files = sum(1 for p in (work / "charts-0").rglob("*") if p.is_file())
        identical = subprocess.run(["diff", "-r", "-q", str(work / "charts-0"), str(work / "charts-0-one")],
                                   capture_output=True, text=True)
        if identical.returncode != 0:
            print(f"workers and one process rendered different trees:\n{identical.stdout[:2000]}", file=sys.stderr)
            return 1

    rows = [
        ("`render` (empty output)", "fresh", 4.0),
        ("`render --check` (nothing changed)", "check", 1.5),
        ("`render` (nothing changed: compared, nothing written)", "again", None),
        ("`render` (empty output), one process", "fresh1", None),
        ("`render --check`, one process", "check1", None),
    ]
    print(f"{args.leaves} leaves -> {args.leaves} charts, {files} files in {args.dir or tempfile.gettempdir()}; "
          f"{args.runs} runs each, whole processes; {os.cpu_count()} CPUs, load average {load_before:.1f} before "
          f"and {os.getloadavg()[0]:.1f} after\n")
    print("| command | median wall | slowest wall | median CPU (user+sys) | target (wall) |")
    print("|---|---:|---:|---:|---:|")
    for label, key, target in rows:
        walls = [w for w, _ in times[key]]
        cpus = [c for _, c in times[key]]
        median = statistics.median(walls)
        mark = "" if target is None else (f"<= {target:.1f} s " + ("(met)" if median <= target else "(missed)"))
        print(f"| {label} | {median:.2f} s | {max(walls):.2f} s | {statistics.median(cpus):.2f} s | {mark} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
