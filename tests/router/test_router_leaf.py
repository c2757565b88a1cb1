"""The leaf's router settings reach router.json and the router accepts them; bad bounds are caught by validate."""

from __future__ import annotations

import json

from catalog_gen.catalog.validate import validate_paths
from catalog_gen.router.config import load_config

LEAF = """workloadType: OLLAMA_INFERENCE_LOAD
serviceName: ollama-phi
serviceCatalog: ml-inference
namespace: ml-workloads
environment: dev
model: phi:latest
router:
  corsAllowedOrigins: ["https://chat.example.com", "https://*.apps.example.com"]
  keepAliveMin: {low}
  keepAliveMax: 30m
  idleTimeout: 90s
  requestTimeout: 2h
"""


def _findings(tmp_path, low: str) -> list:
    leaf = tmp_path / "ollama-phi.yaml"
    leaf.write_text(LEAF.format(low=low))
    return [f for f in validate_paths([leaf]).findings if f.code == "leaf.router"]


def test_keep_alive_bounds_out_of_order_are_a_finding(tmp_path):
    assert _findings(tmp_path, "1m") == []
    (finding,) = _findings(tmp_path, "2h")
    assert "keepAliveMin" in finding.message


def test_plan_writes_the_router_settings_the_router_reads(tmp_path):
    from catalog_gen.catalog import load_leaf
    from catalog_gen.plan.plan import build_plan

    leaf_file = tmp_path / "ollama-phi.yaml"
    leaf_file.write_text(LEAF.format(low="1m"))
    plan = build_plan(load_leaf(leaf_file), str(leaf_file))
    config = plan.values["router"]["config"]
    assert config["corsAllowedOrigins"] == ["https://chat.example.com", "https://*.apps.example.com"]
    assert (config["keepAliveMinSeconds"], config["keepAliveMaxSeconds"]) == (60, 1800)
    assert (config["idleTimeoutSeconds"], config["requestTimeoutSeconds"]) == (90, 7200)
    path = tmp_path / "router.json"
    path.write_text(json.dumps({**config, "backends": ["http://127.0.0.1:11434"]}))
    loaded = load_config(path)
    assert loaded.cors_allowed_origins == ("https://chat.example.com", "https://*.apps.example.com")
    assert loaded.idle_timeout == 90 and loaded.keep_alive_max == 1800


def test_gpu_leaves_give_the_router_each_process_memory(tmp_path):
    from catalog_gen.catalog import load_leaf
    from catalog_gen.plan.plan import build_plan

    cpu = tmp_path / "ollama-phi.yaml"
    cpu.write_text(LEAF.format(low="1m"))
    assert build_plan(load_leaf(cpu), str(cpu)).values["router"]["config"]["backendMemoryBytes"] is None
    gpu = tmp_path / "ollama-gpu.yaml"
    gpu.write_text(LEAF.format(low="1m").replace("serviceName: ollama-phi", "serviceName: ollama-gpu")
                   + "gpu:\n  count: 1\n  vendor: nvidia\n  vram: 24Gi\n")
    plan = build_plan(load_leaf(gpu), str(gpu))
    assert plan.values["router"]["config"]["backendMemoryBytes"] == plan.sizing.vram_per_gpu_bytes * plan.sizing.gpus_per_process > 0
