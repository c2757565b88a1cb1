"""Field documentation from the leaf schema: `catalog-gen explain FIELD` and docs/leaf-reference.md.

Everything comes from the committed JSON Schema (which the pydantic model
generates), so the explanation, the reference page and validation cannot
disagree. A field is named by its YAML path: `autoscaling.targetQueueDepth`,
list items with `[]` (`models[].digest`). Unknown names get suggestions: the
same name in camelCase, fields ending in it, and close spellings.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import re

import yaml

from catalog_gen import patterns
from catalog_gen.catalog import schema as schema_module
from catalog_gen.catalog import workloads
from catalog_gen.catalog.schema import resolve_ref
from catalog_gen.errors import UsageError

WORKLOAD_TYPE = workloads.DEFAULT.name


@dataclasses.dataclass(frozen=True)
class FieldDoc:
    path: str  # YAML path, `[]` for list items
    type: str
    description: str
    default: object  # NO_DEFAULT when the schema has none
    required: bool
    examples: list
    constraints: list[str]
    children: list[str]  # paths of direct sub-fields (objects)


NO_DEFAULT = object()


def _branches(root: dict, node: dict) -> tuple[list[dict], bool]:
    """The non-null alternatives of a node, and whether null is allowed."""
    node = resolve_ref(root, node)
    if "anyOf" not in node:
        return [node], False
    found, nullable = [], False
    for branch in node["anyOf"]:
        inner, inner_null = _branches(root, branch)  # a Quantity is itself anyOf string/integer/number
        found += [b for b in inner if b.get("type") != "null"]
        nullable = nullable or inner_null or resolve_ref(root, branch).get("type") == "null"
    return found, nullable


def _type_name(root: dict, node: dict) -> str:
    branches, nullable = _branches(root, node)
    names = []
    for branch in branches:
        if "enum" in branch or "const" in branch:
            values = branch.get("enum", [branch.get("const")])
            names.append("one of " + ", ".join(json.dumps(v) for v in values))
        elif branch.get("type") == "array":
            names.append("list of " + _type_name(root, branch.get("items", {})))
        elif branch.get("type") == "object" and "properties" not in branch:
            value = branch.get("additionalProperties") or next(iter(branch.get("patternProperties", {}).values()), {})
            names.append("map of string to " + (_type_name(root, value) if isinstance(value, dict) and value else "any"))
        elif "properties" in branch:
            names.append("object")
        else:
            names.append(branch.get("type", "any"))
    text = " or ".join(dict.fromkeys(names))
    return f"{text} (optional)" if nullable else text


def _constraints(root: dict, node: dict) -> list[str]:
    found = []
    for branch in _branches(root, node)[0]:
        pattern = branch.get("pattern")
        if pattern in patterns.FRIENDLY:
            what, how = patterns.FRIENDLY[pattern]
            found.append(f"must be {what.removeprefix('is not ')} ({how})")
        elif pattern:
            found.append(f"matches `{pattern}`")
        for key, words in (("minimum", ">="), ("exclusiveMinimum", ">"), ("maximum", "<="), ("exclusiveMaximum", "<"),
                           ("minLength", "length >="), ("maxLength", "length <="), ("minItems", "items >="), ("maxItems", "items <=")):
            if key in branch:
                found.append(f"{words} {branch[key]}")
    return list(dict.fromkeys(found))


def _object_of(root: dict, node: dict) -> dict | None:
    for branch in _branches(root, node)[0]:
        if "properties" in branch:
            return branch
    return None


def _list_item_object(root: dict, node: dict) -> dict | None:
    for branch in _branches(root, node)[0]:
        if branch.get("type") == "array":
            return _object_of(root, branch.get("items", {}))
    return None


def _walk(root: dict, node: dict, prefix: str, required: set[str], out: dict[str, FieldDoc]) -> list[str]:
    """Document every property of an object node; returns the paths of its direct children."""
    children = []
    for key, child in node.get("properties", {}).items():
        path = f"{prefix}.{key}" if prefix else key
        resolved = resolve_ref(root, child)
        description = child.get("description") or resolved.get("description", "")
        examples = child.get("examples") or resolved.get("examples") or next(
            (b["examples"] for b in resolved.get("anyOf", []) if b.get("examples")), [])
        obj = _object_of(root, child)
        items = _list_item_object(root, child)
        out[path] = None  # type: ignore[assignment]  # keeps the parent before its fields
        sub: list[str] = []
        if obj is not None:
            sub = _walk(root, obj, path, set(obj.get("required", [])), out)
        elif items is not None:
            sub = _walk(root, items, path + "[]", set(items.get("required", [])), out)
        out[path] = FieldDoc(path, _type_name(root, child), description, child.get("default", NO_DEFAULT), key in required,
                             list(examples), _constraints(root, child), sub)
        children.append(path)
    return children


def field_index(schema: dict | None = None) -> dict[str, FieldDoc]:
    """Every field of the leaf schema by path, in schema order."""
    root = schema if schema is not None else schema_module.load(WORKLOAD_TYPE)
    found: dict[str, FieldDoc] = {}
    _walk(root, root, "", set(root.get("required", [])), found)
    return found


def _camel(text: str) -> str:
    head, *rest = text.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def lookup(name: str, index: dict[str, FieldDoc] | None = None) -> FieldDoc:
    """The field a user means, or a UsageError with suggestions."""
    index = index if index is not None else field_index()
    plain = re.sub(r"\.\d+(?=\.|$)", "[]", re.sub(r"\[\d*\]", "[]", name.strip().strip(".")))  # models.0.x, models[0].x
    wanted = ".".join(_camel(part) for part in plain.split("."))
    if wanted in index:
        return index[wanted]
    folded = {path.lower().replace("[]", ""): path for path in index}
    key = wanted.lower().replace("[]", "")
    if key in folded:
        return index[folded[key]]
    endings = [path for path in index if path.lower().replace("[]", "").endswith("." + key)]
    if len(endings) == 1:
        return index[endings[0]]
    close = difflib.get_close_matches(key, list(folded), n=3, cutoff=0.6)
    last = difflib.get_close_matches(key.rsplit(".", 1)[-1], sorted({p.rsplit(".", 1)[-1] for p in folded}), n=2, cutoff=0.7)
    suggestions = list(dict.fromkeys(endings + [folded[c] for c in close] + [folded[p] for p in folded if p.rsplit(".", 1)[-1] in last]))[:5]
    hint = f"did you mean {', '.join(f'`{s}`' for s in suggestions)}?" if suggestions else "`catalog-gen explain --list` lists every field"
    raise UsageError(f"no leaf field {name!r}", hint=hint)


def _default_text(doc: FieldDoc) -> str:
    if doc.default is NO_DEFAULT:
        return "required" if doc.required else ("see its fields" if doc.children else "none")
    return "null (unset)" if doc.default is None else json.dumps(doc.default)


def example_value(doc: FieldDoc):
    if doc.examples:
        return doc.examples[0]
    if doc.default is not NO_DEFAULT and doc.default is not None:
        return doc.default
    if doc.type.startswith("one of "):
        return json.loads(doc.type.removeprefix("one of ").split(", ")[0].split(" or ")[0].removesuffix(" (optional)"))
    return None


def example_yaml(doc: FieldDoc) -> str:
    """The example as a YAML snippet placed at the field's path."""
    value = example_value(doc)
    if value is None:
        return ""
    for part in reversed(doc.path.split(".")):  # a field of list items (`models[].digest`) goes in a one-item list
        value = {part.removesuffix("[]"): [value] if part.endswith("[]") else value}
    text = yaml.safe_dump(value, sort_keys=False, default_flow_style=False, allow_unicode=True, width=100)
    return text


