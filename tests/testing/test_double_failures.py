"""Failure injection: each knob produces what a failing Ollama puts on the wire."""

from __future__ import annotations

import json

import httpx
import pytest
from double_helpers import EMBED, TEXT, make_double, ndjson

from catalog_gen.testing.ollama_double import spawn_double

GEN = {"model": TEXT, "prompt": "hello"}


def test_fail_next_fails_exactly_n_requests(client, double):
    double.knobs.fail_next = 2
    double.knobs.fail_status = 500
    codes = [client.post("/api/generate", json={**GEN, "stream": False}).status_code for _ in range(3)]
    assert codes == [500, 500, 200]
    assert double.knobs.fail_next == 0


def test_cut_before_the_first_chunk_is_a_plain_500(client, double):
    # Ollama sends headers with the first chunk: an error before it keeps its own status.
    double.knobs.cut_after_chunks = 0
    r = client.post("/api/generate", json=GEN)
    assert (r.status_code, r.json()) == (500, {"error": double.knobs.cut_message})


def test_cut_with_stream_false_is_a_500(client, double):
    double.knobs.cut_after_chunks = 2
    r = client.post("/api/chat", json={"model": TEXT, "messages": [{"role": "user", "content": "x"}], "stream": False})
    assert (r.status_code, r.json()) == (500, {"error": double.knobs.cut_message})


def test_cut_in_drop_mode_closes_the_connection_mid_stream(url, double):
    double.knobs.cut_after_chunks = 2
    double.knobs.cut_mode = "drop"
    lines = []
    with pytest.raises(httpx.RemoteProtocolError):
        with httpx.stream("POST", f"{url}/api/generate", json=GEN, timeout=5) as r:
            assert r.status_code == 200
            for line in r.iter_lines():
                lines.append(json.loads(line))
    assert len(lines) == 2 and not lines[-1]["done"]


def test_stall_keeps_the_connection_open_and_frees_the_slot_when_the_client_leaves(client, url, double):
    double.knobs.stall_after_chunks = 1
    with pytest.raises(httpx.ReadTimeout):
        with httpx.stream("POST", f"{url}/api/generate", json=GEN, timeout=httpx.Timeout(5, read=0.3)) as r:
            for _ in r.iter_lines():
                pass
    double.knobs.stall_after_chunks = None
    # one slot (num_parallel=1): this only answers if the stalled request released it
    r = client.post("/api/generate", json={**GEN, "stream": False}, timeout=3)
    assert r.status_code == 200 and r.json()["done"] is True


def test_answer_empty_gives_an_empty_reply_without_eval_stats(client, double):
    double.model(TEXT).answer_empty = True
    lines = ndjson(client.post("/api/generate", json=GEN))
    assert len(lines) == 1
    final = lines[0]
    assert final["done"] is True and final["response"] == ""
    assert "eval_count" not in final and "eval_duration" not in final  # Go's omitempty


def test_answer_empty_embedding_model_gives_empty_vectors(client, double):
    double.model(EMBED).answer_empty = True
    assert client.post("/api/embed", json={"model": EMBED, "input": "x"}).json()["embeddings"] == [[]]


def test_ttft_knob_delays_the_first_token(url, double):
    import time

    double.knobs.ttft_seconds = 0.3
    client = httpx.Client(base_url=url, timeout=5)
    client.post("/api/generate", json={"model": TEXT})  # load
    started = time.monotonic()
    with client.stream("POST", "/api/generate", json=GEN) as r:
        first = next(r.iter_lines())
        ttft = time.monotonic() - started
    assert json.loads(first)["response"]
    assert 0.3 <= ttft < 1.0
    client.close()


def test_child_process_double_takes_knobs_and_dies_for_real():
    with spawn_double(make_double(token_interval_seconds=0.05, tokens_per_reply=50)) as proc:
        assert httpx.get(f"{proc.url}/api/version").json() == {"version": "0.33.0"}
        proc.set_model(TEXT, answer_empty=True)
        assert httpx.post(f"{proc.url}/api/generate", json={**GEN, "stream": False}).json()["response"] == ""
        proc.set_model(TEXT, answer_empty=False)
        proc.set_knobs(fail_next=1)
        assert httpx.post(f"{proc.url}/api/generate", json={**GEN, "stream": False}).status_code == 500
        with pytest.raises(RuntimeError):
            proc.set_knobs(no_such_knob=1)
        received = []
        with pytest.raises(httpx.RemoteProtocolError):
            with httpx.stream("POST", f"{proc.url}/api/generate", json=GEN, timeout=5) as r:
                for line in r.iter_lines():
                    received.append(line)
                    if len(received) == 3:
                        proc.kill()
        assert 3 <= len(received) < 50
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{proc.url}/")
