"""The admin wall (a real non-loopback caller from a network namespace) and the API keys."""

from __future__ import annotations

import contextlib
import hmac
import json
import os
import subprocess
import sys
import time

import httpx
import pytest
from router_helpers import OTHER, TEXT, paths, run_router, wait_for

from catalog_gen.router import security
from catalog_gen.router.security import ApiKeys

CLIENT = r"""
import json, sys, urllib.request, urllib.error
base = sys.argv[1]
out = {}
for method, path, body in json.loads(sys.argv[2]):
    req = urllib.request.Request(base + path, data=body.encode() if body else None, method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            out[method + " " + path] = [r.status, r.read().decode()]
    except urllib.error.HTTPError as e:
        out[method + " " + path] = [e.code, e.read().decode()]
print(json.dumps(out))
"""


def _ip(*args: str) -> None:
    done = subprocess.run(["ip", *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {done.stderr.strip()}")


@contextlib.contextmanager
def network_namespace():
    """A namespace joined to this one by a veth pair; yields (namespace, host-side address)."""
    tag = f"{os.getpid() % 100000}"
    ns, host_if, ns_if = f"cgr{tag}", f"cgrh{tag}", f"cgrn{tag}"
    net = f"10.{200 + os.getpid() % 50}.{(os.getpid() // 50) % 250}"
    try:
        _ip("netns", "add", ns)
    except (RuntimeError, FileNotFoundError) as exc:
        pytest.fail(f"this test needs root and iproute2 to build a network namespace (`ip netns add`): {exc}")
    try:
        _ip("link", "add", host_if, "type", "veth", "peer", "name", ns_if)
        _ip("link", "set", ns_if, "netns", ns)
        _ip("addr", "add", f"{net}.1/24", "dev", host_if)
        _ip("link", "set", host_if, "up")
        _ip("netns", "exec", ns, "ip", "addr", "add", f"{net}.2/24", "dev", ns_if)
        _ip("netns", "exec", ns, "ip", "link", "set", ns_if, "up")
        _ip("netns", "exec", ns, "ip", "link", "set", "lo", "up")
        yield ns, f"{net}.1"
    finally:
        subprocess.run(["ip", "link", "del", host_if], capture_output=True)
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


REQUESTS = [
    ["POST", "/api/pull", json.dumps({"model": OTHER})],
    ["DELETE", "/api/delete", json.dumps({"model": TEXT})],
    ["POST", "/api/create", json.dumps({"model": "x", "from": TEXT})],
    ["POST", "/api/copy", json.dumps({"source": TEXT, "destination": "y"})],
    ["POST", "/api/push", json.dumps({"model": TEXT})],
    ["POST", "/api/blobs/sha256:" + "a" * 64, "x"],
    ["POST", "/api//pull/", json.dumps({"model": OTHER})],
    ["POST", "/api/%70ull", json.dumps({"model": OTHER})],
    ["GET", "/api/experimental", ""],
    ["GET", "/api/tags", ""],
    ["POST", "/api/generate", json.dumps({"model": TEXT, "prompt": "hi", "stream": False})],
    ["GET", "/metrics", ""],
]


@pytest.mark.netns
def test_admin_endpoints_are_refused_to_remote_and_loopback_callers_alike(double, double_url):
    with network_namespace() as (ns, address), run_router([double_url], host="0.0.0.0") as router:
        port = router.url.rsplit(":", 1)[1]
        done = subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-c", CLIENT, f"http://{address}:{port}",
                               json.dumps(REQUESTS)], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        remote = json.loads(done.stdout)
        local_pull = httpx.post(f"http://127.0.0.1:{port}/api/pull", json={"model": OTHER, "stream": False}, timeout=10)
    for method, path, _body in REQUESTS[:8]:
        status, text = remote[f"{method} {path}"]
        assert status == 403, (path, status, text)
        assert "never served on the router's public port" in json.loads(text)["error"]
    assert remote["GET /api/experimental"][0] == 404
    assert remote["GET /api/tags"][0] == 200
    assert remote["POST /api/generate"][0] == 200
    assert remote["GET /metrics"][0] == 200
    assert local_pull.status_code == 403, "a loopback peer proves nothing (port-forward, mesh sidecar)"
    assert not paths(double, "/api/pull") and not paths(double, "/api/delete") and not paths(double, "/api/copy")


def _from(address: str) -> httpx.Client:
    """A client whose connections leave from ``address`` (any 127.0.0.0/8 address works without a namespace)."""
    return httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=10)


