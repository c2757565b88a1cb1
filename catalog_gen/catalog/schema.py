"""JSON Schemas of the workload types: generated from the pydantic models, committed in schemas/.

The committed file is the contract editors and CI use; `catalog-gen schema
--write` regenerates it and a test fails when it drifts from the model.
Validation reads the committed file (no pydantic import on that path).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from catalog_gen.catalog import workloads
from catalog_gen.errors import ToolError

SCHEMA_FILES = {w.name: w.schema_file for w in workloads.WORKLOAD_TYPES.values()}
# catalog_gen/schemas is a symlink to the repository's schemas/ (and a real folder in a wheel).
SCHEMAS_DIR = Path(__file__).resolve().parent.parent / "schemas"


def known_workload_types() -> list[str]:
    return sorted(SCHEMA_FILES)


def generate(workload_type: str) -> dict:
    """Build the schema from the model (maintainers; needs pydantic)."""
    model = workloads.get(workload_type).model()
    schema = model.model_json_schema(by_alias=True, mode="validation")
    _drop_titles(schema, root=True)
    ordered = {"$schema": schema.pop("$schema"), "$id": schema.pop("$id")}
    ordered.update(schema)
    return ordered


def _drop_titles(node, root: bool = False) -> None:
    """pydantic titles ("Minreplicas") add noise next to the descriptions; keep the root title only."""
    if isinstance(node, dict):
        if not root:
            node.pop("title", None)
        for key, value in node.items():
            if key in ("properties", "$defs"):
                for child in value.values():
                    _drop_titles(child)
            else:
                _drop_titles(value)
    elif isinstance(node, list):
        for item in node:
            _drop_titles(item)


def schema_text(workload_type: str, schema: dict | None = None) -> str:
    workloads.get(workload_type)  # a clear error for an unknown type
    return json.dumps(schema if schema is not None else load(workload_type), indent=2, ensure_ascii=False) + "\n"


def schema_path(workload_type: str) -> Path:
    return SCHEMAS_DIR / SCHEMA_FILES[workload_type]


def write_schemas() -> list[Path]:
    from catalog_gen.fsutil import atomic_write_text

    written = []
    for workload_type, name in sorted(SCHEMA_FILES.items()):
        path = SCHEMAS_DIR / name
        atomic_write_text(path, schema_text(workload_type, generate(workload_type)))
        written.append(path)
    return written


@lru_cache(maxsize=None)
def load(workload_type: str) -> dict:
    path = schema_path(workload_type)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ToolError(f"cannot read the schema {path}: {exc.strerror}", hint="reinstall catalog-gen") from exc


def subschema(root: dict, node: dict, pointer_tokens: list[str]) -> dict:
    """The schema that applies at a path (following $ref, properties, items, non-null anyOf)."""
    node = resolve_ref(root, node)
    for token in pointer_tokens:
        node = resolve_ref(root, node)
        if "anyOf" in node:
            branches = [resolve_ref(root, b) for b in node["anyOf"] if b.get("type") != "null"]
            node = next((b for b in branches if "properties" in b or "items" in b or "additionalProperties" in b), branches[0])
        if "properties" in node and token in node["properties"]:
            node = node["properties"][token]
        elif "items" in node and token.isdigit():
            node = node["items"]
        elif isinstance(node.get("additionalProperties"), dict):
            node = node["additionalProperties"]
        else:
            return {}
    return resolve_ref(root, node)


def resolve_ref(root: dict, node: dict) -> dict:
    while isinstance(node, dict) and "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        node = root["$defs"][name]
    return node
