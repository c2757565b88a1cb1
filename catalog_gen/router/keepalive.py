"""A caller's ``keep_alive`` bounded by the leaf's policy.

Ollama lets any caller unload a model (``keep_alive: 0``) or pin it in memory
forever (a negative value). Behind the router:
- for a model kept warm (the leaf's ``models`` with ``keepWarm``, the default)
  the caller's ``keep_alive`` is dropped: a request without one keeps the
  duration the router set at warm-up (forever), so no caller can unload or pin it;
- for any other model (``keepWarm: false`` ones too: a pool's workers, whose
  models the gateway loads and unloads through them) a value is clamped to
  ``[keepAliveMinSeconds, keepAliveMaxSeconds]``; "forever" (negative) becomes the maximum;
- a value Ollama would reject (``"300"``, a bool) is left alone: Ollama answers
  its own 400.
Only bodies that mention ``keep_alive`` are decoded; the rest pass byte for byte.
"""

from __future__ import annotations

import json
import re

_PART = re.compile(r"([0-9]*(?:\.[0-9]*)?)(ns|us|µs|μs|ms|s|m|h)")
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def seconds_of(value) -> float | None:
    """Seconds of a keep_alive value as Ollama reads it; None when Ollama would reject it."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if not isinstance(value, str) or not value:
        return None
    text, sign = value, 1.0
    if text[0] in "+-":
        sign, text = (-1.0 if text[0] == "-" else 1.0), text[1:]
    if text == "0":
        return 0.0
    total, pos = 0.0, 0
    while pos < len(text):
        match = _PART.match(text, pos)
        if not match or match.group(1) in ("", "."):
            return None
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    return sign * total if pos else None


class KeepAlivePolicy:
    def __init__(self, required: set[str], low: float, high: float) -> None:
        self.required = required
        self.low = low
        self.high = high

    def apply(self, body: bytes, model: str) -> bytes:
        """The body to forward."""
        if b'"keep_alive"' not in body:
            return body
        try:
            data = json.loads(body)
        except ValueError:
            return body
        if not isinstance(data, dict) or "keep_alive" not in data:
            return body
        if model in self.required:
            del data["keep_alive"]
        else:
            seconds = seconds_of(data["keep_alive"])
            if seconds is None:
                return body
            bounded = self.high if seconds < 0 else min(max(seconds, self.low), self.high)
            if bounded == seconds:
                return body
            data["keep_alive"] = int(bounded) if bounded == int(bounded) else bounded
        return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
