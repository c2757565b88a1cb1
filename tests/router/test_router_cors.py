"""Browsers: the router answers CORS itself with the caller's real Host and the leaf's origins; Ollama never sees Origin."""

from __future__ import annotations

import httpx
import pytest
from router_helpers import TEXT, run_router

from catalog_gen.errors import InputError
from catalog_gen.router.config import load_config

BODY = {"model": TEXT, "prompt": "hi", "stream": False}
PREFLIGHT = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,content-type"}


def _origins_seen(double) -> list:
    return [r.headers.get("origin") for r in double.requests if r.path == "/api/generate"]


def test_a_page_served_from_the_services_own_host_can_post(double, double_url):
    """Same-origin: Origin equals the Host the browser sent. Forwarding Origin would make Ollama refuse it (Host rewritten)."""
    with run_router([double_url]) as router:
        r = httpx.post(router.url + "/api/generate", json=BODY, timeout=10,
                       headers={"Host": "llm.example.com", "Origin": "https://llm.example.com"})
    assert r.status_code == 200 and r.json()["done"] is True
    assert "access-control-allow-origin" not in r.headers
    assert _origins_seen(double) == [None], "Ollama must not see the Origin: its own check compares it with Host"


def test_cross_origin_calls_are_refused_by_default_even_from_localhost(double, double_url):
    """Ollama's built-ins allow http://localhost:*; behind the router only same-origin passes unless the leaf lists more."""
    with run_router([double_url]) as router:
        for origin in ("http://localhost:3000", "https://evil.example", "null"):
            r = httpx.post(router.url + "/api/generate", json=BODY, headers={"Origin": origin}, timeout=10)
            assert r.status_code == 403 and "access-control-allow-origin" not in r.headers, origin
            assert "not allowed" in r.json()["error"]
    assert _origins_seen(double) == []


def test_allowed_origin_gets_cors_headers_and_ollama_sees_no_origin(double, double_url):
    with run_router([double_url], cors_allowed_origins=["https://chat.example.com", "https://*.apps.example.com"]) as router:
        exact = httpx.post(router.url + "/api/generate", json=BODY, headers={"Origin": "https://chat.example.com"}, timeout=10)
        wild = httpx.get(router.url + "/v1/models", headers={"Origin": "https://a.apps.example.com"}, timeout=10)
        other = httpx.get(router.url + "/v1/models", headers={"Origin": "https://apps.example.com.evil"}, timeout=10)
    assert exact.status_code == 200
    assert exact.headers["access-control-allow-origin"] == "https://chat.example.com" and exact.headers["vary"] == "Origin"
    assert wild.headers["access-control-allow-origin"] == "https://a.apps.example.com"
    assert other.status_code == 403 and other.json()["error"]["message"].startswith("origin ")
    assert _origins_seen(double) == [None]


def test_preflight_is_answered_before_the_key_check(double, double_url, tmp_path):
    keys = tmp_path / "keys"
    keys.write_text("k1\n")
    with run_router([double_url], api_keys_file=str(keys), cors_allowed_origins=["https://chat.example.com"]) as router:
        ok = httpx.options(router.url + "/v1/chat/completions", headers={"Origin": "https://chat.example.com", **PREFLIGHT}, timeout=10)
        refused = httpx.options(router.url + "/v1/chat/completions", headers={"Origin": "https://evil.example", **PREFLIGHT}, timeout=10)
        keyless = httpx.post(router.url + "/api/generate", json=BODY, headers={"Origin": "https://chat.example.com"}, timeout=10)
        keyed = httpx.post(router.url + "/api/generate", json=BODY, timeout=10,
                           headers={"Origin": "https://chat.example.com", "Authorization": "Bearer k1"})
    assert (ok.status_code, ok.content) == (204, b"")
    assert ok.headers["access-control-allow-origin"] == "https://chat.example.com"
    allowed = ok.headers["access-control-allow-headers"].split(",")
    assert {"Authorization", "Content-Type", "X-Stainless-Retry-Count", "X-Api-Key"} <= set(allowed)
    assert ok.headers["access-control-max-age"] == "43200"
    assert refused.status_code == 403
    assert keyless.status_code == 401 and keyless.headers["access-control-allow-origin"] == "https://chat.example.com"
    assert keyed.status_code == 200
    assert not [r for r in double.requests if r.method == "OPTIONS"], "preflights never reach Ollama"


def test_star_allows_every_origin(double_url):
    with run_router([double_url], cors_allowed_origins=["*"]) as router:
        r = httpx.get(router.url + "/api/tags", headers={"Origin": "https://anything.example"}, timeout=10)
    assert r.headers["access-control-allow-origin"] == "*" and "vary" not in r.headers


@pytest.mark.parametrize("entries, message", [
    (["https://*.*.example.com"], "more than one *"),
    (["example.com"], "is not an origin"),
    (["https://app.example.com/"], "ends with /"),
    ([" https://app.example.com"], "is not an origin"),
])
def test_bad_origin_entries_are_config_errors(entries, message):
    with pytest.raises(InputError, match="corsAllowedOrigins|--cors-origin") as info:
        load_config(None, backends=["http://127.0.0.1:1"], cors_allowed_origins=entries)
    assert message in str(info.value)
