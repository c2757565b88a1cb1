"""Benchmark: `catalog-gen validate` against `check-jsonschema` on 1000 generated leaves.

Run: `.venv/bin/python benchmarks/validate.py [--leaves 1000] [--runs 7]`

It writes a catalog of realistic leaves (nested environment/team folders, a
`_defaults.yaml` at three levels, about 30 leaves with one varied error each)
into a temporary folder, then times both tools as whole processes, one run
of each in turn, and prints a Markdown table of the median wall-clock times.

It also checks what each tool said: every injected error must come back from
catalog-gen with its code at the expected line (and a column), and no clean
leaf may get a finding. check-jsonschema validates each raw file against the
same schema; it reports no lines and cannot see defaults, cross-leaf or
semantic problems, so the table says how many broken files it flagged.

Targets (2-core machine): catalog-gen at most 1.0 s median for 1000 leaves,
and at least 2x faster than check-jsonschema.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "schemas" / "ollama-inference-load.schema.json"
ENVIRONMENTS = ("dev", "staging", "prod")
TEAMS = ("search", "support", "coding", "docs", "sales", "risk", "media", "infra", "legal", "growth")
MODELS = ("llama3.1:8b", "llama3.2:3b", "qwen2.5:7b", "qwen2.5:0.5b", "mistral:7b", "phi3:mini",
          "gemma2:9b", "nomic-embed-text:v1.5", "qwen2.5-coder:14b", "llama3.1:70b")
PRODUCTS = ("NVIDIA-A10G", "NVIDIA-L4", "NVIDIA-L40S", "NVIDIA-GeForce-RTX-5070-Ti")

ROOT_DEFAULTS = """\
# Shared by every leaf.
ollama:
  image: ollama/ollama
  version: "0.33.0"
router:
  image:
    repository: ghcr.io/catalog-gen/catalog-gen
    tag: "0.1.0"
ownership:
  owner: group:ml-platform
"""
ENV_DEFAULTS = {
    "dev": "container:\n  replicas: 1\n",
    "staging": "container:\n  replicas: 1\ncache:\n  mode: pvc\n",
    "prod": "container:\n  replicas: 2\ncache:\n  mode: pvc\nownership:\n  lifecycle: production\n"
            "ingress:\n  tls:\n    issuer: letsencrypt-prod\n",
}
TEAM_DEFAULTS = "ownership:\n  system: {team}\ningress:\n  gatewayClassName: cilium\n  controller: cilium\n"


def clean_leaf(rng: random.Random, env: str, team: str, number: int, minimal: bool = False) -> str:
    """A valid leaf; serviceName and host are unique per environment.

    `minimal` leaves (the ones that get an error) use the `model` shorthand and
    none of the optional sections an error is injected into, so an injected
    block never collides with an existing key.
    """
    name = f"{team}-svc-{number:04d}"
    lines = [
        "# yaml-language-server: $schema=../../../schemas/ollama-inference-load.schema.json",
        "workloadType: OLLAMA_INFERENCE_LOAD",
        f"serviceName: {name}",
        "serviceCatalog: ml-inference",
        f"namespace: ml-{team}",
        f"environment: {env}",
    ]
    shape = 0 if minimal else rng.randrange(4)
    chosen = [rng.choice(MODELS)] if shape == 0 else rng.sample(MODELS, shape)
    if shape == 0:
        lines.append(f'model: "{chosen[0]}"')
    else:
        lines.append("models:")
        for model in chosen:
            lines.append(f"  - name: {model}")
            if rng.random() < 0.3:
                lines.append(f"    digest: {rng.getrandbits(256):064x}")
            if rng.random() < 0.2:
                lines.append("    keepWarm: false")
    gpus = rng.choice((0, 1, 1, 2))
    lines += ["gpu:", f"  count: {gpus}"]
    if gpus:  # a GPU that holds the models (validate refuses one that does not: leaf.gpu-memory)
        product = rng.choice(PRODUCTS)
        if "llama3.1:70b" in chosen:
            product = "NVIDIA-H100-80GB-HBM3"
        elif len(chosen) > 1:
            product = "NVIDIA-L40S"
        lines.append(f"  product: {product}")
    else:
        lines.append("  vendor: none")
    if not minimal and gpus == 2 and rng.random() < 0.5:
        lines += ["ollama:", "  processes: 2"]
    if not minimal and rng.random() < 0.5 and gpus:  # on CPU a small explicit limit cannot hold the models (leaf.memory-limit)
        cpu, memory = rng.choice((("500m", "2Gi"), ("1", "4Gi"), ("2", "8Gi")))
        lines += ["container:", "  resources:", "    requests:", f'      cpu: "{cpu}"', f'      memory: "{memory}"',
                  "    limits:", f"      memory: {memory}"]
    if not minimal and env != "prod" and rng.random() < 0.3:
        lines += ["cache:", "  mode: pvc", f"  size: {rng.choice((80, 120, 160))}Gi"]
    if minimal or rng.random() < 0.7:
        lines += ["ingress:", "  enabled: true", f"  host: {name}.{env}.example.com"]
    if not minimal and rng.random() < 0.3:
        lines += ["autoscaling:", "  enabled: true", "  minReplicas: 1", f"  maxReplicas: {rng.choice((3, 5, 8))}"]
    if not minimal and rng.random() < 0.4:
        lines += ["smoke:", "  objectives:", f"    ttftMs: {rng.choice((1500, 3000, 5000))}"]
    return "\n".join(lines) + "\n"


def replace(text: str, prefix: str, new: str, offset: int = 0) -> tuple[str, int]:
    """Replace the first line starting with `prefix`; return the text and that line's number plus `offset`."""
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if line.startswith(prefix):
            lines[i] = new
            return "\n".join(lines), i + 1 + offset
    raise AssertionError(f"no line starts with {prefix!r}")


