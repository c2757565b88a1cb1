"""The wall around Ollama's admin API and the optional API keys.

Admin wall: Ollama serves model management (pull, push, delete, create, copy,
blobs) on the same port as inference. The router forwards those only for
callers on loopback (inside the pod). It also forwards, to remote callers,
only the paths it knows to be inference or read-only (an allowlist): an
endpoint a future Ollama adds (``/api/signin`` and friends were such) stays
behind the wall until it is listed here. The caller's address is the TCP
peer; forwarded-for headers are never trusted.

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
import ipaddress
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
})
PUBLIC_PREFIXES = ("/v1/models/",)


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


def is_public(path: str) -> bool:
    if path in PUBLIC_PATHS:
        return True
    if not path.startswith(PUBLIC_PREFIXES) or len(path) == len("/v1/models/"):
        return False
    return not any(part in (".", "..", "") for part in path[len("/v1/models/"):].split("/"))


def is_loopback(client: tuple | list | None) -> bool:
    if not client:
        return False
    try:
        address = ipaddress.ip_address(str(client[0]).split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


class ApiKeys:
    """The keys in ``path``; ``check(header)`` says whether an Authorization header carries one of them."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._digests: tuple[bytes, ...] = ()
        self._stamp: tuple | None = None
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
        if stamp is None or stamp == self._stamp:
            if stamp is None and self._stamp is not None:
                log.warning("API key file %s is unreadable; keeping the last %d key(s)", self.path, len(self._digests))
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
