"""HTTP plumbing of the Ollama double: the reply writer, the host check, Go-like JSON decoding.

Kept close to what Ollama's Go server (gin) puts on the wire: ``c.JSON`` is compact
JSON without a trailing newline and ``application/json; charset=utf-8``; the OpenAI
writers use ``json.Encoder`` (trailing newline, ``application/json``); a streamed
reply sends its headers with its first chunk, so an error before any chunk is a
plain error status.
"""

from __future__ import annotations

import ipaddress
import json
import socket

JSON_TYPE = "application/json; charset=utf-8"
NDJSON_TYPE = "application/x-ndjson"
SSE_TYPE = "text/event-stream"
TEXT_TYPE = "text/plain; charset=utf-8"


class ApiError(Exception):
    """An error answered before any byte of the reply: ``{"error": message}`` with ``status``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class DropConnection(Exception):
    """Raised inside a handler to close the TCP connection without finishing the reply."""


def dumps(obj: object) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


class Reply:
    """Writes one HTTP response through ASGI ``send``."""

    def __init__(self, send, method: str) -> None:
        self._send = send
        self._head_only = method == "HEAD"
        self.started = False
        self.finished = False
        self.status = 0
        self.extra_headers: list[tuple[bytes, bytes]] = []  # e.g. CORS headers, added to whatever is answered

    async def start(self, status: int, content_type: str | None, length: int | None = None) -> None:
        headers = []
        if content_type:
            headers.append((b"content-type", content_type.encode()))
        if length is not None:
            headers.append((b"content-length", str(length).encode()))
        headers.extend(self.extra_headers)
        self.started = True
        self.status = status
        await self._send({"type": "http.response.start", "status": status, "headers": headers})

    async def chunk(self, data: bytes) -> None:
        if not self._head_only:
            await self._send({"type": "http.response.body", "body": data, "more_body": True})

    async def end(self) -> None:
        self.finished = True
        await self._send({"type": "http.response.body", "body": b"", "more_body": False})

    async def full(self, status: int, content_type: str | None, data: bytes) -> None:
        await self.start(status, content_type, len(data))
        self.finished = True
        await self._send({"type": "http.response.body", "body": b"" if self._head_only else data, "more_body": False})

    async def json(self, status: int, obj: object) -> None:
        await self.full(status, JSON_TYPE, dumps(obj))

    async def error(self, status: int, message: str) -> None:
        await self.json(status, {"error": message})

    async def openai_error(self, status: int, message: str) -> None:
        await self.full(status, "application/json", dumps(openai_error_body(status, message)) + b"\n")

    async def empty(self, status: int) -> None:
        await self.full(status, None, b"")

    async def text(self, status: int, data: bytes, headers: list[tuple[bytes, bytes]] = ()) -> None:
        self.extra_headers.extend(headers)
        await self.full(status, TEXT_TYPE, data)


def openai_error_body(status: int, message: str) -> dict:
    kind = {400: "invalid_request_error", 404: "not_found_error"}.get(status, "api_error")
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}


# --- host check (Ollama's allowedHostsMiddleware, for a server bound to loopback) --------------

_GO_PRIVATE = [ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")]


def _split_host(host_header: str) -> str:
    value = host_header.strip()
    if value.startswith("["):
        end = value.find("]")
        return value[1:end] if end > 0 else value
    if value.count(":") == 1:
        return value.split(":", 1)[0]
    return value


def is_ip_host(host_header: str) -> bool:
    try:
        ipaddress.ip_address(_split_host(host_header))
    except ValueError:
        return False
    return True


def host_allowed(host_header: str) -> bool:
    host = _split_host(host_header).lower()
    try:
        addr = ipaddress.ip_address(host)
    except ValueError:
        addr = None
    if addr is not None:
        if addr.is_loopback or addr.is_unspecified or any(addr in n for n in _GO_PRIVATE if n.version == addr.version):
            return True
    if host in ("", "localhost") or host == socket.gethostname().lower():
        return True
    return any(host.endswith("." + tld) for tld in ("localhost", "local", "internal"))


# --- Go-like JSON request decoding -------------------------------------------------------------

_GO_TYPES = {str: "string", bool: "bool", list: "array", dict: "object", int: "number", float: "number"}


def _json_kind(value: object) -> str:
    if value is None:
        return "null"
    return _GO_TYPES.get(type(value), "value")


def decode_body(body: bytes, struct: str, fields: dict[str, tuple[type, str]], *, empty_message: str) -> dict:
    """Decode like Go's ``json.Decoder`` into ``struct``; raises ApiError(400) with Go's wording.

    ``fields`` maps a JSON key to (python type, Go type name) for the keys whose type is checked.
    """
    text = body.decode("utf-8", errors="replace")
    if not text.strip():
        raise ApiError(400, empty_message)
    text = text.lstrip()
    try:  # like Go's Decoder.Decode: the first JSON value; what follows it is not read
        data, _ = json.JSONDecoder().raw_decode(text)
    except json.JSONDecodeError as exc:
        rest = text[exc.pos :].strip()
        if not rest:
            raise ApiError(400, "unexpected EOF") from None
        raise ApiError(400, f"invalid character {rest[0]!r} looking for beginning of value") from None
    if not isinstance(data, dict):
        raise ApiError(400, f"json: cannot unmarshal {_json_kind(data)} into Go value of type {struct}")
    for key, (pytype, gotype) in fields.items():
        value = data.get(key)
        if value is None:
            continue
        ok = isinstance(value, pytype) and not (pytype in (int, float) and isinstance(value, bool))
        if pytype is float and isinstance(value, int) and not isinstance(value, bool):
            ok = True
        if not ok:
            short = struct.split(".")[-1]
            raise ApiError(400, f"json: cannot unmarshal {_json_kind(value)} into Go struct field {short}.{key} of type {gotype}")
    return data


# --- CORS (gin-contrib/cors v1.7.2 as Ollama configures it; runs before the host check) --------

CORS_ALLOW_METHODS = "GET,POST,PUT,PATCH,DELETE,HEAD,OPTIONS"
CORS_ALLOW_HEADERS = ",".join(
    ["Authorization", "Content-Type", "User-Agent", "Accept", "X-Requested-With", "Openai-Beta"]
    + [f"X-Stainless-{h}" for h in ("Arch", "Async", "Custom-Poll-Interval", "Helper-Method", "Lang", "Os",
                                    "Package-Version", "Poll-Helper", "Retry-Count", "Runtime", "Runtime-Version", "Timeout")]
)
CORS_MAX_AGE = "43200"


class OriginConfigError(ValueError):
    """What Ollama panics with at start for a bad OLLAMA_ORIGINS entry."""


def allowed_origins(ollama_origins: str) -> list[str]:
    """OLLAMA_ORIGINS entries plus the built-ins Ollama always adds (envconfig.AllowedOrigins)."""
    entries = [e for e in (ollama_origins or "").split(",") if e.strip()] if ollama_origins else []
    for host in ("localhost", "127.0.0.1", "0.0.0.0"):
        entries += [f"http://{host}", f"https://{host}", f"http://{host}:*", f"https://{host}:*"]
    entries += ["app://*", "file://*", "tauri://*", "vscode-webview://*", "vscode-file://*"]
    return entries


class OriginPolicy:
    """gin-contrib/cors' origin validation: exact entries, one-star wildcards, or ``*`` for all."""

    _SCHEMES = ("http://", "https://", "chrome-extension://", "safari-extension://", "moz-extension://", "ms-browser-extension://")

    def __init__(self, entries: list[str]) -> None:
        self.allow_all = False
        self.exact: set[str] = set()
        self.wildcards: list[tuple[str, str]] = []
        for entry in entries:
            if entry.strip() == "*":
                self.allow_all = True
                continue
            if entry.count("*") > 1:
                raise OriginConfigError("only one * is allowed")
            if "*" in entry:
                prefix, suffix = entry.split("*")
                self.wildcards.append((prefix, suffix))
                continue
            if not entry.strip().lower().startswith(self._SCHEMES):
                raise OriginConfigError(f"bad origin: origins must contain '*' or include {self._SCHEMES}")
            self.exact.add(entry.strip().lower())

    def allows(self, origin: str) -> bool:
        if self.allow_all or origin in self.exact:
            return True
        return any(origin.startswith(p) and origin.endswith(s) and len(origin) >= len(p) + len(s) for p, s in self.wildcards)


def cors_headers(policy: OriginPolicy, origin: str, preflight: bool) -> list[tuple[bytes, bytes]]:
    if preflight:
        headers = [(b"access-control-allow-methods", CORS_ALLOW_METHODS.encode()),
                   (b"access-control-allow-headers", CORS_ALLOW_HEADERS.encode()),
                   (b"access-control-max-age", CORS_MAX_AGE.encode())]
        if policy.allow_all:
            headers.append((b"access-control-allow-origin", b"*"))
        else:
            headers.append((b"access-control-allow-origin", origin.encode()))
            headers += [(b"vary", b"Origin"), (b"vary", b"Access-Control-Request-Method"), (b"vary", b"Access-Control-Request-Headers")]
        return headers
    if policy.allow_all:
        return [(b"access-control-allow-origin", b"*")]
    return [(b"access-control-allow-origin", origin.encode()), (b"vary", b"Origin")]