@pytest.mark.parametrize("peer", ["127.0.0.6", "127.0.0.1"], ids=["istio-sidecar", "linkerd-or-port-forward"])
def test_a_mesh_sidecar_peer_gets_no_model_management(double, double_url, peer):
    """Istio delivers inbound traffic from 127.0.0.6, Linkerd and kubectl port-forward from 127.0.0.1."""
    with run_router([double_url]) as router, _from(peer) as client:
        pull = client.post(router.url + "/api/pull", json={"model": OTHER, "stream": False})
        delete = client.request("DELETE", router.url + "/api/delete", json={"model": TEXT})
        generate = client.post(router.url + "/api/generate", json={"model": TEXT, "prompt": "hi", "stream": False})
    assert (pull.status_code, delete.status_code, generate.status_code) == (403, 403, 200)
    assert not paths(double, "/api/pull") and not paths(double, "/api/delete")
    assert double.model(TEXT).on_disk


def test_management_socket_serves_model_management_and_is_private(double, double_url, tmp_path):
    socket_path = tmp_path / "admin.sock"
    with run_router([double_url], admin_socket=str(socket_path)) as router:
        assert socket_path.stat().st_mode & 0o077 == 0, "only the router's user may connect"
        with httpx.Client(transport=httpx.HTTPTransport(uds=str(socket_path)), base_url="http://pod", timeout=10) as c:
            pulled = c.post("/api/pull", json={"model": OTHER, "stream": False})
        assert pulled.status_code == 200 and pulled.json() == {"status": "success"}
        assert router.app.config.admin_socket == socket_path
    assert not socket_path.exists(), "the socket file is removed at exit"


def test_a_stale_management_socket_is_replaced_and_a_regular_file_is_refused(double_url, tmp_path):
    import socket as socketlib

    from catalog_gen.errors import InputError
    from catalog_gen.router.server import bind_admin

    stale = tmp_path / "stale.sock"
    left = socketlib.socket(socketlib.AF_UNIX)
    left.bind(str(stale))
    left.close()
    bind_admin(stale).close()
    regular = tmp_path / "file"
    regular.write_text("x")
    with pytest.raises(InputError, match="not a socket"):
        bind_admin(regular)


@pytest.mark.parametrize("path", ["/api/me", "/api/signout", "/api/user/keys/abc", "/api/experimental/web_search",
                                  "/api/experimental/model-recommendations", "/api/status", "/v1/audio/transcriptions"])
def test_account_and_cloud_routes_are_walled_with_a_reason(double_url, path):
    with run_router([double_url]) as router:
        r = httpx.post(router.url + path, json={}, timeout=10)
    assert r.status_code == 403
    message = r.json()["error"]["message"] if path.startswith("/v1/") else r.json()["error"]
    assert "is not served through the router:" in message


def test_api_keys_are_required_and_reloaded_when_the_file_changes(double_url, tmp_path):
    keys = tmp_path / "keys"
    keys.write_text("# team keys\nalpha\n\n  beta  \n")
    body = {"model": TEXT, "prompt": "hi", "stream": False}
    with run_router([double_url], api_keys_file=str(keys)) as router:
        def status(key):
            headers = {"Authorization": f"Bearer {key}"} if key else {}
            return httpx.post(router.url + "/api/generate", json=body, headers=headers, timeout=10).status_code

        assert [status(None), status("alpha"), status("beta"), status("gamma"), status("# team keys")] == [401, 200, 200, 401, 401]
        assert httpx.get(router.url + "/readyz", timeout=5).status_code in (200, 503)  # probes need no key
        assert httpx.get(router.url + "/metrics", timeout=5).status_code == 200
        # rotation the way a Secret mount does it: a new file swapped in
        fresh = tmp_path / "keys.new"
        fresh.write_text("gamma\n")
        os.replace(fresh, keys)
        wait_for(lambda: status("gamma") == 200, 5, "key reload")
        assert status("alpha") == 401
        # an unreadable file keeps the last good keys
        keys.unlink()
        time.sleep(1.5)
        assert status("gamma") == 200


