"""Helpers of the CLI safety tests: scratch catalogs, the real CLI as a child process, a pseudo-terminal."""

from __future__ import annotations

import fcntl
import os
import pty
import resource
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
LINT_GOOD = REPO / "tests" / "lint" / "fixtures" / "good"
CRDS = REPO / ".." / "shared" / "crds"
CLI = [sys.executable, "-m", "catalog_gen.cli"]

BASE = {
    "workloadType": "OLLAMA_INFERENCE_LOAD",
    "serviceName": "svc",
    "serviceCatalog": "ml-inference",
    "namespace": "ml-test",
    "environment": "dev",
    "model": "qwen2.5:0.5b",
    "gpu": {"count": 0, "vendor": "none"},
}


def leaf(**changes) -> dict:
    return {**BASE, **changes}


def make_catalog(root: Path, count: int = 3, *, model: str = "qwen2.5:0.5b") -> Path:
    """A catalog of `count` leaves (svc-000 ...) in root/catalog, with a .git marker at root (a repository)."""
    (root / ".git").mkdir(parents=True, exist_ok=True)
    catalog = root / "catalog"
    for i in range(count):
        data = leaf(serviceName=f"svc-{i:03d}", model=model)
        path = catalog / "dev" / f"svc-{i:03d}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return catalog


def limit_memory(megabytes: int):
    """A preexec_fn: the child's address space is capped, so unbounded reading dies instead of eating the machine."""

    def apply() -> None:
        limit = megabytes * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    return apply


def cli(*args: str, cwd: Path, timeout: float = 60, memory_mb: int | None = None, env: dict | None = None,
        **kw) -> subprocess.CompletedProcess:
    """The real CLI as a child process, with a deadline (a hang fails the test instead of hanging it)."""
    return subprocess.run([*CLI, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          preexec_fn=limit_memory(memory_mb) if memory_mb else None,
                          env={**os.environ, **(env or {}), "PYTHONPATH": str(REPO)}, **kw)


def tree(root: Path) -> dict[str, bytes]:
    """Every file under root (relative path -> bytes), the lock file excluded."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and not p.is_symlink()}


def children_of(pid: int) -> set[int]:
    """Every descendant of a process, as Linux lists them (/proc/PID/task/TID/children)."""
    found: set[int] = set()
    todo = [pid]
    while todo:
        current = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{current}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                with open(f"/proc/{current}/task/{task}/children") as handle:
                    kids = {int(k) for k in handle.read().split()}
            except OSError:
                continue
            todo.extend(kids - found)
            found |= kids
    return found


def alive(pid: int) -> bool:
    """Whether a process exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def run_on_terminal(args: list[str], cwd: Path, answers: list[tuple[str, str | bytes | int]] = (), timeout: float = 60,
                    env: dict | None = None) -> tuple[int, str]:
    """Run the CLI on a pseudo-terminal (stdin, stdout and stderr); answer each prompt (waited for by its text).

    An answer given as bytes is written as it is (b"\\x04" is Ctrl-D at the terminal); an int is a signal sent
    to the process (signal.SIGINT for Ctrl-C: the child has no controlling terminal to turn \\x03 into one).
    """
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a terminal of 24 rows, 100 columns
    process = subprocess.Popen([*CLI, *args], cwd=cwd, stdin=terminal, stdout=terminal, stderr=terminal, close_fds=True,
                               start_new_session=True, env={**os.environ, **(env or {}), "PYTHONPATH": str(REPO)})
    os.close(terminal)
    seen, pending = "", list(answers)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([controller], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(controller, 65536).decode("utf-8", "replace")
                except OSError:  # the child closed the terminal
                    break
                if not chunk:
                    break
                seen += chunk
            if pending and pending[0][0] in seen.rsplit("\n", 1)[-1]:
                answer = pending.pop(0)[1]
                if isinstance(answer, int):
                    os.kill(process.pid, answer)
                else:
                    os.write(controller, answer if isinstance(answer, bytes) else (answer + "\n").encode())
            elif process.poll() is not None and not ready:
                break
        try:
            return process.wait(timeout=10), seen
        except subprocess.TimeoutExpired:  # still running: a failure the transcript explains
            return -1, seen + "\n[still running at the deadline; killed]"
    finally:
        os.close(controller)
        if process.poll() is None:
            process.kill()
            process.wait()
