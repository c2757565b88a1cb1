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
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "catalog_gen.cli"]
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


def timed(args: list[str], cwd: Path) -> tuple[float, subprocess.CompletedProcess]:
    start = time.perf_counter()
    proc = subprocess.run(CLI + args, cwd=cwd, capture_output=True, text=True)
    return time.perf_counter() - start, proc


def chart_count(out: Path) -> int:
    return len(list(out.glob("*/*/Chart.yaml")))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leaves", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="catalog-gen-bench-render-") as tmp:
        work = Path(tmp)
        write_catalog(work, args.leaves, args.seed)
        fresh, check, again = [], [], []
        for run in range(args.runs):
            out = work / "charts"
            shutil.rmtree(out, ignore_errors=True)
            seconds, proc = timed(["render", "catalog", "--out", "charts"], work)
            if proc.returncode != 0:
                sys.stderr.write(proc.stdout[-2000:] + proc.stderr[-2000:])
                return 1
            fresh.append(seconds)
            if chart_count(out) != args.leaves:
                print(f"expected {args.leaves} charts, found {chart_count(out)}", file=sys.stderr)
                return 1
            seconds, proc = timed(["render", "catalog", "--out", "charts", "--check"], work)
            if proc.returncode != 0:
                sys.stderr.write(proc.stdout[-2000:] + proc.stderr[-2000:])
                return 1
            check.append(seconds)
            seconds, proc = timed(["render", "catalog", "--out", "charts"], work)
            if proc.returncode != 0 or "0 written" not in proc.stdout:
                print(f"a second render changed something: {proc.stdout[-500:]}{proc.stderr[-500:]}", file=sys.stderr)
                return 1
            again.append(seconds)
        files = sum(1 for p in (work / "charts").rglob("*") if p.is_file())

    rows = [
        ("`render` (empty output)", fresh, 4.0),
        ("`render --check` (nothing changed)", check, 1.5),
        ("`render` (nothing changed, nothing written)", again, None),
    ]
    print(f"{args.leaves} leaves -> {args.leaves} charts, {files} files; {args.runs} runs each, whole processes\n")
    print("| command | median | slowest | target |")
    print("|---|---:|---:|---:|")
    for label, times, target in rows:
        median = statistics.median(times)
        mark = "" if target is None else (f"<= {target:.1f} s " + ("(met)" if median <= target else "(MISSED)"))
        print(f"| {label} | {median:.2f} s | {max(times):.2f} s | {mark} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