def test_key_check_compares_every_key_in_constant_time(tmp_path, monkeypatch):
    keys = tmp_path / "keys"
    keys.write_text("k1\nk2\nk3\n")
    api = ApiKeys(keys)
    calls = []
    real = hmac.compare_digest

    def counting(a, b):
        calls.append((len(a), len(b)))
        return real(a, b)

    monkeypatch.setattr(security.hmac, "compare_digest", counting)
    for presented in (b"Bearer k1", b"Bearer k3", b"Bearer nope", b"Bearer " + b"x" * 500):
        calls.clear()
        api.check(presented)
        assert calls == [(32, 32)] * 3, "every key is compared, digests of equal length, no early exit"
    assert api.check(b"Bearer k2") and api.check(b"bearer k2") and not api.check(b"Basic k2") and not api.check(None)


def test_a_missing_key_file_is_warned_about_once_until_it_is_back(tmp_path, caplog):
    keys = tmp_path / "keys"
    keys.write_text("k1\n")
    api = ApiKeys(keys)
    keys.unlink()
    with caplog.at_level("INFO", logger="catalog_gen.router"):
        for _ in range(5):
            api.reload()
        warnings = [r for r in caplog.records if r.levelname == "WARNING"]
        assert len(warnings) == 1 and "unreadable" in warnings[0].getMessage()
        keys.write_text("k2\n")
        assert api.reload() and api.check(b"Bearer k2")
        keys.unlink()
        api.reload()
    assert len([r for r in caplog.records if r.levelname == "WARNING"]) == 2, "warned again after it came back and left"


def test_anthropic_clients_send_their_key_as_x_api_key(double, double_url, tmp_path):
    keys = tmp_path / "keys"
    keys.write_text("k1\n")
    body = {"model": TEXT, "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}
    with run_router([double_url], api_keys_file=str(keys)) as router:
        ok = httpx.post(router.url + "/v1/messages", json=body, headers={"x-api-key": "k1"}, timeout=10)
        bad = httpx.post(router.url + "/v1/messages", json=body, headers={"x-api-key": "nope"}, timeout=10)
    assert ok.status_code == 200 and ok.json()["type"] == "message"
    assert not [r for r in double.requests if "x-api-key" in r.headers], "the key is the router's, not Ollama's"
    assert bad.status_code == 401 and bad.json()["error"]["type"] == "authentication_error"


@pytest.mark.parametrize("model", ["gpt-oss:120b-cloud", "deepseek-v3.1:671b-cloud", "qwen3-coder:cloud"])
def test_cloud_models_are_refused_even_when_a_stub_is_listed(double, double_url, model):
    from catalog_gen.testing.ollama_double import DoubleModel

    double.models.append(DoubleModel(model))  # a cloud stub in /api/tags, as `ollama pull x:cloud` leaves one
    with run_router([double_url]) as router:
        wait_for(lambda: router.app.backends[0].on_disk is not None, 5, "tags polled")
        r = httpx.post(router.url + "/api/chat", json={"model": model, "messages": [{"role": "user", "content": "hi"}]}, timeout=10)
        local = httpx.post(router.url + "/api/generate", json={"model": TEXT, "prompt": "hi", "stream": False}, timeout=10)
    assert r.status_code == 403 and "cloud model" in r.json()["error"]
    assert local.status_code == 200
    assert not [b for b in paths(double, "/api/chat") if b and b.get("model") == model]
