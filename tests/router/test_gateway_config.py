"""Role gateway in the router config: keys, flags, and the mistakes they refuse (config.py)."""

from __future__ import annotations

import json

import pytest

from catalog_gen.errors import InputError
from catalog_gen.router.config import WorkerDiscovery, load_config


def _file(tmp_path, data) -> str:
    path = tmp_path / "gateway.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_a_gateway_file_with_discovery_and_pool_keys(tmp_path):
    config = load_config(_file(tmp_path, {
        "role": "gateway", "workerDiscovery": {"service": "chat-workers", "namespace": "ml"},
        "workerSlots": 2, "prefixAffinity": False, "hashLoadFactor": 1.5,
        "models": [{"name": "llama3.2:3b", "minWorkers": 2}, {"name": "qwen2.5:0.5b", "keepWarm": False}]}))
    assert config.role == "gateway" and config.worker_discovery == WorkerDiscovery("chat-workers", "ml", "router")
    assert (config.worker_slots, config.prefix_affinity, config.hash_load_factor) == (2, False, 1.5)
    assert [m.min_workers for m in config.models] == [2, 0]


def test_flags_build_discovery_and_override_the_file(tmp_path):
    path = _file(tmp_path, {"role": "gateway", "workerDiscovery": {"service": "a", "namespace": "ml", "portName": "web"}})
    config = load_config(path, worker_service="b", worker_namespace=None, worker_port_name=None,
                         models=["llama3.2:3b,minWorkers=3"])
    assert config.worker_discovery == WorkerDiscovery("b", "ml", "web")
    assert config.models[0].min_workers == 3
    static = load_config(None, role="gateway", workers=["http://10.0.0.5:8080", "http://10.0.0.6:8080"])
    assert static.workers == ("http://10.0.0.5:8080", "http://10.0.0.6:8080") and static.worker_discovery is None


def test_the_sidecar_defaults_are_unchanged():
    config = load_config(None, backends=["http://127.0.0.1:11434"])
    assert config.role == "sidecar" and not config.workers and config.worker_discovery is None


@pytest.fixture(autouse=True)
def _not_in_a_pod(tmp_path, monkeypatch):
    monkeypatch.setattr("catalog_gen.router.config.POD_NAMESPACE_FILE", str(tmp_path / "no-service-account"))


def test_in_a_pod_the_namespace_defaults_to_its_own(tmp_path, monkeypatch):
    file = tmp_path / "namespace"
    file.write_text("ml-prod\n")
    monkeypatch.setattr("catalog_gen.router.config.POD_NAMESPACE_FILE", str(file))
    config = load_config(None, role="gateway", worker_service="chat-workers")
    assert config.worker_discovery == WorkerDiscovery("chat-workers", "ml-prod", "router")


@pytest.mark.parametrize("data, message", [
    ({"role": "gateway"}, "needs exactly one of \"workers\" and \"workerDiscovery\", got neither"),
    ({"role": "gateway", "workers": ["http://a:1"], "workerDiscovery": {"service": "w", "namespace": "ml"}},
     "got both"),
    ({"role": "gateway", "workers": ["http://a:1"], "backends": ["http://b:1"]}, "\"backends\" (Ollama processes) are for role sidecar"),
    ({"backends": ["http://b:1"], "workers": ["http://a:1"]}, "\"workers\" is a gateway setting but the role is sidecar"),
    ({"backends": ["http://b:1"], "workerDiscovery": {"service": "w", "namespace": "ml"}}, "\"workerDiscovery\" is a gateway setting"),
    ({"role": "pool", "workers": ["http://a:1"]}, "key \"role\" must be \"sidecar\" or \"gateway\""),
    ({"role": "gateway", "workers": ["10.0.0.5:8080"]}, "is not a backend URL"),
    ({"role": "gateway", "workerDiscovery": {"service": "Chat_Workers", "namespace": "ml"}}, "\"service\" must be a Kubernetes name"),
    ({"role": "gateway", "workerDiscovery": {"service": "w"}}, "\"namespace\" is missing and this is not a pod"),
    ({"role": "gateway", "workerDiscovery": {"service": "w", "namespace": "ML"}}, "\"namespace\" must be a Kubernetes name"),
    ({"role": "gateway", "workerDiscovery": {"service": "w", "namespace": "ml", "port": "router"}}, "unknown key \"port\""),
    ({"role": "gateway", "workers": ["http://a:1"], "hashLoadFactor": 1.0}, "must be a number above 1"),
    ({"role": "gateway", "workers": ["http://a:1"], "prefixAffinity": "yes"}, "must be true or false"),
    ({"role": "gateway", "workers": ["http://a:1"], "workerSlots": 0}, "must be an integer >= 1"),
    ({"role": "gateway", "workers": ["http://a:1"], "models": [{"name": "a:1", "minWorkers": -1}]}, "minWorkers must be an integer >= 0"),
])
def test_mistakes_are_named(tmp_path, data, message):
    with pytest.raises(InputError) as caught:
        load_config(_file(tmp_path, data))
    assert message in str(caught.value)


def test_a_bad_min_workers_flag_is_named():
    with pytest.raises(InputError, match="minWorkers must be an integer >= 0"):
        load_config(None, role="gateway", workers=["http://a:1"], models=["a:1,minWorkers=two"])


def test_every_config_key_is_documented():
    from pathlib import Path

    from catalog_gen.router.config import KEYS

    doc = (Path(__file__).resolve().parents[2] / "docs" / "router.md").read_text(encoding="utf-8")
    rows = [line for line in doc.splitlines() if line.startswith("| `")]
    missing = [key for key in KEYS if not any(f"`{key}`" in row.split(" | ")[0] for row in rows)]
    assert not missing, f"docs/router.md has no row for {missing}"


def test_the_cli_names_a_gateway_without_workers(capsys):
    from catalog_gen.cli import main

    assert main(["router", "--role", "gateway", "--worker-slots", "2"]) == 2
    err = capsys.readouterr().err
    assert "role gateway needs exactly one of \"workers\" and \"workerDiscovery\"" in err and "Traceback" not in err
    assert main(["router", "--worker", "http://127.0.0.1:9", "--backend", "http://127.0.0.1:8"]) == 2
    assert "\"workers\" is a gateway setting but the role is sidecar" in capsys.readouterr().err
