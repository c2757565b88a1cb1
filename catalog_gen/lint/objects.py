"""The records lint passes between its stages: rendered objects and raw issues.

A check never builds a ``Finding`` itself: it returns ``Issue`` records that
name the check, the object and a JSON pointer into it. The engine turns them
into findings once, adding severity and remediation from the registry and
file/line locations from ``locate`` (only issues pay for locating).
"""

from __future__ import annotations

import dataclasses
from typing import Any


def escape_pointer(segment: object) -> str:
    return str(segment).replace("~", "~0").replace("/", "~1")


def pointer(*segments: object) -> str:
    return "".join("/" + escape_pointer(s) for s in segments)


def unescape_pointer(text: str) -> list[str]:
    if not text:
        return []
    return [part.replace("~1", "/").replace("~0", "~") for part in text.split("/")[1:]]


@dataclasses.dataclass(slots=True)
class K8sObject:
    """One parsed document of a rendered template that looks like a Kubernetes object."""

    data: dict
    template: str  # chart-relative, e.g. "templates/deployment.yaml"
    doc_index: int  # index of the document inside that template's rendered output
    api_version: str
    kind: str
    name: str
    node: Any = None  # the composed YAML node of the document (positions for locating)
    line_offset: int = 0  # 0-based line of the document's first line in the rendered output
    # (token, placeholder) pairs when ``node`` was parsed from text with the chart's name and digests
    # replaced (shared.py): node keys hold placeholders where the data holds the tokens
    node_alias: tuple[tuple[str, str], ...] | None = None

    def node_pointer(self, pointer: str) -> str:
        """``pointer`` as the keys of ``node`` spell it (each key replaced as the text was, in the same order)."""
        if not self.node_alias:
            return pointer
        segments = []
        for segment in unescape_pointer(pointer):
            for token, mark in self.node_alias:
                segment = segment.replace(token, mark)
            segments.append(segment)
        return "".join("/" + escape_pointer(s) for s in segments)

    @property
    def ref(self) -> str:
        return f"{self.kind}/{self.name}"

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0]

    @property
    def version(self) -> str:
        return self.api_version.rpartition("/")[2]

    @property
    def namespace(self) -> str:
        meta = self.data.get("metadata")
        ns = meta.get("namespace") if isinstance(meta, dict) else None
        return ns if isinstance(ns, str) else ""

    @property
    def annotations(self) -> dict:
        meta = self.data.get("metadata")
        ann = meta.get("annotations") if isinstance(meta, dict) else None
        return ann if isinstance(ann, dict) else {}


@dataclasses.dataclass(slots=True)
class Issue:
    """A problem a check found, before it is located and formatted.

    Either ``obj`` is set (the pointer is into that object) or ``template`` is
    set with an optional rendered-output ``line``/``column`` (1-based, for
    problems that have no pointer, such as YAML that does not parse or a
    duplicate key; ``obj`` may be set too, to name the object), or
    ``file`` names a chart file directly (Chart.yaml, a values file) with a
    source ``line``/``column``.
    """

    check: str
    message: str
    obj: K8sObject | None = None
    pointer: str = ""
    template: str = ""
    file: str = ""
    line: int = 0
    column: int = 0
    severity: str = ""  # override of the registry severity (e.g. --require-schemas)


def get_path(data: Any, *keys: object) -> Any:
    """``data[k1][k2]...`` or None when any step is missing or of the wrong type."""
    for key in keys:
        if isinstance(key, int):
            if not isinstance(data, list) or key >= len(data):
                return None
        elif not isinstance(data, dict):
            return None
        data = data[key] if isinstance(key, int) else data.get(key)
    return data


def as_dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list:
    return value if isinstance(value, list) else []
