"""Leaves, doubles and runs shared by the smoke tests."""

from __future__ import annotations

import contextlib
import threading
import time

from catalog_gen.catalog.model import OllamaInferenceLoad
from catalog_gen.smoke.results import SmokeReport, Status
from catalog_gen.smoke.runner import Options, run
from catalog_gen.testing.ollama_double import DoubleModel, Knobs, OllamaDouble

TEXT = "llama3.1:8b"
EMBED = "nomic-embed-text:v1.5"


def leaf_data(**overrides) -> dict:
    data = {
        "workloadType": "OLLAMA_INFERENCE_LOAD",
        "serviceName": "chat",
        "serviceCatalog": "ml-inference",
        "namespace": "ml",
        "environment": "dev",
        "models": [{"name": TEXT}, {"name": EMBED, "kind": "embedding"}],
        "router": {"enabled": False},
        "smoke": {"concurrency": 4, "timeoutSeconds": 5, "warmupSeconds": 1},
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return data


def make_leaf(**overrides) -> OllamaInferenceLoad:
    return OllamaInferenceLoad.model_validate(leaf_data(**overrides))


def make_double(**knobs) -> OllamaDouble:
    return OllamaDouble(
        [
            DoubleModel(TEXT, capabilities=("completion", "tools")),
            DoubleModel(EMBED, family="nomic-bert", parameter_size="137M", capabilities=("embedding",)),
        ],
        Knobs(**{"num_parallel": 4, **knobs}),
    )


def smoke(leaf: OllamaInferenceLoad, url: str, **options) -> SmokeReport:
    return run(leaf, "catalog/dev/chat.yaml", Options(url, **options))


def statuses(report: SmokeReport) -> dict[str, Status]:
    return {r.name: r.status for r in report.results}


def result(report: SmokeReport, name: str):
    return next(r for r in report.results if r.name == name)


def not_passed(report: SmokeReport) -> dict[str, Status]:
    return {name: status for name, status in statuses(report).items() if status is not Status.PASSED}


# --- a real router (catalog_gen.router) in front of a double ----------------------------------------

FAST_ROUTER = {"poll_interval": 0.05, "breaker_cooldown": 0.2, "connect_timeout": 1.0}


def outside_address() -> str:
    """This machine's non-loopback address: connecting to it makes the router see a remote caller."""
    import socket

    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("192.0.2.1", 9))  # no packet is sent; this only picks the outgoing interface
        address = probe.getsockname()[0]
    finally:
        probe.close()
    assert not address.startswith("127."), "these tests need a non-loopback interface to play a caller outside the pod"
    return address


@contextlib.contextmanager
def run_router(backend: str, models: list[str], **settings):
    """A real router on 0.0.0.0:<free port> in front of ``backend``; yields the port."""
    from catalog_gen.router.config import load_config
    from catalog_gen.router.server import bind, make_server

    config = load_config(None, host="0.0.0.0", port=0, backends=[backend], models=models, **{**FAST_ROUTER, **settings})
    sock = bind("0.0.0.0", 0)
    server = make_server(config, sock)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="router", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started and thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert server.started, "the router did not start"
        yield sock.getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()
