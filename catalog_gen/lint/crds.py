"""Custom resource schemas read at run time from CRD YAML (``--crds DIR``).

Users pass the CRDs their cluster runs, as a release ships them or as
``kubectl get crd -o yaml`` prints them. Every served version's
``openAPIV3Schema`` becomes a JSON Schema (see ``openapi_to_jsonschema``),
compiled lazily the first time an object of that kind is checked.

Reading is lazy too: a CRD file is split into documents and each document
indexed by the ``group`` and ``names.kind`` found with two cheap regular
expressions; a document is parsed as YAML only when a chart uses its kind.
(The Argo CD ApplicationSet CRD alone is 1.4 MB and takes 0.4 s to parse.)
Documents the expressions cannot index are parsed at once.

CEL rules (``x-kubernetes-validations``) are not checked: JSON Schema cannot
express them and evaluating CEL needs the API server.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import threading
from pathlib import Path
from typing import Any

import jsonschema_rs
import yaml

from catalog_gen.errors import InputError, UsageError
from catalog_gen.lint.cache import ConvertedCrds
from catalog_gen.lint.kube_schemas import OBJECT_META, KubeSchemas
from catalog_gen.lint.manifests import split_documents

_CRD_KIND = re.compile(r"^kind:\s*CustomResourceDefinition\s*$", re.MULTILINE)
_GROUP = re.compile(r"^  group:\s*['\"]?([A-Za-z0-9.-]+)['\"]?\s*$", re.MULTILINE)
_NAMES_KIND = re.compile(r"^  names:\n(?:    .*\n)*?    kind:\s*['\"]?([A-Za-z0-9]+)['\"]?\s*$", re.MULTILINE)
# Keywords that are not JSON Schema (or that we translate ourselves) and are dropped.
_DROP = {"nullable", "externalDocs", "example", "x-kubernetes-validations", "x-kubernetes-list-map-keys", "x-kubernetes-map-type"}
_NESTED_ONE = ("items", "not")
_NESTED_MANY = ("allOf", "anyOf", "oneOf")


@dataclasses.dataclass(frozen=True)
class CrdVersion:
    group: str
    kind: str
    version: str
    served: bool
    deprecated: bool
    deprecation_warning: str
    schema: dict | None  # converted JSON Schema, None when the CRD has no schema for it
    source: str  # file the CRD came from


def openapi_to_jsonschema(node: Any, *, in_logic: bool = False) -> Any:
    """Convert a structural ``openAPIV3Schema`` to a strict JSON Schema (2020-12).

    - ``x-kubernetes-int-or-string`` -> ``anyOf: [integer, string]``;
    - ``x-kubernetes-preserve-unknown-fields`` keeps unknown fields, otherwise an
      object with ``properties`` rejects unknown fields (the API server would
      prune them silently, which is how a typo goes unnoticed);
    - ``x-kubernetes-embedded-resource`` also allows apiVersion/kind/metadata;
    - ``nullable`` and null in general are left to the ``null-value`` check, so
      every typed node also accepts null here;
    - ``x-kubernetes-list-type: set`` -> ``uniqueItems``;
    - CEL (``x-kubernetes-validations``) and other ``x-`` keywords are dropped.

    Inside ``allOf``/``anyOf``/``oneOf``/``not`` (value validation only, in a
    structural schema) no ``additionalProperties: false`` is added.
    """
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DROP or (key.startswith("x-kubernetes-") and key not in ("x-kubernetes-list-type",)):
            continue
        if key == "properties" and isinstance(value, dict):
            out[key] = {name: openapi_to_jsonschema(sub) for name, sub in value.items()}
        elif key == "additionalProperties" and isinstance(value, dict):
            out[key] = openapi_to_jsonschema(value)
        elif key in _NESTED_ONE:
            out[key] = openapi_to_jsonschema(value, in_logic=in_logic or key == "not")
        elif key in _NESTED_MANY and isinstance(value, list):
            out[key] = [openapi_to_jsonschema(sub, in_logic=True) for sub in value]
        elif key == "x-kubernetes-list-type":
            if value == "set":
                out["uniqueItems"] = True
        else:
            out[key] = value
    preserve = node.get("x-kubernetes-preserve-unknown-fields") is True
    if node.get("x-kubernetes-int-or-string") is True:
        out.pop("type", None)
        out["anyOf"] = [{"type": ["integer", "null"]}, {"type": ["string", "null"]}]
    elif isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    if node.get("x-kubernetes-embedded-resource") is True:
        props = out.setdefault("properties", {})
        props.setdefault("apiVersion", {"type": ["string", "null"]})
        props.setdefault("kind", {"type": ["string", "null"]})
        props.setdefault("metadata", {"type": ["object", "null"]})
    is_object = node.get("type") == "object" or "properties" in node
    if is_object and not preserve and not in_logic and "additionalProperties" not in node:
        out["additionalProperties"] = False
    return out


def _versions_of(crd: dict, source: str) -> list[CrdVersion]:
    spec = crd.get("spec") if isinstance(crd.get("spec"), dict) else {}
    names = spec.get("names") if isinstance(spec.get("names"), dict) else {}
    group, kind = spec.get("group"), names.get("kind")
    if not isinstance(group, str) or not isinstance(kind, str):
        raise InputError(f"{source}: CustomResourceDefinition without spec.group or spec.names.kind", hint="pass CRD YAML as the API server serves it")
    shared = (spec.get("validation") or {}).get("openAPIV3Schema")  # apiextensions.k8s.io/v1beta1
    versions = spec.get("versions") or [{"name": spec.get("version"), "served": True}]
    found = []
    for entry in versions:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            continue
        raw = (entry.get("schema") or {}).get("openAPIV3Schema", shared)
        found.append(
            CrdVersion(
                group=group,
                kind=kind,
                version=entry["name"],
                served=entry.get("served", True) is not False,
                deprecated=entry.get("deprecated") is True,
                deprecation_warning=str(entry.get("deprecationWarning") or ""),
                schema=openapi_to_jsonschema(raw) if isinstance(raw, dict) else None,
                source=source,
            )
        )
    return found


def _parse(text: str, source: str) -> list[dict]:
    try:
        docs = list(yaml.load_all(text, Loader=yaml.CSafeLoader))
    except yaml.YAMLError as exc:
        raise InputError(f"{source}: not valid YAML: {exc}", hint="pass CRD files as a release ships them") from exc
    crds = []
    for doc in docs:
        if isinstance(doc, dict) and doc.get("kind") == "List":
            crds.extend(d for d in doc.get("items") or [] if isinstance(d, dict))
        elif isinstance(doc, dict):
            crds.append(doc)
    return [d for d in crds if d.get("kind") == "CustomResourceDefinition"]


_ROW_FIELDS = {"group": str, "kind": str, "version": str, "served": bool, "deprecated": bool, "deprecation_warning": str}


def _as_row(version: CrdVersion) -> dict:
    """A converted version as kept on disk (without its source: the same document may be in another file)."""
    row = {name: getattr(version, name) for name in _ROW_FIELDS}
    row["schema"] = version.schema
    return row


def _from_rows(rows: list[dict], source: str) -> list[CrdVersion] | None:
    """The versions of a stored conversion, or None when an entry is malformed (then it is converted again)."""
    versions = []
    for row in rows:
        if set(row) != {*_ROW_FIELDS, "schema"} or not all(type(row[k]) is t for k, t in _ROW_FIELDS.items()):
            return None
        if row["schema"] is not None and not isinstance(row["schema"], dict):
            return None
        versions.append(CrdVersion(**row, source=source))
    return versions


class CrdStore:
    """Every CRD under some directories, by (group, kind); schemas compiled on first use."""

    def __init__(self, directories: tuple[Path, ...], converted: ConvertedCrds | None = None) -> None:
        self.directories = directories
        self._converted = converted  # conversions kept on disk (the lint cache), or None
        self.files: list[Path] = []
        self._pending: dict[tuple[str, str], list[tuple[str, str]]] = {}
        self._versions: dict[tuple[str, str], dict[str, CrdVersion]] = {}
        self._validators: dict[tuple[str, str, str, str], jsonschema_rs.Validator] = {}
        self._lock = threading.RLock()  # one process-wide cache; callers may lint from several threads
        for directory in directories:
            if not directory.is_dir():
                raise UsageError(f"--crds {directory}: not a directory", hint="name a folder that holds CRD YAML files")
            self.files.extend(sorted(p for p in directory.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file()))
        for path in self.files:
            self._index(path)

    @staticmethod
    @functools.cache
    def load(directories: tuple[Path, ...], cache_dir: Path | None = None) -> "CrdStore":
        """One store per set of folders for the life of the process (what a CLI run needs); with ``cache_dir``
        (the lint cache) converted CRDs are kept there between runs."""
        return CrdStore(directories, ConvertedCrds(cache_dir) if cache_dir is not None else None)

    def _index(self, path: Path) -> None:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"cannot read CRD file {path}: {exc}", hint="check the path passed with --crds") from exc
        for _, chunk in split_documents(text):
            if "CustomResourceDefinition" not in chunk:
                continue
            group, kind = _GROUP.search(chunk), _NAMES_KIND.search(chunk)
            if _CRD_KIND.search(chunk) and group and kind:
                self._pending.setdefault((group[1], kind[1]), []).append((chunk, str(path)))
            else:
                self._add_parsed(chunk, str(path))

    def _add_parsed(self, text: str, source: str) -> None:
        rows = self._converted.get(text) if self._converted else None
        versions = _from_rows(rows, source) if rows is not None else None
        if versions is None:
            versions = [version for crd in _parse(text, source) for version in _versions_of(crd, source)]
            if self._converted:
                self._converted.put(text, [_as_row(version) for version in versions])
        for version in versions:
            self._versions.setdefault((version.group, version.kind), {})[version.version] = version

    def versions(self, group: str, kind: str) -> dict[str, CrdVersion]:
        """Versions of one custom resource kind ({} when no CRD defines it)."""
        with self._lock:
            for chunk, source in self._pending.pop((group, kind), []):
                self._add_parsed(chunk, source)
            return self._versions.get((group, kind), {})

    def all_versions(self) -> list[CrdVersion]:
        """Every CRD version (parses everything; for tests and `checks`)."""
        for group, kind in list(self._pending):
            self.versions(group, kind)
        return [v for by_version in self._versions.values() for v in by_version.values()]

    def validator(self, crd: CrdVersion, kube: KubeSchemas) -> jsonschema_rs.Validator:
        """Compiled validator of one CRD version; metadata is checked as Kubernetes ObjectMeta."""
        key = (crd.group, crd.kind, crd.version, kube.version)
        with self._lock:
            if key in self._validators:
                return self._validators[key]
            schema = dict(crd.schema or {"type": "object"})
            props = dict(schema.get("properties") or {})
            props["metadata"] = kube.ref(OBJECT_META)
            props["apiVersion"] = {"type": "string"}
            props["kind"] = {"type": "string"}
            schema["properties"] = props
            schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
            self._validators[key] = jsonschema_rs.validator_for(schema, registry=kube.registry)
            return self._validators[key]
