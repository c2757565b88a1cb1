"""Validate catalog leaves: YAML, schema, semantic rules and cross-leaf rules, all findings in one run.

The schema is the committed JSON Schema, checked with jsonschema-rs (every
error, not the first); its raw messages are rewritten into sentences that name
the key, say what is wrong and how to fix it, at the file/line/column of the
offending key or value (or of the `_defaults.yaml` it was inherited from).
"""

from __future__ import annotations

import dataclasses
import difflib
import os
from pathlib import Path

import jsonschema_rs

from catalog_gen import patterns
from catalog_gen.catalog import defaults as cascade
from catalog_gen.catalog import index, rules, schema
from catalog_gen.catalog.load import Document, load_document
from catalog_gen.errors import Finding, Severity, UsageError

LEAF_SUFFIXES = (".yaml", ".yml")


@dataclasses.dataclass
class Leaf:
    """A leaf that passed validation: merged data, positions, workload type."""

    doc: Document
    workload_type: str

    @property
    def data(self) -> dict:
        return self.doc.data


@dataclasses.dataclass
class ValidationResult:
    findings: list[Finding]
    files_checked: int
    leaves: list[Leaf]


def display_path(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:  # another drive (Windows)
        return str(path)


def collect_leaf_files(paths: list[Path]) -> list[Path]:
    """Leaf files under the given paths, sorted; `_`-prefixed files and hidden folders are not leaves."""
    found: set[Path] = set()
    for path in paths:
        if path.is_file():
            found.add(path)
        elif path.is_dir():
            for candidate in path.rglob("*"):
                rel = candidate.relative_to(path).parts
                if any(part.startswith(".") for part in rel):
                    continue
                if candidate.suffix in LEAF_SUFFIXES and not candidate.name.startswith("_") and candidate.is_file():
                    found.add(candidate)
        else:
            raise UsageError(f"{path}: no such file or folder", hint="pass a leaf file or a catalog folder (default: catalog/)")
    return sorted(found)


class _Validators:
    def __init__(self) -> None:
        self._cache: dict[str, object] = {}

    def get(self, workload_type: str):
        if workload_type not in self._cache:
            self._cache[workload_type] = jsonschema_rs.validator_for(schema.load(workload_type))
        return self._cache[workload_type]


def validate_paths(paths: list[Path]) -> ValidationResult:
    files = collect_leaf_files(paths)
    cwd = Path.cwd()
    findings: list[Finding] = []
    leaves: list[Leaf] = []
    defaults_docs: dict[Path, Document | None] = {}
    validators = _Validators()
    for path in files:
        doc, problems = load_document(path, display_path(path))
        findings.extend(problems)
        if doc is None:
            continue
        chain = cascade.defaults_chain(path, cwd)
        merged: Document | None = None
        for defaults_path in chain:
            if defaults_path not in defaults_docs:
                ddoc, dproblems = load_document(defaults_path, display_path(defaults_path))
                findings.extend(dproblems)
                defaults_docs[defaults_path] = ddoc
            ddoc = defaults_docs[defaults_path]
            if ddoc is not None:
                merged = ddoc if merged is None else cascade.merge(merged, ddoc)
        if merged is not None:
            doc = cascade.merge(merged, doc)
        leaf_findings, workload_type = validate_document(doc, validators)
        findings.extend(leaf_findings)
        if workload_type and not any(f.severity is Severity.ERROR for f in leaf_findings):
            leaves.append(Leaf(doc, workload_type))
    findings.extend(index.cross_leaf_findings(leaves))
    # a defaults file shared by many leaves must not repeat one problem per leaf
    unique = sorted(set(findings), key=Finding.sort_key)
    return ValidationResult(unique, len(files), leaves)


def validate_document(doc: Document, validators: _Validators) -> tuple[list[Finding], str | None]:
    data = doc.data
    workload_type = data.get("workloadType")
    if workload_type is None:
        pos = doc.where("")
        return [Finding(pos.file, pos.line, pos.column, "/workloadType", "leaf.workload-type", Severity.ERROR,
                        "missing required key `workloadType`",
                        f"add `workloadType: {schema.known_workload_types()[0]}` as the first line")], None
    if workload_type not in schema.SCHEMA_FILES:
        pos = doc.where("/workloadType")
        known = schema.known_workload_types()
        close = difflib.get_close_matches(str(workload_type), known, n=1, cutoff=0.5)
        hint = f"did you mean {close[0]}?" if close else f"known workload types: {', '.join(known)}"
        return [Finding(pos.file, pos.line, pos.column, "/workloadType", "leaf.workload-type", Severity.ERROR,
                        f"unknown workloadType {workload_type!r} (known: {', '.join(known)})", hint)], None
    leaf_schema = schema.load(workload_type)
    findings = [schema_finding(doc, leaf_schema, error) for error in validators.get(workload_type).iter_errors(data)]
    findings = [f for group in findings for f in group]
    if not findings:
        findings.extend(rules.semantic_findings(doc, leaf_schema))
    return findings, workload_type


# --- schema errors into sentences ----------------------------------------------------------------


def to_pointer(path) -> str:
    return "".join("/" + str(token).replace("~", "~0").replace("/", "~1") for token in path)


def dotted(pointer: str) -> str:
    if not pointer:
        return "the leaf"
    parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]
    out = ""
    for part in parts:
        out += f"[{part}]" if part.isdigit() else (f".{part}" if out else part)
    return f"`{out}`"


