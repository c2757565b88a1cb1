"""values.yaml with a `# --` comment on every value, and the values.schema.json Helm enforces.

Strings are written as JSON strings, which are valid YAML double-quoted
scalars: whatever a leaf string holds (quotes, newlines, `{{ }}`, `$(...)`),
Helm reads back exactly that string. Keys that YAML 1.1 (Helm's parser) could
read as something else are quoted too.
"""

from __future__ import annotations

import json
import re

from catalog_gen import patterns
from catalog_gen.render.yamltext import scalar as _scalar
from catalog_gen.render.yamltext import string as _string

_PLAIN_KEY = re.compile(r"^[a-z][a-zA-Z0-9]*$")
_YAML11_WORDS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null"}

# Values whose keys are free-form (user keys), with the schema of their entries.
FREE_FORM = {
    "ollama.extraEnv": {"type": "string"},
    "nodeSelector": {"type": "string"},
    "podAnnotations": {"type": "string"},
    "monitoring.labels": {"type": "string"},
}
# Values Kubernetes validates itself; kept open here.
OPEN = {"ollama.resources", "pull.resources", "router.resources", "tolerations", "smoke.leaf"}
# Extra constraints, so a `--set` override cannot smuggle what the leaf schema would refuse.
CONSTRAINTS = {
    "image.repository": {"pattern": patterns.IMAGE_REPOSITORY},
    "image.tag": {"pattern": patterns.IMAGE_TAG, "not": {"const": "latest"}},
    "image.pullPolicy": {"enum": ["Always", "IfNotPresent", "Never"]},
    "router.image.repository": {"pattern": patterns.IMAGE_REPOSITORY},
    "router.image.tag": {"pattern": patterns.IMAGE_TAG, "not": {"const": "latest"}},
    "router.image.pullPolicy": {"enum": ["Always", "IfNotPresent", "Never"]},
    "cache.mode": {"enum": ["emptyDir", "pvc", "shared"]},
    "cache.size": {"pattern": patterns.QUANTITY},
    "cache.storageClass": {"pattern": r"^$|" + patterns.DNS_SUBDOMAIN},
    "cache.existingClaim": {"pattern": r"^$|" + patterns.DNS_SUBDOMAIN},
    "ingress.api": {"enum": ["gateway", "ingress"]},
    "ingress.host": {"pattern": r"^$|^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"},
    "ingress.tls.issuerKind": {"enum": ["ClusterIssuer", "Issuer"]},
    "ingress.requestTimeout": {"pattern": patterns.DURATION},
    "ollama.keepAlive": {"pattern": patterns.KEEP_ALIVE},
    "ollama.processes": {"minimum": 1, "maximum": 16},
    "replicaCount": {"minimum": 0},
}
MODEL_ITEM = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name"],
    "properties": {
        "name": {"type": "string", "pattern": patterns.MODEL_NAME, "description": "Ollama model name."},
        "digest": {"type": ["string", "null"], "pattern": patterns.DIGEST, "description": "Digest pin (64 hex) or null."},
        "keepWarm": {"type": "boolean", "description": "Keep the model loaded."},
        "kind": {"enum": ["text", "embedding"], "description": "text or embedding."},
        "insecure": {"type": "boolean", "description": "Pull over plain HTTP."},
        "modelfile": {"type": "string", "description": "Modelfile of a custom model; empty for pulled models."},
    },
}


_KEYS: dict[str, str] = {}


def _key(key: str) -> str:
    label = _KEYS.get(key)
    if label is None:
        plain = _PLAIN_KEY.fullmatch(key) and key.lower() not in _YAML11_WORDS
        label = _KEYS[key] = key if plain else _string(key)
    return label


