"""The OCI client against a real registry (digests, errors naming model, URL and status) and the token dance."""

from __future__ import annotations

import hashlib

import httpx
import pytest
from oci_registry import push_model

from catalog_gen.registry import Registry, Unauthorized, Unreachable, UnknownTag, parse
from catalog_gen.registry.client import MANIFEST_V2


def test_the_digest_is_the_sha256_of_the_manifest_bytes_ollama_receives(registry):
    digest = push_model(registry, "library/phi", "latest")
    with Registry(registry.host, insecure=True) as client:
        body = client.manifest(parse(f"{registry.host}/library/phi"))
    assert hashlib.sha256(body).hexdigest() == digest


def test_an_unknown_tag_names_model_url_and_status(registry):
    push_model(registry, "library/phi", "latest")
    with Registry(registry.host, insecure=True) as client, pytest.raises(UnknownTag) as err:
        client.manifest(parse(f"{registry.host}/library/phi:nope"))
    text = str(err.value)
    assert f"{registry.host}/library/phi:nope" in text
    assert f"http://{registry.host}/v2/library/phi/manifests/nope" in text and "404" in text


def test_https_to_a_plain_http_registry_says_to_set_insecure(registry):
    with Registry(registry.host) as client, pytest.raises(Unreachable) as err:
        client.manifest(parse(f"{registry.host}/library/phi"))
    assert f"https://{registry.host}/v2/library/phi/manifests/latest" in str(err.value)
    assert "insecure: true" in err.value.hint


def test_nothing_listening_is_unreachable(registry):
    registry.stop()
    with Registry(registry.host, insecure=True) as client, pytest.raises(Unreachable, match="unreachable"):
        client.manifest(parse(f"{registry.host}/library/phi"))


def _token_registry(accept_user: str | None):
    """A registry that wants a bearer token from its realm (Docker Hub's scheme), as a MockTransport."""
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/token":
            if accept_user and request.headers.get("Authorization") == "Basic bWU6c2VjcmV0":  # me:secret
                return httpx.Response(200, json={"token": "t0k"})
            if accept_user:
                return httpx.Response(401, json={"errors": [{"code": "UNAUTHORIZED", "message": "bad credentials"}]})
            return httpx.Response(200, json={"token": "anon"})
        if request.headers.get("Authorization") in ("Bearer t0k", "Bearer anon"):
            return httpx.Response(200, content=b'{"schemaVersion":2}', headers={"Content-Type": MANIFEST_V2})
        return httpx.Response(401, headers={"WWW-Authenticate": 'Bearer realm="https://r.test/token",service="r.test",scope="repository:library/phi:pull"'})

    return httpx.MockTransport(handler), seen


def test_a_bearer_challenge_is_answered_with_a_token_from_the_realm():
    transport, seen = _token_registry(None)
    with Registry("r.test", credentials=None, transport=transport) as client:
        assert client.manifest(parse("r.test/library/phi")) == b'{"schemaVersion":2}'
    token_request = seen[1]
    assert token_request.url.params["scope"] == "repository:library/phi:pull" and token_request.url.params["service"] == "r.test"


def test_credentials_go_to_the_token_service_and_a_refusal_is_unauthorized():
    transport, _ = _token_registry("me")
    with Registry("r.test", credentials=("me", "secret"), transport=transport) as client:
        assert client.manifest(parse("r.test/library/phi")).startswith(b"{")
    with Registry("r.test", credentials=("me", "wrong"), transport=transport) as client, pytest.raises(Unauthorized) as err:
        client.manifest(parse("r.test/library/phi"))
    assert "bad credentials" in str(err.value) and "https://r.test/token" in str(err.value)


def test_docker_config_credentials_are_read_for_the_host(tmp_path, monkeypatch):
    import base64
    import json

    from catalog_gen.registry.auth import credentials_for

    (tmp_path / "config.json").write_text(json.dumps({"auths": {"r.test:5000": {"auth": base64.b64encode(b"u:p").decode()}}}))
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    assert credentials_for("r.test:5000") == ("u", "p")
    assert credentials_for("other.test") is None
