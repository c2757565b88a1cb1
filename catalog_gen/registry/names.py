"""Ollama model names as registry references, the way Ollama maps them (types/model/name.go).

``[host[:port]/][namespace/]model[:tag]`` with the defaults host ``registry.ollama.ai``,
namespace ``library`` and tag ``latest``. The manifest of a name lives at
``<scheme>://<host>/v2/<namespace>/<model>/manifests/<tag>``; the scheme is ``https``
unless the pull is ``insecure``, which makes every request plain ``http``.

A registry *mirror* replaces the host of every name (pods then pull
``<mirror>/<namespace>/<model>:<tag>`` and copy it to the name the leaf uses).
"""

from __future__ import annotations

import dataclasses
import re

DEFAULT_HOST = "registry.ollama.ai"
DEFAULT_NAMESPACE = "library"
DEFAULT_TAG = "latest"
# A registry host as a mirror setting: host[:port], no scheme, no path.
HOST_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,252}(:[0-9]{1,5})?$")
_PART = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,79}"
_NAME_RE = re.compile(
    r"^(?:(?P<a>[A-Za-z0-9_][A-Za-z0-9_.:-]{0,349})/)?(?:(?P<b>[A-Za-z0-9_][A-Za-z0-9_-]{0,79})/)?"
    rf"(?P<model>{_PART})(?::(?P<tag>{_PART}))?$"
)


class BadName(ValueError):
    """Not an Ollama model name."""


@dataclasses.dataclass(frozen=True, slots=True)
class ModelRef:
    """A fully qualified model name."""

    host: str
    namespace: str
    model: str
    tag: str

    @property
    def repository(self) -> str:
        """The OCI repository path: ``<namespace>/<model>``."""
        return f"{self.namespace}/{self.model}"

    def with_host(self, host: str) -> "ModelRef":
        return dataclasses.replace(self, host=host)

    @property
    def short(self) -> str:
        """The shortest name Ollama shows (``phi:latest``, ``team/m:t``, ``host/ns/m:t``)."""
        if self.host == DEFAULT_HOST:
            prefix = "" if self.namespace == DEFAULT_NAMESPACE else f"{self.namespace}/"
        else:
            prefix = f"{self.host}/{self.namespace}/"
        return f"{prefix}{self.model}:{self.tag}"

    def __str__(self) -> str:
        return f"{self.host}/{self.namespace}/{self.model}:{self.tag}"


def parse(name: str) -> ModelRef:
    """The fully qualified reference of an Ollama model name; `BadName` if it is none."""
    m = _NAME_RE.match(name)
    if not m:
        raise BadName(f"{name!r} is not an Ollama model name [host[:port]/][namespace/]model[:tag]")
    a, b = m.group("a"), m.group("b")
    if a and not b:  # two parts: namespace/model
        a, b = None, a
    return ModelRef(a or DEFAULT_HOST, b or DEFAULT_NAMESPACE, m.group("model"), m.group("tag") or DEFAULT_TAG)


def check_host(host: str) -> str:
    """A mirror setting as a host[:port]; `BadName` naming the problem otherwise."""
    if "://" in host:
        raise BadName(f"registry {host!r}: write host[:port] without a scheme; plain HTTP is `insecure: true`")
    if not HOST_RE.match(host):
        raise BadName(f"registry {host!r} is not a host[:port]")
    return host


def base_url(host: str, insecure: bool) -> str:
    return f"{'http' if insecure else 'https'}://{host}"