def _emit(value: dict, indent: int, path: str, docs: dict[str, str], out: list[str]) -> None:
    pad = " " * indent
    for key, child in value.items():
        child_path = f"{path}.{key}" if path else key
        doc = docs.get(child_path)
        if doc:
            out.append(f"{pad}# -- {doc}")
        label = _key(key)
        if isinstance(child, dict):
            if child:
                out.append(f"{pad}{label}:")
                _emit(child, indent + 2, child_path, docs, out)
            else:
                out.append(f"{pad}{label}: {{}}")
        elif isinstance(child, list):
            if child:
                out.append(f"{pad}{label}:")
                for item in child:
                    _emit_item(item, indent + 2, out)
            else:
                out.append(f"{pad}{label}: []")
        else:
            out.append(f"{pad}{label}: {_scalar(child)}")
        if indent == 0:
            out.append("")


def _emit_item(item, indent: int, out: list[str]) -> None:
    pad = " " * indent
    if isinstance(item, dict) and item:
        lines: list[str] = []
        _emit(item, indent + 2, "", {}, lines)
        first = lines[0]
        out.append(f"{pad}- {first[indent + 2:]}")
        out.extend(lines[1:])
    elif isinstance(item, (dict, list)):
        out.append(f"{pad}- {json.dumps(item)}")
    else:
        out.append(f"{pad}- {_scalar(item)}")


def values_yaml(values: dict, docs: dict[str, str], header: str) -> str:
    out = [f"# {line}" if line else "#" for line in header.splitlines()]
    out.append("")
    _emit(values, 0, "", docs, out)
    while out and out[-1] == "":
        out.pop()
    return "\n".join(out) + "\n"


def _schema_of(value, path: str, docs: dict[str, str]) -> dict:
    """The schema node of one value. Nodes are shared between charts (see _canonical): never modify one."""
    doc = docs.get(path)
    if path == "models":
        key: tuple = ("models",)
        node = {"type": "array", "minItems": 1, "items": MODEL_ITEM}
    elif path in FREE_FORM:
        key = ("free",)
        node = {"type": "object", "additionalProperties": FREE_FORM[path]}
    elif path in OPEN:
        key = ("open", isinstance(value, list))
        node = {"type": "array" if isinstance(value, list) else "object"}
    elif path == "router.apiKeySecret":
        key = ("secret",)
        node = {
            "type": ["object", "null"],
            "additionalProperties": False,
            "required": ["name", "key"],
            "properties": {"name": {"type": "string", "pattern": patterns.DNS_SUBDOMAIN}, "key": {"type": "string", "pattern": patterns.SECRET_KEY}},
        }
    elif isinstance(value, dict):
        properties = {k: _schema_of(v, f"{path}.{k}" if path else k, docs) for k, v in value.items()}
        key = ("object", tuple((k, id(child)) for k, child in properties.items()))
        node = {"type": "object", "additionalProperties": False, "properties": properties}
    elif isinstance(value, list):
        item_type = "string" if all(isinstance(i, str) for i in value) else "object"
        key = ("array", item_type)
        node = {"type": "array", "items": {"type": item_type}}
    else:
        key = ("scalar", _JSON_TYPES.get(type(value), "string"))
        node = {"type": key[1]}
    node.update(CONSTRAINTS.get(path, {}))
    if doc:
        node["description"] = doc
    return _canonical((path, doc) + key, node)


_JSON_TYPES = {bool: "boolean", int: "integer", float: "number", type(None): "null", str: "string"}
_NODES: dict[tuple, dict] = {}
_TEXTS: dict[int, str] = {}


def _canonical(key: tuple, node: dict) -> dict:
    """One node object per distinct (path, doc, shape), so equal schemas are the same object.

    A key holds its children's identities, which are canonical too. Charts of one catalog
    nearly all share one schema, and values_schema then pretty-prints it once: the json
    module pretty-prints in pure Python, the costliest step of a chart otherwise.
    """
    return _NODES.setdefault(key, node)


def values_schema(values: dict, docs: dict[str, str]) -> str:
    root = _schema_of(values, "", docs)
    text = _TEXTS.get(id(root))
    if text is None:
        schema = {"$schema": "https://json-schema.org/draft-07/schema#", **root, "required": sorted(values)}
        text = _TEXTS[id(root)] = json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    return text
