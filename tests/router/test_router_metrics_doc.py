"""The metric names are a contract: each is exposed by a running router and documented in docs/router.md."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from router_helpers import TEXT, run_router

from catalog_gen.router.metrics import DESCRIPTIONS, PREFIX

DOC = Path(__file__).resolve().parents[2] / "docs" / "router.md"


def documented() -> set[str]:
    return set(re.findall(r"^\| `(ollama_router_[a-z_]+)` \|", DOC.read_text(), re.MULTILINE))


def test_every_metric_is_documented_and_nothing_else():
    assert documented() == {PREFIX + name for name in DESCRIPTIONS}


def test_every_documented_metric_is_exposed(double, double_url):
    with run_router([double_url], models=[TEXT]) as router:
        router.wait_ready()
        httpx.post(router.url + "/api/generate", json={"model": TEXT, "prompt": "hi"}, timeout=10)
        text = httpx.get(router.url + "/metrics", timeout=10).text
    exposed = set(re.findall(r"^# TYPE (ollama_router_[a-z_]+) ", text, re.MULTILINE))
    assert documented() == exposed
    assert "_created" not in text
    assert re.search(r'^ollama_router_tokens_per_second_count\{model="llama3.1:8b"\} 1\.0$', text, re.MULTILINE)
    assert re.search(r'^ollama_router_time_to_first_token_seconds_count\{endpoint="/api/generate",model="llama3.1:8b"\} 1\.0$',
                     text, re.MULTILINE)
    assert "process_resident_memory_bytes" in text
