"""Ollama's model-name and keep_alive parsing, as the server does it.

Names: ``[host[:port]/][namespace/]model[:tag]`` with defaults
``registry.ollama.ai``, ``library``, ``latest``; matching is case-insensitive;
``model@sha256:...`` is not a valid name (Ollama cannot pull by digest).

keep_alive: a JSON number is seconds, a string is a Go duration
(``time.ParseDuration``: ``"5m"``, ``"1h30m"``, ``"0"``); a negative value
means "forever"; a bare string without a unit (``"300"``) is rejected with
Go's own message, which Ollama returns as a 400.
"""

from __future__ import annotations

import dataclasses
import re

DEFAULT_HOST = "registry.ollama.ai"
DEFAULT_NAMESPACE = "library"
DEFAULT_TAG = "latest"

_HOST = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,349}$")
_NAMESPACE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_-]{0,79}$")
_MODEL_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,79}$")

FOREVER_SECONDS = float(2**63 - 1) / 1e9  # Go's maximum time.Duration, about 292 years


@dataclasses.dataclass(frozen=True, slots=True)
class ModelName:
    host: str
    namespace: str
    model: str
    tag: str

    @property
    def key(self) -> tuple[str, str, str, str]:
        """Case-insensitive identity used to find a model on disk."""
        return (self.host.lower(), self.namespace.lower(), self.model.lower(), self.tag.lower())

    def display_shortest(self) -> str:
        """What /api/tags and /api/ps show: defaults left out."""
        if self.host.lower() != DEFAULT_HOST:
            return f"{self.host}/{self.namespace}/{self.model}:{self.tag}"
        if self.namespace.lower() != DEFAULT_NAMESPACE:
            return f"{self.namespace}/{self.model}:{self.tag}"
        return f"{self.model}:{self.tag}"


def parse_name(raw: str) -> ModelName | None:
    """Parse ``raw`` with Ollama's defaults; ``None`` when the name is invalid."""
    if not raw or "@" in raw:
        return None
    rest = raw
    tag = DEFAULT_TAG
    slash = rest.rfind("/")
    colon = rest.rfind(":")
    if colon > slash:
        rest, tag = rest[:colon], rest[colon + 1 :]
    parts = rest.split("/")
    if len(parts) == 1:
        host, namespace, model = DEFAULT_HOST, DEFAULT_NAMESPACE, parts[0]
    elif len(parts) == 2:
        host, namespace, model = DEFAULT_HOST, parts[0], parts[1]
    elif len(parts) == 3:
        host, namespace, model = parts
    else:
        return None
    if not (_HOST.match(host) and _NAMESPACE.match(namespace) and _MODEL_TAG.match(model) and _MODEL_TAG.match(tag)):
        return None
    return ModelName(host, namespace, model, tag)


# --- Go durations -----------------------------------------------------------------------------

_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_PART = re.compile(r"([0-9]*(?:\.[0-9]*)?)(ns|us|µs|μs|ms|s|m|h)?")


class DurationError(ValueError):
    """Carries Go's ``time.ParseDuration`` error text."""


def parse_go_duration(text: str) -> float:
    """Seconds for a Go duration string, with Go's error messages."""
    quoted = '"' + text + '"'
    s = text
    sign = 1.0
    if s[:1] in "+-" and s:
        sign = -1.0 if s[0] == "-" else 1.0
        s = s[1:]
    if s == "0":
        return 0.0
    if not s:
        raise DurationError(f"time: invalid duration {quoted}")
    total = 0.0
    while s:
        m = _PART.match(s)
        number, unit = m.group(1), m.group(2)
        if number in ("", "."):
            raise DurationError(f"time: invalid duration {quoted}")
        if unit is None:
            if m.end() == len(s):
                raise DurationError(f"time: missing unit in duration {quoted}")
            bad = s[m.end() :]
            raise DurationError(f'time: unknown unit "{bad}" in duration {quoted}')
        total += float(number) * _UNITS[unit]
        s = s[m.end() :]
    return sign * total


def parse_keep_alive(value: object) -> float | None:
    """keep_alive of a request body -> seconds (``inf`` = forever), ``None`` when absent.

    Raises DurationError (a 400) for strings Go rejects and for other JSON types.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise DurationError("json: cannot unmarshal bool into Go struct field of type api.Duration")
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str):
        seconds = parse_go_duration(value)
    else:
        raise DurationError(f"Unsupported type: '{type(value).__name__}'")
    return float("inf") if seconds < 0 else seconds


def parse_env_keep_alive(text: str) -> float:
    """OLLAMA_KEEP_ALIVE: a duration or a bare number of seconds; negative = forever."""
    try:
        seconds = float(text)
    except ValueError:
        seconds = parse_go_duration(text)
    return float("inf") if seconds < 0 else seconds
