"""Benchmark: `catalog-gen pin` / `pin --check` on many leaves and `catalog-gen mirror` of a large blob.

Run: `.venv/bin/python benchmarks/registry.py [--leaves 200] [--models 20] [--blob-mb 64]`

Starts Debian's docker-registry twice on loopback (tests/registry/oci_registry.py), pushes
`--models` small Ollama-format models, writes `--leaves` leaves that each use three of them
through a mirror named in `_defaults.yaml`, then times the real commands as processes:
`pin` (writes every leaf), `pin --check` (nothing moved), `mirror` of one model with a
`--blob-mb` weights layer between the two registries, and the second `mirror` run (nothing to move).
Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "registry"))
from oci_registry import push_model, start_registry  # noqa: E402

CLI = [str(ROOT / ".venv" / "bin" / "catalog-gen")]


def timed(args: list[str], cwd: Path) -> tuple[float, int]:
    started = time.perf_counter()
    done = subprocess.run(CLI + args, cwd=cwd, capture_output=True, text=True)
    return time.perf_counter() - started, done.returncode


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--leaves", type=int, default=200)
    ap.add_argument("--models", type=int, default=20)
    ap.add_argument("--blob-mb", type=int, default=64)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        source, dest = start_registry(work / "r1"), start_registry(work / "r2")
        try:
            for i in range(args.models):
                push_model(source, f"library/m{i}", "7b")
            push_model(source, "library/big", "7b", size=args.blob_mb * 2**20)
            cat = work / "repo" / "catalog"
            (cat / "dev").mkdir(parents=True)
            (work / "repo" / ".git").mkdir()
            (cat / "_defaults.yaml").write_text(f"# mirror\nregistry:\n  mirror: '{source.host}'\n  insecure: true\n")
            for n in range(args.leaves):
                models = "".join(f"  # model {k}\n  - name: m{(n + k) % args.models}:7b\n" for k in range(3))
                (cat / "dev" / f"s{n}.yaml").write_text(
                    f"# leaf {n}\nworkloadType: OLLAMA_INFERENCE_LOAD\nserviceName: s{n}\nserviceCatalog: c\n"
                    f"namespace: ns{n}\nenvironment: dev\nmodels:\n{models}")
            big = work / "repo" / "big.yaml"
            big.write_text(f"workloadType: OLLAMA_INFERENCE_LOAD\nserviceName: big\nserviceCatalog: c\nnamespace: n\n"
                           f"environment: x\nmodels:\n  - name: {source.host}/library/big:7b\n    insecure: true\n")
            rows = [
                ("validate, same catalog (the floor: pin validates first)", timed(["validate", "catalog"], work / "repo")),
                (f"pin ({args.leaves} leaves, {3 * args.leaves} models, {args.models} distinct)", timed(["pin", "catalog"], work / "repo")),
                ("pin --check (nothing moved)", timed(["pin", "--check", "catalog"], work / "repo")),
                (f"mirror, one model with a {args.blob_mb} MiB layer", timed(["mirror", "big.yaml", "--to", dest.host, "--insecure", "-q",
                                                                          "--spool", str(work / "spool")], work / "repo")),
                ("mirror again (nothing to move)", timed(["mirror", "big.yaml", "--to", dest.host, "--insecure", "-q",
                                                         "--spool", str(work / "spool")], work / "repo")),
            ]
        finally:
            source.stop()
            dest.stop()
    print("| command | wall-clock | exit |\n|---|---|---|")
    for name, (seconds, rc) in rows:
        print(f"| {name} | {seconds:.2f} s | {rc} |")


if __name__ == "__main__":
    main()
