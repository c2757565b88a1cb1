"""Model-less listings answered as the union across backends: /api/tags, /api/ps, /v1/models.

Each up backend is asked at once; a model listed by several appears once (the
first backend in config order wins); a backend that fails is left out and
logged. When every backend fails the caller gets 502 in its dialect.
"""

from __future__ import annotations

import asyncio
import json
import logging

from catalog_gen.router.backends import Backend
from catalog_gen.router.upstream import UpstreamError

log = logging.getLogger("catalog_gen.router")
UNION_PATHS = {"/api/tags": "models", "/api/ps": "models", "/v1/models": "data"}


async def _fetch(backend: Backend, path: str, timeout: float) -> dict | None:
    try:
        data = await backend.get_json(path, timeout)
    except (UpstreamError, TimeoutError) as exc:
        log.warning("%s left out of %s: %s", backend.url, path, exc or "timed out")
        if isinstance(exc, UpstreamError):
            backend.record_failure("connect" if exc.before_response else "response", str(exc))
        return None
    backend.record_success()
    return data


async def union(backends: list[Backend], path: str, timeout: float) -> tuple[int, bytes, bytes]:
    """(status, content type, body) of the merged listing."""
    up = [b for b in backends if b.up] or list(backends)
    answers = await asyncio.gather(*(_fetch(b, path, timeout) for b in up))
    answers = [a for a in answers if a is not None]
    if not answers:
        raise UpstreamError(f"no backend answered {path}", before_response=True)
    key = UNION_PATHS[path]
    id_key = "id" if key == "data" else "name"
    seen: set[str] = set()
    merged = []
    for answer in answers:
        for item in answer.get(key) or []:
            ident = str(item.get(id_key, "")) if isinstance(item, dict) else ""
            if ident and ident.lower() not in seen:
                seen.add(ident.lower())
                merged.append(item)
    if key == "data":
        return 200, b"application/json", json.dumps({"object": "list", "data": merged}).encode() + b"\n"
    return 200, b"application/json; charset=utf-8", json.dumps({key: merged}, separators=(",", ":")).encode()