def _patterns_of(root: dict, node: dict) -> list[str]:
    node = schema.resolve_ref(root, node)
    found = [node["pattern"]] if "pattern" in node else []
    for branch in node.get("anyOf", []):
        found += _patterns_of(root, branch)
    return found


def _type_name(value) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "a list", dict: "a mapping"}[type(value)]


def schema_finding(doc: Document, root: dict, error) -> list[Finding]:
    kind = type(error.kind).__name__
    pointer = to_pointer(error.instance_path)
    tokens = [str(t) for t in error.instance_path]
    here = schema.subschema(root, root, tokens)

    def make(ptr: str, code: str, message: str, hint: str = "", key: bool = False) -> Finding:
        pos = doc.where(ptr, key=key)
        return Finding(pos.file, pos.line, pos.column, ptr, code, Severity.ERROR, message, hint)

    if kind == "AdditionalProperties":
        allowed = sorted(here.get("properties", {}))
        out = []
        for name in error.kind.unexpected:
            close = difflib.get_close_matches(name, allowed, n=1, cutoff=0.6)
            hint = f"did you mean `{close[0]}`?" if close else f"allowed keys here: {', '.join(allowed)}"
            child = f"{pointer}/{name.replace('~', '~0').replace('/', '~1')}"
            out.append(make(child, "schema.unknown-key", f"unknown key `{name}` in {dotted(pointer)}", hint, key=True))
        return out
    if kind == "Required":
        prop = error.kind.property
        desc = here.get("properties", {}).get(prop, {})
        desc = schema.resolve_ref(root, desc).get("description", "") if desc else ""
        return [make(pointer, "schema.required", f"missing required key `{prop}` in {dotted(pointer)}",
                     f"add `{prop}:`" + (f" ({desc})" if desc else ""), key=True)]
    if kind == "Enum":
        options = [str(o) for o in error.kind.options]
        close = difflib.get_close_matches(str(error.instance), options, n=1, cutoff=0.5)
        hint = f"did you mean `{close[0]}`?" if close else f"use one of: {', '.join(options)}"
        return [make(pointer, "schema.enum", f"{dotted(pointer)} is {error.instance!r}, not one of: {', '.join(options)}", hint)]
    if kind in ("Pattern", "AnyOf"):
        for pattern in _patterns_of(root, here):
            if pattern in patterns.FRIENDLY and isinstance(error.instance, str):
                what, how = patterns.FRIENDLY[pattern]
                return [make(pointer, "schema.format", f"{dotted(pointer)}: {error.instance!r} {what}", how)]
    if kind == "Type" or (kind == "AnyOf" and not isinstance(error.instance, str)):
        expected = here.get("type") or [b.get("type") for b in here.get("anyOf", []) if b.get("type")]
        desc = here.get("description", "")
        return [make(pointer, "schema.type", f"{dotted(pointer)} must be {_expected_words(expected)}, not {_type_name(error.instance)}",
                     desc)]
    desc = here.get("description", "")
    message = error.message.replace('"', "'")
    return [make(pointer, f"schema.{kind[0].lower()}{kind[1:]}", f"{dotted(pointer)}: {message}", desc)]


def _expected_words(expected) -> str:
    names = {"string": "a string", "integer": "an integer", "number": "a number", "boolean": "true or false",
             "object": "a mapping", "array": "a list", "null": "empty"}
    if isinstance(expected, str):
        expected = [expected]
    words = [names.get(e, e) for e in expected if e != "null"] or ["a value"]
    return " or ".join(dict.fromkeys(words))
