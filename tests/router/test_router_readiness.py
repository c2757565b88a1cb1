"""/readyz tells the truth: every required model on disk, matching its pin, warmed; /livez only the router."""

from __future__ import annotations

import httpx
from router_helpers import EMBED, TEXT, paths, run_router, wait_for


def readyz(router) -> tuple[int, dict]:
    response = httpx.get(router.url + "/readyz", timeout=5)
    return response.status_code, response.json()


def missing(body: dict, name: str) -> list[str]:
    model = next(m for m in body["models"] if m["name"] == name)
    return [reason for entry in model["backends"] for reason in entry["missing"]]


def test_not_ready_until_the_model_is_on_disk_then_warmed(double, double_url):
    double.model(TEXT).on_disk = False
    double.knobs.load_seconds = 0.4
    with run_router([double_url], models=[TEXT, f"{EMBED},kind=embedding"]) as router:
        wait_for(lambda: "not on disk" in missing(readyz(router)[1], TEXT), 5, "tags polled")
        status, body = readyz(router)
        assert status == 503 and body["ready"] is False
        assert router.metric("ollama_router_ready") == 0
        assert router.metric("ollama_router_model_ready", model=TEXT) == 0
        assert not [g for g in paths(double, "/api/generate")], "nothing to warm while the model is missing"
        double.model(TEXT).on_disk = True  # a pull finished
        wait_for(lambda: "warming up" in missing(readyz(router)[1], TEXT), 5, "warm-up started")
        assert readyz(router)[0] == 503, "a model still loading is not ready"
        router.wait_ready()
        status, body = readyz(router)
        assert status == 200 and all(m["ready"] for m in body["models"])
        assert router.metric("ollama_router_ready") == 1
        assert router.metric("ollama_router_model_load_duration_seconds_count", model=TEXT, backend=double_url) >= 1
    warmups = paths(double, "/api/generate")
    assert warmups[0]["prompt"] == "" and warmups[0]["model"] == TEXT and warmups[0]["keep_alive"] == -1
    assert paths(double, "/api/embed")[0]["model"] == EMBED, "embedding models are warmed with embed"
    assert sorted(double.loaded()) == sorted([TEXT, EMBED])


def test_a_digest_mismatch_keeps_the_pod_unready_and_the_model_unserved(double, double_url):
    pin = double.model(TEXT).digest
    double.model(TEXT).wrong_digest = True
    with run_router([double_url], models=[f"{TEXT}@{pin}"]) as router:
        wait_for(lambda: any("does not match the pin" in r for r in missing(readyz(router)[1], TEXT)), 5, "pin checked")
        assert readyz(router)[0] == 503
        refused = httpx.post(router.url + "/api/generate", json={"model": TEXT, "prompt": "hi"}, timeout=5)
        assert refused.status_code == 503 and "pinned" in refused.json()["error"]
        assert not paths(double, "/api/generate"), "a mismatched model is never warmed nor served"
        double.model(TEXT).wrong_digest = False  # the right version was pulled
        router.wait_ready()
        assert httpx.post(router.url + "/api/generate", json={"model": TEXT, "prompt": "hi", "stream": False},
                          timeout=5).status_code == 200


def test_an_evicted_keep_warm_model_is_warmed_again(double, double_url):
    with run_router([double_url], models=[TEXT]) as router:
        router.wait_ready()
        assert double.loaded() == [TEXT]
        httpx.post(double_url + "/api/generate", json={"model": TEXT, "keep_alive": 0}, timeout=5)  # evicted behind our back
        assert double.loaded() == []
        wait_for(lambda: double.loaded() == [TEXT], 5, "re-warm")
        assert readyz(router)[0] == 200
    assert len([g for g in paths(double, "/api/generate") if g.get("prompt") == ""]) == 2


def test_liveness_does_not_depend_on_backends_or_models():
    with run_router(["http://127.0.0.1:9"], models=[TEXT]) as router:
        assert httpx.get(router.url + "/livez", timeout=5).status_code == 200
        status, body = readyz(router)
        assert status == 503 and body["backendsUp"] in ([], ["http://127.0.0.1:9"])
