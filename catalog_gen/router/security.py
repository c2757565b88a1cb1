"""The wall around Ollama's admin API and the optional API keys.

Admin wall: Ollama serves model management (pull, push, delete, create, copy,
blobs) on the same port as inference. The router's public listener never
serves those, whoever the peer is: the peer address proves nothing, since a
service mesh delivers every remote caller from loopback (Istio's sidecar from
127.0.0.6, Linkerd's from 127.0.0.1) and so does ``kubectl port-forward``.
Management is served only on the management listener, a unix socket inside the
pod (``adminSocket``) that the chart does not expose. The public listener also
forwards only the paths known to be inference or read-only (an allowlist): an
endpoint a future Ollama adds stays behind the wall until it is listed here.
Ollama's account and cloud routes are walled with a reason (``WALLED``).

API keys: one key per line in a mounted file (``#`` comments and blank lines
ignored). The router keeps SHA-256 digests of the keys and compares the
digest of the presented key with every one of them using
``hmac.compare_digest``, without stopping at the first match, so the time
taken does not depend on how much of a key was right. The file is re-read when
its (inode, size, mtime) changes, which is how a Kubernetes Secret mount
rotates; an unreadable file keeps the last good keys.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
from pathlib import Path

log = logging.getLogger("catalog_gen.router")

ADMIN_PATHS = frozenset({"/api/pull", "/api/push", "/api/delete", "/api/create", "/api/copy"})
ADMIN_PREFIXES = ("/api/blobs/",)
# Paths remote callers may reach. Everything else is loopback only.
PUBLIC_PATHS = frozenset({
    "/", "/api/version", "/api/tags", "/api/ps", "/api/show",
    "/api/generate", "/api/chat", "/api/embed", "/api/embeddings",
    "/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/v1/models",
    "/v1/responses", "/v1/messages",
})
PUBLIC_PREFIXES = ("/v1/models/",)
_EGRESS = "it calls ollama.com signed with the pod's Ollama identity key, which callers must not borrow"
# Routes Ollama has that the router deliberately does not serve, and why (the caller reads the reason).
WALLED = {
    "/api/me": _EGRESS,
    "/api/signout": _EGRESS,
    "/api/user/keys": _EGRESS,
    "/api/experimental/web_search": _EGRESS,
    "/api/experimental/web_fetch": _EGRESS,
    "/api/experimental/model-recommendations": "it fetches recommendations from ollama.com; it is not part of this service",
    "/api/status": "it reports the pod's cloud configuration; it is not part of this service",
    "/v1/audio/transcriptions": "a multipart body names its model where the router cannot give it a slot; not served yet",
}


def canonical_path(path: str) -> str:
    """The path as Ollama's router would match it: no repeated or trailing slashes, lower case."""
    while "//" in path:
        path = path.replace("//", "/")
    if len(path) > 1 and path.endswith("/"):
        path = path.rstrip("/") or "/"
    return path.lower()


def is_admin(path: str) -> bool:
    canon = canonical_path(path)
    return canon in ADMIN_PATHS or canon.startswith(ADMIN_PREFIXES) or canon == "/api/blobs"


def walled_reason(path: str) -> str | None:
    canon = canonical_path(path)
    reason = WALLED.get(canon)
    if reason is None and canon.startswith("/api/user/keys/"):
        reason = WALLED["/api/user/keys"]
    return reason


def is_public(path: str) -> bool:
    if path in PUBLIC_PATHS:
        return True
    if not path.startswith(PUBLIC_PREFIXES) or len(path) == len("/v1/models/"):
        return False
    return not any(part in (".", "..", "") for part in path[len("/v1/models/"):].split("/"))


class ApiKeys:
    """The keys in ``path``; ``check(header)`` says whether an Authorization header carries one of them."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._digests: tuple[bytes, ...] = ()
        self._stamp: tuple | None = None
        self._missing = False  # warned that the file is unreadable (once, until it is back)
        self.reload()

    def _read_stamp(self) -> tuple | None:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return (st.st_ino, st.st_size, st.st_mtime_ns)

    def reload(self) -> bool:
        """Re-read the file if it changed. Returns True when the key set was replaced."""
        stamp = self._read_stamp()
        if stamp is None:
            if not self._missing:
                self._missing = True
                log.warning("API key file %s is unreadable; keeping the last %d key(s) until it is back",
                            self.path, len(self._digests))
            return False
        if self._missing:
            self._missing = False
            log.info("API key file %s is readable again", self.path)
        if stamp == self._stamp:
            return False
        try:
            text = self.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            log.warning("cannot read API key file %s (%s); keeping the last %d key(s)", self.path, exc, len(self._digests))
            return False
        keys = [line.strip() for line in text.splitlines()]
        self._digests = tuple(hashlib.sha256(k.encode()).digest() for k in keys if k and not k.startswith("#"))
        self._stamp = stamp
        if not self._digests:
            log.warning("API key file %s holds no key: every request will get 401", self.path)
        return True

    def check(self, authorization: bytes | None) -> bool:
        if not authorization or authorization[:7].lower() != b"bearer ":
            return False
        presented = hashlib.sha256(authorization[7:].strip()).digest()
        found = False
        for digest in self._digests:
            found |= hmac.compare_digest(presented, digest)
        return found
