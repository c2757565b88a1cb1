"""Helpers for the Ollama double's tests."""

from __future__ import annotations

import json

import httpx

from catalog_gen.testing.ollama_double import DoubleModel, Knobs, OllamaDouble

TEXT = "llama3.1:8b"
EMBED = "nomic-embed-text:latest"


def make_double(**knobs) -> OllamaDouble:
    return OllamaDouble(
        [
            DoubleModel(TEXT, capabilities=("completion", "tools")),
            DoubleModel(EMBED, family="nomic-bert", parameter_size="137M", quantization_level="F16", capabilities=("embedding",)),
            DoubleModel("qwen2.5:0.5b", parameter_size="494.03M", on_disk=False),
        ],
        Knobs(**knobs),
    )


def ndjson(response: httpx.Response) -> list[dict]:
    return [json.loads(line) for line in response.text.splitlines() if line.strip()]


def sse(response: httpx.Response) -> list[str]:
    """The data payloads of an SSE body, in order."""
    assert response.text.endswith("\n\n")
    events = [e for e in response.text.split("\n\n") if e]
    assert all(e.startswith("data: ") for e in events)
    return [e[len("data: ") :] for e in events]
