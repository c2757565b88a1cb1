"""Validate catalog leaves: YAML, schema, semantic rules and cross-leaf rules, all findings in one run.

The schema is the committed JSON Schema, checked with jsonschema-rs (every
error, not the first); its raw messages are rewritten into sentences that name
the key, say what is wrong and how to fix it, at the file/line/column of the
offending key or value (or of the `_defaults.yaml` it was inherited from).

The semantic rules (`rules.RULES`) run only on a leaf the schema accepts, so
they can trust types; a leaf with schema errors shows those first. Rules
across leaves see only leaves without errors.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import os
import re
from pathlib import Path

import jsonschema_rs

from catalog_gen import patterns
from catalog_gen.catalog import defaults as cascade
from catalog_gen.catalog import index, rules, schema
from catalog_gen.catalog.load import Document, display_path, load_document
from catalog_gen.errors import Finding, Severity, UsageError

LEAF_SUFFIXES = (".yaml", ".yml")
SHAPE_CODES = ("yaml.", "schema.", "leaf.workload-type")  # findings that make a leaf unreadable by other rules


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


def collect_leaf_files(paths: list[Path]) -> list[Path]:
    """Leaf files under the given paths, sorted.

    Files whose name starts with `_` and hidden folders are not leaves (hidden
    folders such as `.git` and `.venv` are not even walked). A `_defaults.yaml`
    named on its own stands for the leaves beneath it, so a pre-commit hook
    that passes only changed files still checks what a defaults change affects.
    """
    found: list[Path] = []
    for path in paths:
        if path.is_file() and path.name == cascade.DEFAULTS_NAME:
            found.extend(_leaves_under(path.parent))
        elif path.is_file():
            found.append(path)
        elif path.is_dir():
            found.extend(_leaves_under(path))
        else:
            raise UsageError(f"{path}: no such file or folder", hint="pass a leaf file or a catalog folder (default: catalog/)")
    cwd = os.getcwd()
    unique: dict[str, Path] = {}  # `catalog/x.yaml` and `/abs/catalog/x.yaml` are one leaf, checked once
    for path in found:
        unique.setdefault(os.path.normpath(os.path.join(cwd, path)), path)
    return sorted(unique.values())


def _leaves_under(folder: Path) -> list[Path]:
    leaves = []
    for root, dirs, names in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in names:
            if name.endswith(LEAF_SUFFIXES) and not name.startswith(("_", ".")):
                leaves.append(Path(root, name))
    return leaves


# Keys that say which service a leaf is: a `_defaults.yaml` setting them would give every leaf beneath it the same one.
LEAF_ONLY_KEYS = ("serviceName", "environment")


def _defaults_settings(layers: cascade.Cascade) -> list[Finding]:
    findings = []
    for doc in layers.loaded():
        for key in LEAF_ONLY_KEYS:
            if isinstance(doc.data, dict) and key in doc.data:
                pos = doc.where(f"/{key}", key=True)
                findings.append(Finding(pos.file, pos.line, pos.column, f"/{key}", "defaults.leaf-key", Severity.ERROR,
                                        f"`{key}` in a _defaults.yaml would give every leaf beneath it the same {key}",
                                        f"set `{key}` in each leaf and remove it here"))
    return findings


def _defaults_misnamed(paths: list[Path]) -> list[Finding]:
    """`_defaults.yml` is not read (only `_defaults.yaml` is), though `*.yml` leaves are: say so rather than ignore it."""
    found = []
    for path in paths:
        candidates = [path] if path.is_file() else Path(path).rglob("_defaults.yml") if path.is_dir() else []
        for candidate in candidates:
            if candidate.name == "_defaults.yml" and not any(part.startswith(".") for part in candidate.parts[:-1]):
                display = display_path(candidate)
                found.append(Finding(display, 0, 0, "", "defaults.file-name", Severity.ERROR,
                                     f"{display} is not read: defaults files are named {cascade.DEFAULTS_NAME}",
                                     f"rename it to {cascade.DEFAULTS_NAME}"))
    return found


class _Validators:
    """Compiled schema validators, one per workload type for the life of the process (~5 ms each to build)."""

    _compiled: dict[str, object] = {}

    def get(self, workload_type: str):
        if workload_type not in self._compiled:
            self._compiled[workload_type] = jsonschema_rs.validator_for(schema.load(workload_type))
        return self._compiled[workload_type]


def validate_paths(paths: list[Path], charts: Path | None = Path("charts")) -> ValidationResult:
    """Every finding of every leaf under `paths`: YAML, schema, semantic rules, then rules across leaves, then
    the rules against the committed charts in `charts` (when that folder exists)."""
    files = collect_leaf_files(paths)
    if not files:
        raise UsageError(f"no catalog leaves under {', '.join(str(p) for p in paths)}: nothing was checked",
                         hint="leaves are *.yaml or *.yml files not starting with `_`; pass the catalog folder (default: catalog/)")
    findings: list[Finding] = _defaults_misnamed(paths)
    leaves: list[Leaf] = []  # without errors: what render may render
    shaped: list[Leaf] = []  # without YAML or schema errors (semantic errors allowed): what the rules across leaves see
    layers = cascade.Cascade(Path.cwd())
    validators = _Validators()
    for path in files:
        doc, problems = load_document(path, display_path(path))
        findings.extend(problems)
        if doc is None:
            continue
        doc = layers.apply(doc)
        leaf_findings, workload_type = validate_document(doc, validators)
        findings.extend(leaf_findings)
        if workload_type and not any(f.code.startswith(SHAPE_CODES) for f in leaf_findings):
            shaped.append(Leaf(doc, workload_type))  # the schema accepts it: the rules across leaves can read it
            if not any(f.severity is Severity.ERROR for f in leaf_findings):
                leaves.append(shaped[-1])
    findings.extend(layers.findings)
    findings.extend(_defaults_settings(layers))
    findings.extend(index.cross_leaf_findings(shaped))
    if charts is not None:
        from catalog_gen.catalog.committed import cache_shrink_findings

        findings.extend(cache_shrink_findings(leaves, charts))
    # a defaults file shared by many leaves must not repeat one problem per leaf
    unique = sorted(set(findings), key=Finding.sort_key)
    return ValidationResult(unique, len(files), leaves)


def validate_document(doc: Document, validators: _Validators) -> tuple[list[Finding], str | None]:
    data = doc.data
    workload_type = data.get("workloadType")
    known = schema.known_workload_types()
    if workload_type is None:
        pos = doc.where("/workloadType", key=True)
        what = "`workloadType` is empty" if "workloadType" in data else "missing required key `workloadType`"
        return [Finding(pos.file, pos.line, pos.column, "/workloadType", "leaf.workload-type", Severity.ERROR,
                        f"{what} (known: {', '.join(known)})", f"add `workloadType: {known[0]}` as the first line")], None
    if not isinstance(workload_type, str) or workload_type not in schema.SCHEMA_FILES:
        pos = doc.where("/workloadType")
        close = difflib.get_close_matches(str(workload_type), known, n=1, cutoff=0.5)
        hint = f"did you mean {close[0]}?" if close else f"known workload types: {', '.join(known)}"
        return [Finding(pos.file, pos.line, pos.column, "/workloadType", "leaf.workload-type", Severity.ERROR,
                        f"unknown workloadType {workload_type!r} (known: {', '.join(known)})", hint)], None
    leaf_schema = schema.load(workload_type)
    try:
        findings = [f for error in validators.get(workload_type).iter_errors(data) for f in schema_findings(doc, leaf_schema, error)]
    except ValueError:  # jsonschema-rs: "Recursion limit reached" on values nested hundreds of levels deep
        too_deep = _too_deep(data) or ""
        pos = doc.where(too_deep, key=True)
        return [Finding(pos.file, pos.line, pos.column, too_deep, "yaml.too-deep", Severity.ERROR,
                        f"values are nested more than {MAX_DEPTH} levels deep here; no leaf field is",
                        "remove the extra nesting: `catalog-gen explain --list` shows every field path")], workload_type
    if not findings:
        findings.extend(rules.semantic_findings(doc, leaf_schema))
    else:
        findings.extend(_semantic_despite_schema_errors(doc, leaf_schema, findings, validators.get(workload_type)))
    return findings, workload_type


def _semantic_despite_schema_errors(doc: Document, leaf_schema: dict, errors: list[Finding], validator) -> list[Finding]:
    """The semantic findings of a leaf with schema errors, so one error does not hide the next.

    Each wrong value (or unknown key) is taken out, which leaves a leaf the schema accepts when nothing
    required is missing; the rules then run on it, except the sizing rules (they depend on nearly every value).
    Findings in a section that lost a value are dropped: its defaults stand in for what the user wrote.
    """
    if any(f.code == "schema.required" or not f.pointer for f in errors):
        return []
    data = copy.deepcopy(doc.data)
    for pointer in sorted({f.pointer for f in errors}, key=len, reverse=True):
        tokens = [t.replace("~1", "/").replace("~0", "~") for t in pointer.split("/")[1:]]
        try:
            parent = value_at(data, tokens[:-1])
        except (KeyError, IndexError, TypeError, ValueError):
            return []
        if not isinstance(parent, dict):
            return []  # taking an item out of a list would move the positions of the rest
        parent.pop(tokens[-1], None)
    if not validator.is_valid(data):
        return []
    sections = {"/" + f.pointer.split("/")[1] for f in errors}
    found = rules.semantic_findings(dataclasses.replace(doc, data=data), leaf_schema, partial=True)
    return [f for f in found if f.pointer and "/" + f.pointer.split("/")[1] not in sections]


MAX_DEPTH = 32  # the deepest leaf field is under 12 levels; the schema validator recurses once per level


def _too_deep(data) -> str | None:
    """The pointer of the first value nested deeper than MAX_DEPTH, or None (iterative: no recursion to exhaust)."""
    stack = [(data, "", 0)]
    while stack:
        node, pointer, depth = stack.pop()
        if depth > MAX_DEPTH:
            return pointer
        if isinstance(node, dict):
            stack.extend((v, f"{pointer}/{str(k).replace('~', '~0').replace('/', '~1')}", depth + 1) for k, v in node.items())
        elif isinstance(node, list):
            stack.extend((v, f"{pointer}/{i}", depth + 1) for i, v in enumerate(node))
    return None


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


def value_at(data, tokens: list[str]):
    """The value at a path of the leaf (the YAML value, not the schema library's copy of it)."""
    for token in tokens:
        data = data[int(token)] if isinstance(data, list) else data[token]
    return data


def _type_name(value) -> str:
    if value is None:
        return "empty"
    return {bool: "true/false", int: "an integer", float: "a number", str: "a string", list: "a list", dict: "a mapping"}[type(value)]


def _kind(error) -> str:
    return type(error.kind).__name__


def _is_type_miss(error, path: list) -> bool:
    return _kind(error) == "Type" and list(error.instance_path) == path


def leaf_errors(error) -> list:
    """Descend an anyOf error to the errors of the branch the user meant.

    Branches whose only complaint is the type at the anyOf's own place are
    the wrong branch (`null` for an optional mapping, `integer` for a quantity
    written as a string). Of the others, the one that got furthest into the
    value wins. When every branch is a type miss, the anyOf error itself is
    the finding (a type error listing every accepted type).
    """
    if _kind(error) not in ("AnyOf", "OneOfNotValid"):
        return [error]
    path = list(error.instance_path)
    branches = [branch for branch in error.kind.context if branch and not all(_is_type_miss(e, path) for e in branch)]
    if not branches:
        return [error]
    best = max(branches, key=lambda branch: max(len(list(e.instance_path)) for e in branch))
    return [leaf for e in best for leaf in leaf_errors(e)]


def _accepted_types(error) -> list[str]:
    if _kind(error) == "Type":
        return [str(t) for t in error.kind.types]
    if _kind(error) in ("AnyOf", "OneOfNotValid"):
        return [t for branch in error.kind.context for e in branch for t in _accepted_types(e)]
    return []


def schema_findings(doc: Document, root: dict, error) -> list[Finding]:
    return [f for leaf in leaf_errors(error) for f in _schema_finding(doc, root, leaf)]


def _type_hint(value, expected: list[str], description: str, written: str = "") -> str:
    if isinstance(value, str) and "boolean" in expected and value.lower() in ("yes", "no", "on", "off", "y", "n"):
        return f"YAML 1.2 reads `{value}` as a string; write true or false"
    if isinstance(value, str) and value.strip() and value.lower() in ("true", "false") and "boolean" in expected:
        return "remove the quotes: true or false"
    if isinstance(value, str) and ("integer" in expected or "number" in expected) and _looks_numeric(value):
        return "remove the quotes around the number"
    if isinstance(value, (int, float)) and not isinstance(value, bool) and "string" in expected:
        return f'quote it as written: "{written or value}"' + (
            f" (unquoted, YAML reads it as the number {value})" if written and written != str(value) else "")
    return description


def _written(doc: Document, pointer: str) -> str:
    """The scalar as written in its file (`0.10`, which YAML reads as the number 0.1), or "" when it cannot be read."""
    pos = doc.where(pointer)
    try:
        line = Path(pos.file).read_text(encoding="utf-8").splitlines()[pos.line - 1]
    except (OSError, UnicodeDecodeError, IndexError):
        return ""
    match = _PLAIN_SCALAR.match(line, max(pos.column - 1, 0))
    return match.group(0) if match else ""


_PLAIN_SCALAR = re.compile(r"[-+.0-9][^\s,\]\}#]*")


def _looks_numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _schema_finding(doc: Document, root: dict, error) -> list[Finding]:
    kind = _kind(error)
    tokens = [str(t) for t in error.instance_path]
    pointer = to_pointer(tokens)
    here = schema.subschema(root, root, tokens)
    desc = here.get("description", "")
    value = value_at(doc.data, tokens)
    where = dotted(pointer)

    def make(ptr: str, code: str, message: str, hint: str = "", key: bool = False) -> Finding:
        pos = doc.where(ptr, key=key)
        return Finding(pos.file, pos.line, pos.column, ptr, code, Severity.ERROR, message, hint)

    if kind == "AdditionalProperties":
        out = []
        names = here.get("patternProperties", {})
        allowed = sorted(here.get("properties", {}))
        for name in error.kind.unexpected:
            child = f"{pointer}/{name.replace('~', '~0').replace('/', '~1')}"
            if names:  # a map whose keys follow a pattern (environment variable names)
                what, how = patterns.FRIENDLY.get(next(iter(names)), ("is not an allowed key", desc))
                out.append(make(child, "schema.format", f"key `{name}` in {where} {what}", how, key=True))
                continue
            close = difflib.get_close_matches(name, allowed, n=1, cutoff=0.6)
            hint = f"did you mean `{close[0]}`?" if close else f"allowed keys here: {', '.join(allowed)}"
            out.append(make(child, "schema.unknown-key", f"unknown key `{name}` in {where}", hint, key=True))
        return out
    if kind == "Required":
        prop = error.kind.property
        prop_schema = here.get("properties", {}).get(prop, {})
        prop_desc = schema.resolve_ref(root, prop_schema).get("description", "") if prop_schema else ""
        return [make(pointer, "schema.required", f"missing required key `{prop}` in {where}",
                     f"add `{prop}:`" + (f" ({prop_desc})" if prop_desc else ""), key=True)]
    if kind == "Enum":
        options = [str(o) for o in error.kind.options]
        close = difflib.get_close_matches(str(value), options, n=1, cutoff=0.5)
        hint = f"did you mean `{close[0]}`?" if close else f"use one of: {', '.join(options)}"
        return [make(pointer, "schema.enum", f"{where} is {value!r}, not one of: {', '.join(options)}", hint)]
    if kind == "Pattern":
        what, how = patterns.FRIENDLY.get(error.kind.pattern, ("does not have the expected form", desc))
        return [make(pointer, "schema.format", f"{where}: {value!r} {what}", how)]
    if kind in ("Type", "AnyOf", "OneOfNotValid"):
        expected = list(dict.fromkeys(_accepted_types(error)))
        return [make(pointer, "schema.type", f"{where} must be {_expected_words(expected)}, not {_type_name(value)}",
                     _type_hint(value, expected, desc, _written(doc, pointer)))]
    if kind in ("Minimum", "Maximum", "ExclusiveMinimum", "ExclusiveMaximum"):
        limit = error.kind.limit
        bound = {"Minimum": f"at least {limit}", "Maximum": f"at most {limit}",
                 "ExclusiveMinimum": f"more than {limit}", "ExclusiveMaximum": f"less than {limit}"}[kind]
        return [make(pointer, "schema.range", f"{where} is {value}; it must be {bound}", desc)]
    if kind in ("MinLength", "MaxLength"):
        limit = error.kind.limit
        bound = f"at least {limit}" if kind == "MinLength" else f"at most {limit}"
        return [make(pointer, "schema.length", f"{where} is {len(value)} characters long; it must be {bound}", desc)]
    if kind in ("MinItems", "MaxItems"):
        limit = error.kind.limit
        bound = f"at least {limit}" if kind == "MinItems" else f"at most {limit}"
        return [make(pointer, "schema.length", f"{where} has {len(value)} item(s); it must have {bound}", desc)]
    message = error.message.replace('"', "'")
    return [make(pointer, "schema.invalid", f"{where}: {message}", desc)]


def _expected_words(expected: list[str]) -> str:
    names = {"string": "a string", "integer": "an integer", "number": "a number", "boolean": "true or false",
             "object": "a mapping", "array": "a list", "null": "empty"}
    words = [names.get(e, e) for e in expected if e != "null"] or ["empty"]
    return " or ".join(dict.fromkeys(words))