def append(text: str, block: str, offset: int = 1) -> tuple[str, int]:
    """Append a block; return the text and the line number of its `offset`-th line."""
    return text + block, text.count("\n") + offset


PIN = "46e0c10c039e019119339687c3c1757cc81b9da49709a3b3924863ba87ca666e"
# Each breaker turns a minimal clean leaf into a broken one: (text, expected line, expected code).
# `other` is a clean leaf in the same folder (same environment and namespace), for the cross-leaf errors.
BREAKERS = [
    lambda t, other: (*append(t, "gpuu:\n  count: 1\n"), "schema.unknown-key"),
    lambda t, other: (*replace(t, "environment:", "environment: dev\nenvironment: prod", 1), "yaml.duplicate-key"),
    lambda t, other: (*append(t, "container:\n  replicas: 1\n  resources:\n    requests:\n      cpu: lots\n", 5), "schema.format"),
    lambda t, other: (*append(t, "container:\n  resources:\n    limits:\n      memory: 4GB\n", 4), "schema.format"),
    lambda t, other: (*replace(t, "serviceCatalog:", "serviceCatalog: ml-inference\n\tteam: x", 1), "yaml.tab"),
    lambda t, other: (*append(t, 'cache:\n  mode: "pvc\n', 2), "yaml.syntax"),
    lambda t, other: (*append(t, "router:\n  enabled: yes\n", 2), "schema.type"),
    lambda t, other: (*replace(t, "serviceName:", "serviceName: an-overly-long-service-name-for-one-helm-release"), "schema.length"),
    lambda t, other: (*replace(t, "namespace:", "namespace: kube-system"), "leaf.namespace"),
    lambda t, other: (*replace(t, "namespace:", "namespace: ML_Team"), "schema.format"),
    lambda t, other: (*replace(t, "workloadType:", "workloadType: OLLAMA_INFERENCE"), "leaf.workload-type"),
    lambda t, other: (*append(t, "autoscaling:\n  enabled: true\n  minReplicas: 5\n  maxReplicas: 2\n", 3), "leaf.autoscaling"),
    lambda t, other: (*append(t, "ollama:\n  version: latest\n", 2), "leaf.image-tag"),
    lambda t, other: (*append(t, "smoke:\n  concurrency: 0\n", 2), "schema.range"),
    lambda t, other: (*append(t, "ownership:\n  lifecycle: prod\n", 2), "schema.enum"),
    lambda t, other: (*replace(t, "model:", 'model: "$(reboot)"'), "schema.format"),
    lambda t, other: (*replace(t, "model:", 'model: "{{ .Release.Name }}"'), "schema.format"),
    lambda t, other: (*replace(t, "model:", f"model: llama3.1@sha256:{PIN}"), "schema.format"),
    lambda t, other: (*append(t, "ollama:\n  processes: 3\n", 2), "leaf.gpu"),
    lambda t, other: (*replace(t, "  host:", "  host: LLM.example.com"), "leaf.ingress"),
    lambda t, other: (*append(t, 'container:\n  resources:\n    requests:\n      memory: 8Gi\n    limits:\n      memory: 4Gi\n', 4),
                      "leaf.resources"),
    lambda t, other: (*replace(t, "serviceName:", f"serviceName: {other[0]}"), "catalog.duplicate-service"),
    lambda t, other: (*replace(t, "  host:", f"  host: {other[1]}"), "catalog.duplicate-host"),
]


