"""A caller's keep_alive is bounded by the leaf's policy: required models cannot be unloaded or pinned from outside."""

from __future__ import annotations

import httpx
import pytest
from router_helpers import OTHER, TEXT, paths, run_router

from catalog_gen.errors import InputError
from catalog_gen.router.config import load_config
from catalog_gen.router.keepalive import KeepAlivePolicy, seconds_of


def _last(double, path: str) -> dict:
    return paths(double, path)[-1]


def test_a_caller_cannot_unload_a_required_model(double, double_url):
    with run_router([double_url], models=[TEXT]) as router:
        router.wait_ready()
        r = httpx.post(router.url + "/api/generate", json={"model": TEXT, "prompt": "", "keep_alive": 0}, timeout=10)
        assert r.status_code == 200 and r.json()["done_reason"] == "load"
        assert "keep_alive" not in _last(double, "/api/generate")
        assert TEXT in double.loaded()


def test_a_caller_cannot_pin_a_model_forever(double, double_url):
    with run_router([double_url], keep_alive_max=600) as router:
        for value in (-1, "-1m", 10**9, "9999h"):
            httpx.post(router.url + "/api/generate", json={"model": OTHER, "prompt": "hi", "stream": False, "keep_alive": value}, timeout=10)
            assert _last(double, "/api/generate")["keep_alive"] == 600, value
        (loaded,) = [m for m in httpx.get(double_url + "/api/ps", timeout=5).json()["models"] if m["name"] == OTHER]
        assert loaded["expires_at"] < "2100"


def test_values_within_the_bounds_pass_byte_for_byte_and_short_ones_are_raised(double, double_url):
    with run_router([double_url], keep_alive_min=60, keep_alive_max=600) as router:
        raw = b'{"model": "qwen2.5:0.5b", "prompt": "hi", "stream": false, "keep_alive": "5m"}'
        httpx.post(router.url + "/api/generate", content=raw, timeout=10)
        assert [r.body for r in double.requests if r.path == "/api/generate"][-1] == raw
        httpx.post(router.url + "/api/chat", json={"model": OTHER, "messages": [], "keep_alive": 0}, timeout=10)
        assert _last(double, "/api/chat")["keep_alive"] == 60


def test_management_socket_callers_are_not_bounded(double, double_url, tmp_path):
    sock = tmp_path / "admin.sock"
    with run_router([double_url], models=[TEXT], admin_socket=str(sock)) as router:
        router.wait_ready()
        with httpx.Client(transport=httpx.HTTPTransport(uds=str(sock)), base_url="http://pod", timeout=10) as c:
            r = c.post("/api/generate", json={"model": TEXT, "prompt": "", "keep_alive": 0})
        assert r.json()["done_reason"] == "unload"
        # (the keeper may re-warm the evicted model right after: look for the caller's request, not the last one)
        assert any(body and body.get("prompt") == "" and body.get("keep_alive") == 0
                   for body in paths(double, "/api/generate")), "the management caller's keep_alive 0 went through"


@pytest.mark.parametrize("value, seconds", [(0, 0.0), (30, 30.0), (-1, -1.0), ("5m", 300.0), ("1h30m", 5400.0),
                                            ("-1s", -1.0), ("0", 0.0), ("300", None), (True, None), ("", None), ("5x", None)])
def test_keep_alive_parsing_follows_ollama(value, seconds):
    assert seconds_of(value) == seconds


def test_policy_leaves_bodies_alone_that_do_not_mention_keep_alive():
    policy = KeepAlivePolicy({TEXT}, 0, 60)
    body = b'{"model":"llama3.1:8b","prompt":"hi"}'
    assert policy.apply(body, TEXT) is body
    assert policy.apply(b"{not json keep_alive", OTHER) == b"{not json keep_alive"


def test_min_above_max_is_a_config_error():
    with pytest.raises(InputError, match="keepAliveMaxSeconds"):
        load_config(None, backends=["http://127.0.0.1:1"], keep_alive_min=100, keep_alive_max=10)


def test_a_required_model_not_kept_warm_is_bounded_not_dropped(double, double_url):
    """A pool worker lists its models with keepWarm false: the gateway's keep_alive 0 must reach Ollama."""
    with run_router([double_url], models=[f"{TEXT},keepWarm=false"], keep_alive_max=600) as router:
        httpx.post(router.url + "/api/generate", json={"model": TEXT, "prompt": "", "keep_alive": 0}, timeout=10)
        httpx.post(router.url + "/api/generate", json={"model": TEXT, "prompt": "x", "keep_alive": -1}, timeout=10)
        sent = [b for b in paths(double, "/api/generate") if b and "keep_alive" in b]  # (warm-ups carry none)
        assert [(b["prompt"], b["keep_alive"]) for b in sent] == [("", 0), ("x", 600)]
    with run_router([double_url], models=[TEXT]) as warm:  # kept warm: dropped, as before
        httpx.post(warm.url + "/api/generate", json={"model": TEXT, "prompt": "x", "keep_alive": 0}, timeout=10)
        assert "keep_alive" not in [b for b in paths(double, "/api/generate") if b and b.get("prompt") == "x"][-1]
