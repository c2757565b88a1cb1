"""Parse rendered templates into Kubernetes objects that remember where they came from.

Helm's ``render()`` returns text and never says when that text is not YAML,
so every rendered template is parsed here. Each document is composed with
PyYAML's C parser (``yaml.compose`` + ``CSafeLoader``), which keeps a line
and column for every node, and converted to plain data by ``to_python``
below. Composing and converting ourselves is faster than ``yaml.load`` and
lets us see what loading hides: a key written twice (the last one silently
wins in Helm and the API server rejects it under strict field validation).

Documents are split on ``---`` lines the way Helm splits a manifest, so one
broken document does not hide the others in the same file.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from catalog_gen.lint.objects import Issue, K8sObject, escape_pointer

_SEPARATOR = re.compile(r"^---(?:[ \t].*)?$", re.MULTILINE)
_FIRST_CONTENT = re.compile(r"^([ \t]*)\S", re.MULTILINE)  # the first line that is not blank
_STR = "tag:yaml.org,2002:str"
_NULL = "tag:yaml.org,2002:null"
_MERGE = "tag:yaml.org,2002:merge"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"
_CONSTRUCTOR = yaml.constructor.SafeConstructor()
_IMPLICIT = yaml.resolver.Resolver.yaml_implicit_resolvers


class _Loader(yaml.CSafeLoader):
    """CSafeLoader resolving the same implicit tags, minus the path-resolver hooks the C
    composer calls for every node (two Python calls a node that we never need)."""

    def descend_resolver(self, current_node, current_index):
        pass

    def ascend_resolver(self):
        pass

    def resolve(self, kind, value, implicit):
        if kind is yaml.ScalarNode:
            if implicit[0]:
                for tag, regexp in _IMPLICIT.get(value[:1], ()):
                    if regexp.match(value):
                        return tag
            return _STR
        return _SEQ if kind is yaml.SequenceNode else _MAP


def resolve_plain(value: str) -> str:
    """The tag a plain (unquoted, untagged) scalar with this text resolves to, as parsing does."""
    return _Loader.resolve(None, yaml.ScalarNode, value, (True, False))  # type: ignore[arg-type]


def _scalar(node: yaml.ScalarNode) -> Any:
    tag = node.tag
    if tag == _STR:
        return node.value
    if tag == _NULL:
        return None
    if tag == _TIMESTAMP:  # Kubernetes sees JSON: a timestamp stays the string it was written as
        return node.value
    construct = _CONSTRUCTOR.yaml_constructors.get(tag)
    return construct(_CONSTRUCTOR, node) if construct else node.value


def _key(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return "null" if value is None else str(value)


class Found:
    """What converting a document noticed: keys written twice, and null values (the key node
    of a mapping entry, or the item node in a sequence)."""

    __slots__ = ("duplicates", "nulls")

    def __init__(self) -> None:
        self.duplicates: list[yaml.Node] = []
        self.nulls: list[yaml.Node] = []


def to_python(node: yaml.Node, found: Found) -> Any:
    """Plain data of a composed node, noting duplicate keys and null values in ``found``."""
    if isinstance(node, yaml.ScalarNode):
        if node.tag == _NULL:
            found.nulls.append(node)
            return None
        return _scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return [to_python(item, found) for item in node.value]
    result: dict = {}
    for key_node, value_node in node.value:
        if key_node.tag == _MERGE:
            merged = to_python(value_node, found)
            for part in merged if isinstance(merged, list) else [merged]:
                if isinstance(part, dict):
                    for k, v in part.items():
                        result.setdefault(k, v)
            continue
        key = _key(_scalar(key_node) if isinstance(key_node, yaml.ScalarNode) else key_node.value)
        if key in result:
            found.duplicates.append(key_node)
        if value_node.tag == _NULL and isinstance(value_node, yaml.ScalarNode):
            found.nulls.append(key_node)  # point at the key: an empty value has no place of its own
            result[key] = None
        else:
            result[key] = to_python(value_node, found)
    return result


def node_pointer(root: yaml.Node, target: yaml.Node) -> str:
    """The JSON pointer of ``target``, a key node (its entry) or a value node, inside ``root``."""
    stack: list[tuple[yaml.Node, str]] = [(root, "")]
    while stack:
        node, path = stack.pop()
        if node is target:
            return path
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                here = f"{path}/{escape_pointer(key_node.value)}"
                if key_node is target:
                    return here
                stack.append((value_node, here))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((item, f"{path}/{i}") for i, item in enumerate(node.value))
    return ""


def split_documents(text: str) -> list[tuple[int, str]]:
    """``(first line, text)`` of every document, split on ``---`` lines like Helm does."""
    starts = [0] + [m.start() for m in _SEPARATOR.finditer(text) if m.start() > 0]
    chunks = []
    for i, start in enumerate(starts):
        end = starts[i + 1] if i + 1 < len(starts) else len(text)
        chunks.append((text.count("\n", 0, start), text[start:end]))
    return chunks


def parse_template(template: str, text: str) -> tuple[list[K8sObject], list[Issue]]:
    """Objects of one rendered template, and the issues found while parsing it."""
    objects: list[K8sObject] = []
    issues: list[Issue] = []
    first = _FIRST_CONTENT.search(text)
    if first and first[1]:
        issues.append(
            Issue(
                "yaml-invalid",
                "rendered output starts with an indent, which YAML parsers read differently (helm lint rejects it)",
                template=template,
                line=text.count("\n", 0, first.start()) + 1,
                column=1,
            )
        )
    for index, (offset, chunk) in enumerate(split_documents(text)):
        try:
            node = yaml.compose(chunk, Loader=_Loader)
        except yaml.MarkedYAMLError as err:
            mark = err.problem_mark or err.context_mark
            line = offset + mark.line + 1 if mark else offset + 1
            column = mark.column + 1 if mark else 1
            problem = err.problem or err.context or "not valid YAML"
            issues.append(
                Issue("yaml-invalid", f"rendered output is not valid YAML: {problem}", template=template, line=line, column=column)
            )
            continue
        except yaml.YAMLError as err:
            issues.append(Issue("yaml-invalid", f"rendered output is not valid YAML: {err}", template=template, line=offset + 1, column=1))
            continue
        if node is None or (isinstance(node, yaml.ScalarNode) and node.tag == _NULL):
            continue  # an empty document ("---" and nothing, or only comments): Helm skips it too
        found = Found()
        data = to_python(node, found)
        obj = _as_object(data, template, index, node, offset, issues)
        if obj is not None:
            objects.append(obj)
        for null_node in found.nulls:
            issues.append(
                Issue(
                    "null-value",
                    "value is null; Kubernetes treats it as unset or rejects the object",
                    obj=obj,
                    pointer=node_pointer(node, null_node),
                    template=template,
                    line=offset + null_node.start_mark.line + 1,
                    column=null_node.start_mark.column + 1,
                )
            )
        for key_node in found.duplicates:
            issues.append(
                Issue(
                    "duplicate-key",
                    f"key {key_node.value!r} appears twice in one mapping; Helm keeps the last one silently "
                    "and the API server rejects the object under strict field validation",
                    obj=obj,
                    pointer=node_pointer(node, key_node),
                    template=template,
                    line=offset + key_node.start_mark.line + 1,
                    column=key_node.start_mark.column + 1,
                )
            )
    return objects, issues


def _as_object(data: Any, template: str, index: int, node: yaml.Node, offset: int, issues: list[Issue]) -> K8sObject | None:
    line = offset + node.start_mark.line + 1
    if not isinstance(data, dict):
        kind = "list" if isinstance(data, list) else "scalar"
        issues.append(
            Issue("object-invalid", f"document is a YAML {kind}, not a Kubernetes object", template=template, line=line, column=1)
        )
        return None
    api_version, kind = data.get("apiVersion"), data.get("kind")
    meta = data.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) else None
    generate = meta.get("generateName") if isinstance(meta, dict) else None
    missing = [
        field
        for field, value in (("apiVersion", api_version), ("kind", kind))
        if not isinstance(value, str) or not value
    ]
    if not (isinstance(name, str) and name) and not (isinstance(generate, str) and generate):
        missing.append("metadata.name")
    if missing:
        issues.append(
            Issue(
                "object-invalid",
                f"document is not a Kubernetes object: {', '.join(missing)} missing or not a string",
                template=template,
                line=line,
                column=1,
            )
        )
        if "apiVersion" in missing or "kind" in missing:
            return None
    return K8sObject(
        data=data,
        template=template,
        doc_index=index,
        api_version=api_version,
        kind=kind,
        name=name if isinstance(name, str) and name else str(generate or ""),
        node=node,
        line_offset=offset,
    )
