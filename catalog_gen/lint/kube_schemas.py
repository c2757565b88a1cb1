"""Strict Kubernetes JSON schemas from the ``kubernetes-validate`` package, compiled once.

``kubernetes_validate.validate()`` re-reads and recompiles the schema on every
call (about 10 ms an object) and stops at the first error. We read its
schema files directly instead: the shared ``_definitions.json`` of a version
goes into one ``jsonschema_rs.Registry``, and each (version, apiVersion,
kind) gets one compiled validator, cached for the life of the process (about
3 ms to compile, then about 15 us an object, every error reported).

The ``-strict`` schema variants reject unknown fields. They allow ``null``
everywhere and do not parse quantities; ``semantic.py`` checks those.
"""

from __future__ import annotations

import functools
import json
import re
import threading
from pathlib import Path

import importlib.util

import jsonschema_rs

from catalog_gen.errors import ToolError, UsageError


def _package_folder(name: str) -> Path:
    """Where an installed package lives, without importing it (kubernetes_validate imports jsonschema: 0.1 s)."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.origin:
        return Path(name)  # not installed: available_versions() finds no schemas and says so
    return Path(spec.origin).parent


SCHEMA_ROOT = _package_folder("kubernetes_validate") / "kubernetes-json-schema"
_VERSION_DIR = re.compile(r"^v(\d+)\.(\d+)\.\d+-local-strict$")
_USER_VERSION = re.compile(r"^v?(\d+)\.(\d+)(?:\.\d+)?$")
OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"


@functools.cache
def available_versions() -> tuple[str, ...]:
    """Kubernetes minor versions with strict schemas, e.g. ("1.25", ..., "1.37")."""
    found = []
    for entry in SCHEMA_ROOT.iterdir() if SCHEMA_ROOT.is_dir() else ():
        match = _VERSION_DIR.match(entry.name)
        if match:
            found.append((int(match[1]), int(match[2])))
    return tuple(f"{major}.{minor}" for major, minor in sorted(found))


def normalize_version(text: str) -> str:
    """"1.31", "v1.31" or "v1.31.2" -> "1.31"; an unsupported version is a usage error."""
    match = _USER_VERSION.match(text.strip())
    versions = available_versions()
    if not versions:
        raise ToolError(
            f"no Kubernetes schemas found under {SCHEMA_ROOT}",
            hint="reinstall the kubernetes-validate package (pip install --force-reinstall kubernetes-validate)",
        )
    if match is None or f"{match[1]}.{match[2]}" not in versions:
        raise UsageError(
            f"--kube-version {text!r} is not supported",
            hint=f"use one of {versions[0]} .. {versions[-1]} (the versions kubernetes-validate ships schemas for)",
        )
    return f"{match[1]}.{match[2]}"


def schema_file_stem(api_version: str, kind: str) -> str:
    """kubernetes-validate's file naming: apps/v1 Deployment -> deployment-apps-v1."""
    group, _, version = api_version.rpartition("/")
    prefix = group.split(".")[0] + "-" if group else ""
    return f"{kind.lower()}-{prefix}{version}"


def _load_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ToolError(
            f"cannot read the Kubernetes schema {path}: {exc}",
            hint="reinstall the kubernetes-validate package (pip install --force-reinstall kubernetes-validate)",
        ) from exc


class KubeSchemas:
    """Compiled validators of one Kubernetes version; get one with ``for_version``."""

    def __init__(self, version: str) -> None:
        self.version = version
        self.directory = SCHEMA_ROOT / f"v{version}.0-local-strict"
        definitions = _load_json(self.directory / "_definitions.json")
        self.definitions_id = definitions["$id"]
        self.registry = jsonschema_rs.Registry([(self.definitions_id, definitions)])
        self._validators: dict[tuple[str, str], jsonschema_rs.Validator | None] = {}
        self._lock = threading.Lock()  # one process-wide cache; callers may lint from several threads

    @staticmethod
    @functools.cache
    def for_version(version: str) -> "KubeSchemas":
        return KubeSchemas(version)

    def ref(self, definition: str) -> dict:
        """A schema that refers to one shared definition, e.g. ObjectMeta (for CRD metadata)."""
        return {"$ref": f"{self.definitions_id}#/$defs/{definition}"}

    def validator(self, api_version: str, kind: str) -> jsonschema_rs.Validator | None:
        """The validator of a built-in kind, or None when this version has no such apiVersion/kind."""
        key = (api_version, kind)
        if key not in self._validators:
            with self._lock:
                if key not in self._validators:
                    self._validators[key] = self._compile(api_version, kind)
        return self._validators[key]

    def _compile(self, api_version: str, kind: str) -> jsonschema_rs.Validator | None:
        path = self.directory / f"{schema_file_stem(api_version, kind)}.json"
        if not path.is_file():
            return None
        schema = _load_json(path)
        group, _, version = api_version.rpartition("/")
        gvks = schema.get("x-kubernetes-group-version-kind") or []
        # File names drop all but the first label of the group: make sure this is really ours
        # (networking.istio.io/v1 Gateway must not pick up a built-in networking-v1 schema).
        if not any(g.get("group", "") == group and g.get("version") == version and g.get("kind") == kind for g in gvks):
            return None
        return jsonschema_rs.validator_for(schema, registry=self.registry)

    @functools.cached_property
    def known_kinds(self) -> frozenset[str]:
        """Lower-case kinds that have any built-in schema in this version (to tell built-in from custom)."""
        kinds = set()
        for path in self.directory.glob("*.json"):
            kinds.add(path.name.split("-", 1)[0])
        return frozenset(kinds)
