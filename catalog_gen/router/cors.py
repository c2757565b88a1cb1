"""CORS at the router: browsers are answered here, and Ollama's own origin check is never left to decide.

Why the router does it: Ollama compares ``Origin`` with the ``Host`` header as it
receives it, and the router sends Ollama ``Host: localhost:PORT`` (its host
check). A page served from the service's own host is then cross-origin for
Ollama (403), while a page on ``http://localhost:*`` is on Ollama's built-in
allow list and would pass. So the router decides with the caller's real Host and
the leaf's list, and never forwards ``Origin``: for an allowed or same-origin
request Ollama sees no Origin (its check passes), and a refused origin never
reaches Ollama.

Rules (the same as Ollama's gin-contrib/cors, with the router's list):
- no ``Origin``: nothing to do;
- ``Origin`` equal to ``http://`` + Host or ``https://`` + Host (the Host header the
  caller sent): same-origin, passes, no CORS headers;
- otherwise the origin must match an entry of ``corsAllowedOrigins`` (exact, one
  ``*`` as a wildcard, or ``*`` for every origin) or the request gets 403;
- an allowed preflight (``OPTIONS``) is answered 204 by the router, before the API
  key check (a browser's preflight carries no key), with Ollama's CORS headers plus
  ``X-Api-Key`` and ``Anthropic-Version`` among the allowed headers;
- other allowed requests get ``Access-Control-Allow-Origin`` and ``Vary: Origin``.
"""

from __future__ import annotations

ALLOW_METHODS = b"GET,POST,PUT,PATCH,DELETE,HEAD,OPTIONS"
ALLOW_HEADERS = ",".join(
    ["Authorization", "Content-Type", "User-Agent", "Accept", "X-Requested-With", "Openai-Beta",
     "X-Api-Key", "Anthropic-Version", "Anthropic-Beta"]
    + [f"X-Stainless-{h}" for h in ("Arch", "Async", "Custom-Poll-Interval", "Helper-Method", "Lang", "Os",
                                    "Package-Version", "Poll-Helper", "Retry-Count", "Runtime", "Runtime-Version", "Timeout")]
).encode()
MAX_AGE = b"43200"


class CorsPolicy:
    def __init__(self, entries: tuple[str, ...] | list[str]) -> None:
        self.allow_all = "*" in entries
        self.exact = frozenset(e for e in entries if "*" not in e)
        self.wildcards = tuple(tuple(e.split("*", 1)) for e in entries if "*" in e and e != "*")

    @staticmethod
    def same_origin(origin: bytes, host: bytes | None) -> bool:
        return bool(host) and origin in (b"http://" + host, b"https://" + host)

    def allows(self, origin: str) -> bool:
        if self.allow_all or origin in self.exact:
            return True
        return any(origin.startswith(p) and origin.endswith(s) and len(origin) >= len(p) + len(s) for p, s in self.wildcards)

    def reply_headers(self, origin: bytes) -> list[tuple[bytes, bytes]]:
        if self.allow_all:
            return [(b"access-control-allow-origin", b"*")]
        return [(b"access-control-allow-origin", origin), (b"vary", b"Origin")]

    def preflight_headers(self, origin: bytes) -> list[tuple[bytes, bytes]]:
        headers = [(b"access-control-allow-methods", ALLOW_METHODS), (b"access-control-allow-headers", ALLOW_HEADERS),
                   (b"access-control-max-age", MAX_AGE)]
        if self.allow_all:
            return headers + [(b"access-control-allow-origin", b"*")]
        return headers + [(b"access-control-allow-origin", origin), (b"vary", b"Origin"),
                          (b"vary", b"Access-Control-Request-Method"), (b"vary", b"Access-Control-Request-Headers")]