def write_catalog(base: Path, leaves: int, errors: int, seed: int = 2) -> dict[str, tuple[str, int]]:
    """Write the catalog; return {relative path: (expected code, expected line)} of the broken leaves."""
    rng = random.Random(seed)
    catalog = base / "catalog"
    catalog.mkdir(parents=True)
    (catalog / "_defaults.yaml").write_text(ROOT_DEFAULTS)
    folders = []
    for env in ENVIRONMENTS:
        (catalog / env).mkdir()
        (catalog / env / "_defaults.yaml").write_text(ENV_DEFAULTS[env])
        for k, team in enumerate(TEAMS):
            folder = catalog / env / team
            folder.mkdir()
            if k % 2 == 0:
                (folder / "_defaults.yaml").write_text(TEAM_DEFAULTS.format(team=team))
            folders.append((env, team, folder))
    # broken leaves come after a clean one in their folder, which the cross-leaf breakers copy
    broken_at = set(rng.sample(range(len(folders), leaves), errors))
    clean_in_folder: dict[Path, tuple[str, str]] = {}
    expected: dict[str, tuple[str, int]] = {}
    for number in range(leaves):
        env, team, folder = folders[number % len(folders)]
        path = folder / f"svc-{number:04d}.yaml"
        if number in broken_at:
            text = clean_leaf(rng, env, team, number, minimal=True)
            text, line, code = BREAKERS[len(expected) % len(BREAKERS)](text, clean_in_folder[folder])
            expected[str(path.relative_to(base))] = (code, line)
        else:
            text = clean_leaf(rng, env, team, number)
            name = f"{team}-svc-{number:04d}"
            if "\n  host:" in text or folder not in clean_in_folder:
                clean_in_folder[folder] = (name, f"{name}.{env}.example.com" if "\n  host:" in text else "")
        path.write_text(text)
    return expected


def time_runs(commands: dict[str, list[str]], cwd: Path, runs: int) -> dict[str, list[float]]:
    """Wall-clock seconds of each command, run in turn so both see the same machine load."""
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, command in commands.items():
            start = time.perf_counter()
            subprocess.run(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
            times[name].append(time.perf_counter() - start)
    return times


def tool(name: str) -> str:
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if not found:
        sys.exit(f"{name} is not installed; run `make setup-test` (it installs the test extras)")
    return found


def check_catalog_gen(catalog_gen: str, base: Path, expected: dict[str, tuple[str, int]]) -> tuple[int, list[str]]:
    """How many injected errors came back with their code at the right line and a column; and what went wrong."""
    done = subprocess.run([catalog_gen, "validate", "catalog", "--format", "json"], cwd=base, capture_output=True, text=True)
    findings = json.loads(done.stdout)["findings"]
    problems = []
    if done.returncode != 1:
        problems.append(f"exit code {done.returncode}, expected 1")
    located = 0
    for path, (code, line) in sorted(expected.items()):
        hits = [f for f in findings if f["file"] == path and f["code"] == code and f["line"] == line and f["column"] > 0]
        if hits:
            located += 1
        else:
            got = [(f["code"], f["line"], f["column"]) for f in findings if f["file"] == path]
            problems.append(f"{path}: expected {code} at line {line}, got {got}")
    strays = sorted({f["file"] for f in findings} - set(expected))
    problems += [f"{path}: a clean leaf got a finding" for path in strays]
    return located, problems


def flagged_by_check_jsonschema(check: list[str], base: Path, expected: dict[str, tuple[str, int]]) -> int:
    done = subprocess.run(check, cwd=base, capture_output=True, text=True)
    output = done.stdout + done.stderr
    return sum(1 for path in expected if path in output)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leaves", type=int, default=1000)
    parser.add_argument("--errors", type=int, default=30)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args(argv)
    catalog_gen, check_jsonschema = tool("catalog-gen"), tool("check-jsonschema")
    with tempfile.TemporaryDirectory(prefix="catalog-gen-bench-") as tmp:
        base = Path(tmp)
        expected = write_catalog(base, args.leaves, args.errors)
        files = sorted(str(p.relative_to(base)) for p in (base / "catalog").rglob("svc-*.yaml"))
        commands = {
            "catalog-gen validate": [catalog_gen, "validate", "catalog"],
            "check-jsonschema": [check_jsonschema, "--schemafile", str(SCHEMA), *files],
        }
        located, problems = check_catalog_gen(catalog_gen, base, expected)
        flagged = flagged_by_check_jsonschema(commands["check-jsonschema"], base, expected)
        times = time_runs(commands, base, args.runs)
    ours, theirs = statistics.median(times["catalog-gen validate"]), statistics.median(times["check-jsonschema"])
    n = len(expected)
    print(f"{args.leaves} leaves ({n} with one error each), {args.runs} runs each, median wall clock\n")
    print("| tool | median (s) | min (s) | broken leaves flagged | errors with line and column |")
    print("|---|---:|---:|---:|---|")
    print(f"| `catalog-gen validate catalog` | {ours:.3f} | {min(times['catalog-gen validate']):.3f} | {located}/{n} "
          f"| {'yes, every one at the expected line' if located == n and not problems else 'NO'} |")
    print(f"| `check-jsonschema --schemafile {SCHEMA.relative_to(ROOT)}` | {theirs:.3f} | {min(times['check-jsonschema']):.3f} "
          f"| {flagged}/{n} | no (reports no lines) |")
    print(f"\ncatalog-gen is {theirs / ours:.1f}x faster. Targets: <= 1.0 s: {'met' if ours <= 1.0 else 'MISSED'}; "
          f">= 2x: {'met' if theirs / ours >= 2 else 'MISSED'}.")
    for problem in problems:
        print(f"- {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
