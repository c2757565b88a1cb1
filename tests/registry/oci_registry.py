"""A real OCI registry (Debian's `docker-registry`, distribution v2) on loopback, and small Ollama-format models.

`start_registry` runs the binary on a free port with its storage in a temporary folder and a
config file of its own, waits for `GET /v2/` and returns a handle that stops it by PID.
`push_model` uploads an Ollama-shaped model (Ollama's manifest and layer media types) with
plain HTTP calls, so the tests do not depend on the client they test.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

BINARY = shutil.which("docker-registry") or shutil.which("registry")
MANIFEST_V2 = "application/vnd.docker.distribution.manifest.v2+json"
CONFIG_TYPE = "application/vnd.docker.container.image.v1+json"
MODEL_TYPE = "application/vnd.ollama.image.model"
TEMPLATE_TYPE = "application/vnd.ollama.image.template"
PARAMS_TYPE = "application/vnd.ollama.image.params"
SKIP_REASON = ("Debian's docker-registry is not installed (`make setup-test` installs it as root: "
               "apt-get update && apt-get install -y docker-registry)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclasses.dataclass
class RunningRegistry:
    host: str  # 127.0.0.1:PORT
    storage: Path
    process: subprocess.Popen

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    def stop(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait()


def start_registry(root: Path) -> RunningRegistry:
    if BINARY is None:
        pytest.skip(SKIP_REASON)
    storage = root / "storage"
    storage.mkdir(parents=True)
    port = free_port()
    config = root / "config.yml"
    config.write_text(
        "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n"
        f"storage:\n  filesystem:\n    rootdirectory: {storage}\n  delete:\n    enabled: true\n"
        f"http:\n  addr: 127.0.0.1:{port}\n"
    )
    log = open(root / "registry.log", "wb")
    process = subprocess.Popen([BINARY, "serve", str(config)], stdout=log, stderr=subprocess.STDOUT)
    log.close()
    handle = RunningRegistry(f"127.0.0.1:{port}", storage, process)
    deadline = time.monotonic() + 15
    while True:
        try:
            if httpx.get(f"{handle.url}/v2/", timeout=1).status_code == 200:
                return handle
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            handle.stop()
            raise RuntimeError(f"docker-registry did not start: {(root / 'registry.log').read_text()[-2000:]}")
        time.sleep(0.05)


def digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def model_layers(name: str, variant: str = "a", size: int = 2048) -> list[tuple[str, bytes]]:
    """Config first, then the weights and a template: content derives from name and variant."""
    seed = hashlib.sha256(f"{name}|{variant}".encode()).digest()
    weights = (b"GGUF" + seed * (size // len(seed) + 1))[:size]
    config = json.dumps({"model_format": "gguf", "model_family": name, "file_type": "Q4_K_M", "variant": variant},
                        sort_keys=True).encode()
    return [(CONFIG_TYPE, config), (MODEL_TYPE, weights), (TEMPLATE_TYPE, b"{{ .Prompt }}"),
            (PARAMS_TYPE, json.dumps({"stop": ["<|end|>"]}).encode())]


def manifest_of(layers: list[tuple[str, bytes]]) -> bytes:
    """A manifest serialised as Ollama's Go code writes one (compact JSON, Ollama's field order)."""
    (cfg_type, cfg), rest = layers[0], layers[1:]
    doc = {"schemaVersion": 2, "mediaType": MANIFEST_V2,
           "config": {"mediaType": cfg_type, "digest": digest(cfg), "size": len(cfg)},
           "layers": [{"mediaType": t, "digest": digest(b), "size": len(b)} for t, b in rest]}
    return json.dumps(doc, separators=(",", ":")).encode()


def push_model(registry: RunningRegistry, repository: str, tag: str, *, variant: str = "a", size: int = 2048) -> str:
    """Push a model to `repository:tag`; returns the 64-hex digest Ollama will report for it."""
    layers = model_layers(repository, variant, size)
    with httpx.Client(base_url=registry.url, timeout=10) as client:
        for _, data in layers:
            d = digest(data)
            if client.head(f"/v2/{repository}/blobs/{d}").status_code == 200:
                continue
            started = client.post(f"/v2/{repository}/blobs/uploads/")
            assert started.status_code == 202, started.text
            location = httpx.URL(registry.url).join(started.headers["Location"])
            done = client.put(location.copy_merge_params({"digest": d}), content=data,
                              headers={"Content-Type": "application/octet-stream"})
            assert done.status_code == 201, done.text
        body = manifest_of(layers)
        put = client.put(f"/v2/{repository}/manifests/{tag}", content=body, headers={"Content-Type": MANIFEST_V2})
        assert put.status_code == 201, put.text
    return hashlib.sha256(body).hexdigest()


def blob_uploads(registry: RunningRegistry) -> int:
    """Blob data files in the registry's storage (distinct blobs it holds)."""
    root = registry.storage / "docker" / "registry" / "v2" / "blobs"
    return sum(1 for _ in root.rglob("data")) if root.exists() else 0