def explain_text(name: str) -> str:
    doc = lookup(name)
    lines = [doc.path, "", f"  {doc.description or '(no description)'}", "",
             f"  type:     {doc.type}", f"  default:  {_default_text(doc)}"]
    lines += [f"  rule:     {c}" for c in doc.constraints]
    if doc.children:
        lines += ["  fields:   " + ", ".join(child.rsplit(".", 1)[-1] for child in doc.children)]
    snippet = example_yaml(doc)
    if snippet:
        lines += ["", "  example:"] + [f"    {line}" for line in snippet.splitlines()]
    return "\n".join(lines) + "\n"


def _row(field: FieldDoc) -> str:
    extra = "; ".join(field.constraints)
    cells = [f"`{field.path}`", field.type, f"`{_default_text(field)}`", field.description + (f" ({extra})" if extra else "")]
    return "| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |"


def reference_markdown(index: dict[str, FieldDoc] | None = None) -> str:
    """docs/leaf-reference.md: top-level fields, then one table per section, rows in schema order."""
    index = index if index is not None else field_index()
    header = ["| field | type | default | description |", "|---|---|---|---|"]
    tops = [doc for path, doc in index.items() if "." not in path and "[]" not in path]
    out = ["# Leaf field reference", "",
           "Generated from `schemas/ollama-inference-load.schema.json` by `catalog-gen explain --reference --write "
           "docs/leaf-reference.md`; a test fails when it drifts. `catalog-gen explain FIELD` prints one field with an example.",
           "", "## Top level", "", *header]
    out += [_row(doc) for doc in tops if not doc.children]
    for top in (doc for doc in tops if doc.children):
        out += ["", f"## `{top.path}`", "", top.description, "", *header, _row(top)]
        out += [_row(doc) for path, doc in index.items() if path.startswith(top.path + ".") or path.startswith(top.path + "[]")]
    return "\n".join(out) + "\n"
