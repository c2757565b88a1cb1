"""`warmUp: false` (pool workers): ready once the models are on disk and match their pins, nothing loaded at start.

A pool worker holds a few of many models; warming every one at start would load and evict them one after
another on each new worker. The gateway decides what is loaded where (docs/router.md, "Gateway role").
"""

from __future__ import annotations

import httpx
from router_helpers import EMBED, TEXT, paths, run_router, wait_for

from catalog_gen.router.config import load_config


def test_a_worker_without_warm_up_is_ready_with_its_models_on_disk_and_loads_none(double, double_url):
    double.model(TEXT).on_disk = False
    models = [f"{TEXT},keepWarm=false", f"{EMBED},kind=embedding,keepWarm=false"]
    with run_router([double_url], models=models, warm_up=False) as router:
        wait_for(lambda: httpx.get(router.url + "/readyz", timeout=5).status_code == 503, 5, "first poll")
        body = httpx.get(router.url + "/readyz", timeout=5).json()
        assert any("not on disk" in r for m in body["models"] for e in m["backends"] for r in e["missing"])
        double.model(TEXT).on_disk = True  # the pull finished
        router.wait_ready()
        assert not paths(double, "/api/generate") and not paths(double, "/api/embed"), "nothing warmed"
        assert double.loaded() == []
        reply = httpx.post(router.url + "/api/generate", json={"model": TEXT, "prompt": "hi", "stream": False}, timeout=10)
        assert reply.status_code == 200  # loaded on first use


def test_a_worker_with_warm_up_warms_every_model_before_it_is_ready(double, double_url):
    with run_router([double_url], models=[f"{TEXT},keepWarm=false"]) as router:
        router.wait_ready()
        assert [g["model"] for g in paths(double, "/api/generate")] == [TEXT]


def test_a_kept_warm_model_is_warmed_even_without_warm_up(double, double_url):
    with run_router([double_url], models=[TEXT], warm_up=False) as router:
        router.wait_ready()
        assert [g["model"] for g in paths(double, "/api/generate")] == [TEXT]


def test_warm_up_is_a_file_key_and_a_flag(tmp_path):
    path = tmp_path / "router.json"
    path.write_text('{"backends": ["http://127.0.0.1:11434"], "warmUp": false}')
    assert load_config(path).warm_up is False
    assert load_config(path, warm_up=True).warm_up is True  # the flag wins
    path.write_text('{"backends": ["http://127.0.0.1:11434"]}')
    assert load_config(path).warm_up is True
