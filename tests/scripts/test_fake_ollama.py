"""The stand-in ollama keeps the facts the scripts rely on (../shared/ollama-api.md)."""

from __future__ import annotations

import hashlib
import http.client
import json
import subprocess
import time

import pytest


@pytest.fixture
def server(box):
    box.publish({"llama3.2:1b": {"size": 2000}})
    env = {**box.env, "OLLAMA_HOST": f"127.0.0.1:{box.port}"}
    proc = subprocess.Popen([str(box.bin / "ollama"), "serve"], env=env, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while not box.listening():
        assert time.monotonic() < deadline and proc.poll() is None, "the stand-in did not start"
        time.sleep(0.05)
    yield env
    proc.terminate()
    proc.wait(timeout=10)


def cli(env, *args) -> subprocess.CompletedProcess:
    return subprocess.run([env["PATH"] + "/ollama", *args], env=env, capture_output=True, text=True, timeout=30)


def get(port: int, path: str, host: str = "127.0.0.1") -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", path, headers={"Host": host})
    resp = conn.getresponse()
    return resp.status, resp.read()


def test_root_answers_and_the_host_check_refuses_foreign_hosts(box, server):
    assert get(box.port, "/") == (200, b"Ollama is running")
    assert get(box.port, "/", host="evil.example.com") == (403, b"")


def test_tags_report_the_sha256_of_the_manifest_file(box, server):
    assert cli(server, "pull", "llama3.2:1b").returncode == 0
    status, body = get(box.port, "/api/tags")
    [model] = json.loads(body)["models"]
    assert model["name"] == "llama3.2:1b"
    assert model["digest"] == hashlib.sha256(box.manifest("llama3.2:1b").read_bytes()).hexdigest()


def test_cli_errors_look_like_ollamas(box, server):
    missing = cli(server, "show", "nope:1b")
    unknown = cli(server, "pull", "nope:1b")
    assert (missing.returncode, missing.stderr.strip()) == (1, "Error: model 'nope:1b' not found")
    assert (unknown.returncode, unknown.stderr.strip()) == (1, "Error: pull model manifest: file does not exist")


def test_the_cli_without_a_server_cannot_connect(box):
    result = cli({**box.env, "OLLAMA_HOST": f"127.0.0.1:{box.port}"}, "list")
    assert result.returncode == 1
    assert "could not connect to ollama server" in result.stderr
