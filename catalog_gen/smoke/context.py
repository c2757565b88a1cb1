"""The shared state of one smoke run and the vocabulary of its checks.

A check is an async function of the ``Context`` returning its figures, or
raising ``Failed`` (the service answered wrongly) or ``Skip``; any other
exception is an ``error`` (no usable answer). ``ctx.unavailable`` records models
that are missing or do not answer, so later checks skip them and one broken
model reads as one failure (a missed latency objective does not count).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable

import httpx

from catalog_gen.catalog.model import ModelSpec, OllamaInferenceLoad
from catalog_gen.smoke.measure import Sample, error_text

PROBE_MODEL = "catalog-gen-smoke/admin-probe:absent"  # never exists: an open admin API changes nothing
ANSWER_TOKENS = 16  # models.answers asks for a short reply (options.num_predict)
STREAM_TOKENS = 64  # stream.latency caps the reply it times


class Failed(Exception):
    def __init__(self, message: str, metrics: dict | None = None) -> None:
        super().__init__(message)
        self.metrics = metrics or {}


class Skip(Exception):
    pass


class NoAnswer(Exception):
    """No usable answer at all (timeout, connection refused): a JUnit error, not a failure."""


@dataclasses.dataclass
class Context:
    client: httpx.AsyncClient
    leaf: OllamaInferenceLoad
    leaf_path: str
    timeout: float
    capabilities: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    samples: list[Sample] = dataclasses.field(default_factory=list)
    unavailable: dict[str, str] = dataclasses.field(default_factory=dict)  # model -> the check it failed

    def url(self, path: str) -> str:
        return f"{str(self.client.base_url).rstrip('/')}{path}"

    def available(self, kind: str | None = None) -> list[ModelSpec]:
        return [m for m in self.leaf.model_specs if m.name not in self.unavailable and (kind is None or m.kind == kind)]

    def require(self, spec: ModelSpec) -> None:
        if spec.name in self.unavailable:
            raise Skip(f"not run: {spec.name} failed {self.unavailable[spec.name]}")

    def broken(self, spec: ModelSpec, check: str, message: str, metrics: dict | None = None, *, timed_out: bool = False) -> Exception:
        """Mark ``spec`` unavailable to later checks; the exception to raise for ``check``."""
        self.unavailable[spec.name] = check
        return NoAnswer(message) if timed_out else Failed(message, metrics)


@dataclasses.dataclass(frozen=True)
class Check:
    name: str
    run: Callable[[Context], Awaitable[dict]]


def canonical(name: str) -> str:
    """Ollama's identity of a model name: defaults filled in, case folded."""
    tag = "latest"
    slash, colon = name.rfind("/"), name.rfind(":")
    if colon > slash:
        name, tag = name[:colon], name[colon + 1 :]
    parts = name.split("/")
    parts = ["registry.ollama.ai", "library"][: 3 - len(parts)] + parts
    return "/".join(parts + [tag]).lower()


async def get_json(ctx: Context, method: str, path: str, body: dict | None = None) -> tuple[httpx.Response, object]:
    response = await ctx.client.request(method, path, json=body, timeout=ctx.timeout)
    try:
        return response, response.json()
    except ValueError:
        return response, None


def expect_200(response: httpx.Response, what: str) -> None:
    if response.status_code != 200:
        raise Failed(f"{what} answered HTTP {response.status_code}: {error_text(response)}")
