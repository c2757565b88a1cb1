"""Helpers to run the init-container scripts under bash with the stand-in `ollama` (fake_ollama.py).

The PATH the scripts get holds only what the official ollama/ollama image offers them
(bash, coreutils, grep, sed) plus the stand-in: a script reaching for curl, jq or
python fails here as it would in the image.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
FILES = HERE.parents[1] / "templates" / "ollama-inference-load" / "files"
PULL = FILES / "pull-models.sh"
WAIT = FILES / "wait-models.sh"
IMAGE_TOOLS = ("bash", "sh", "timeout", "sha256sum", "date", "sleep", "stat", "mkdir", "mv", "rm", "cat", "tail",
               "head", "tr", "sed", "grep", "dirname", "basename", "env", "ls", "cp", "wc", "sort", "touch", "id")

sys.path.insert(0, str(HERE))
import fake_ollama  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def registry_digest(name: str, entry: dict, *, moved: bool = False) -> str:
    """The digest the stand-in registry's version of a model has (what a correct pin holds)."""
    old = os.environ.get("FAKE_OLLAMA_WRONG_DIGEST")
    os.environ["FAKE_OLLAMA_WRONG_DIGEST"] = "1" if moved else "0"
    try:
        parts = fake_ollama.parse_name(name)
        return hashlib.sha256(fake_ollama.manifest_bytes(fake_ollama.registry_layers(parts, entry))).hexdigest()
    finally:
        if old is None:
            del os.environ["FAKE_OLLAMA_WRONG_DIGEST"]
        else:
            os.environ["FAKE_OLLAMA_WRONG_DIGEST"] = old


@dataclasses.dataclass
class Box:
    """One sandbox: a models dir, the stand-in's state and registry, a data dir, a PATH."""

    root: Path
    port: int

    def __post_init__(self) -> None:
        self.models = self.root / "models"
        self.state = self.root / "state"
        self.data = self.root / "data"
        self.bin = self.root / "bin"
        for d in (self.models, self.state, self.data, self.bin):
            d.mkdir(parents=True, exist_ok=True)
        for tool in IMAGE_TOOLS:
            found = shutil.which(tool)
            if found:
                (self.bin / tool).symlink_to(found)
        wrapper = self.bin / "ollama"
        wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" -S "{HERE / "fake_ollama.py"}" "$@"\n')
        wrapper.chmod(0o755)
        self.registry_entries: dict[str, dict] = {}
        self.env = {
            "PATH": str(self.bin), "HOME": str(self.root), "LC_ALL": "C.UTF-8",
            "OLLAMA_MODELS": str(self.models), "MODELS_FILE": str(self.data / "models.tsv"),
            "FAKE_OLLAMA_STATE": str(self.state), "FAKE_OLLAMA_REGISTRY": str(self.root / "registry.json"),
            "PULL_PORT": str(self.port), "PULL_BACKOFF_SECONDS": "0", "PULL_SERVER_DEADLINE_SECONDS": "10",
            "PULL_ATTEMPT_TIMEOUT_SECONDS": "20", "PULL_RETRIES": "2",
            "WAIT_POLL_SECONDS": "0.1", "WAIT_DEADLINE_SECONDS": "5",
        }
        self.publish({})

    def publish(self, entries: dict[str, dict]) -> None:
        self.registry_entries.update(entries)
        (self.root / "registry.json").write_text(json.dumps(self.registry_entries))

    def models_file(self, text: str, files: dict[str, str] | None = None) -> None:
        (self.data / "models.tsv").write_text(text)
        for name, content in (files or {}).items():
            (self.data / name).write_text(content)

    def run(self, script: Path = PULL, timeout: float = 60, **overrides: str) -> subprocess.CompletedProcess:
        env = {**self.env, **overrides}
        return subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True, timeout=timeout)

    def popen(self, script: Path = PULL, **overrides: str) -> subprocess.Popen:
        env = {**self.env, **overrides}
        return subprocess.Popen(["bash", str(script)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def lines(self, file: str) -> list[str]:
        path = self.state / file
        return path.read_text().splitlines() if path.exists() else []

    def calls(self) -> list[list[str]]:
        return [json.loads(line) for line in self.lines("calls.jsonl")]

    def registry_requests(self) -> list[str]:
        return self.lines("registry.log")

    def server_starts(self) -> int:
        return len(self.lines("serve.log"))

    def serve_pids(self) -> list[int]:
        return [int(p) for p in self.lines("serve.pid")]

    def manifest(self, name: str) -> Path:
        return self.models / "manifests" / Path(*fake_ollama.parse_name(name))

    def listening(self) -> bool:
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", self.port)) == 0


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is dead for our purposes
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False
