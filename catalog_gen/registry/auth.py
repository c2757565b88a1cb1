"""Credentials and the token dance of the OCI distribution spec (what Docker and Ollama's registry use).

Credentials come from the Docker client's config file, as `docker login` writes it:
``$DOCKER_CONFIG/config.json`` (default ``~/.docker/config.json``), ``auths.<host>.auth``
(base64 ``user:password``) or ``username``/``password``. Credential helpers
(``credsStore``, ``credHelpers``) are not run. Without an entry the client is anonymous.

A 401 carries ``WWW-Authenticate``:
- ``Bearer realm=...,service=...,scope=...``: GET the realm with ``service`` and ``scope``
  (Basic credentials when we have some) and retry with ``Authorization: Bearer <token>``;
- ``Basic realm=...``: retry with Basic credentials.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
from pathlib import Path

_PARAM = re.compile(r'([A-Za-z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))')


def docker_config_path() -> Path:
    folder = os.environ.get("DOCKER_CONFIG")
    return Path(folder) / "config.json" if folder else Path.home() / ".docker" / "config.json"


def credentials_for(host: str, config: Path | None = None) -> tuple[str, str] | None:
    """(user, password) for a registry host from the Docker config file, or None."""
    path = config or docker_config_path()
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    auths = doc.get("auths") if isinstance(doc, dict) else None
    if not isinstance(auths, dict):
        return None
    for key in (host, f"https://{host}", f"http://{host}", f"https://{host}/v2/", f"http://{host}/v2/"):
        entry = auths.get(key)
        if not isinstance(entry, dict):
            continue
        if entry.get("username") and entry.get("password"):
            return str(entry["username"]), str(entry["password"])
        try:
            user, _, password = base64.b64decode(entry.get("auth", ""), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            continue
        if user and password:
            return user, password
    return None


def parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    """(scheme lower-cased, parameters) of a WWW-Authenticate header."""
    scheme, _, rest = header.strip().partition(" ")
    params = {m.group(1).lower(): (m.group(2) if m.group(2) is not None else m.group(3)) for m in _PARAM.finditer(rest)}
    return scheme.lower(), params


def basic_header(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
