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

def _unbounded(pattern: str) -> str:
    """The pattern with its `{0,N}` repetitions written `*`.

    Helm checks values.schema.json with Go's RE2, which compiles a bounded repetition into N
    copies: the model-name pattern alone cost 3 ms on every render and lint. The characters stay
    as strict (what keeps overrides from smuggling anything); the length goes to `maxLength`, and
    the leaf schema keeps Ollama's exact per-part limits.
    """
    return re.sub(r"\{0,[0-9]+\}", "*", pattern)


# Values whose keys are free-form (user keys), with the schema of their entries.
FREE_FORM = {
    "ollama.extraEnv": {"type": "string"},
    "nodeSelector": {"type": "string"},
    "podAnnotations": {"type": "string"},
    "monitoring.labels": {"type": "string"},
    "ingress.annotations": {"type": "string"},
}
# Values Kubernetes validates itself; kept open here.
OPEN = {"ollama.resources", "pull.resources", "router.resources", "tolerations", "smoke.leaf", "affinity",
        "topologySpreadConstraints", "imagePullSecrets", "networkPolicy.allowFromPods"}
# Extra constraints, so a `--set` override cannot smuggle what the leaf schema would refuse.
CONSTRAINTS = {
    "image.repository": {"pattern": patterns.IMAGE_REPOSITORY},
    "image.tag": {"pattern": _unbounded(patterns.IMAGE_TAG), "maxLength": 128, "not": {"const": "latest"}},
    "image.pullPolicy": {"enum": ["Always", "IfNotPresent", "Never"]},
    "image.digest": {"pattern": r"^$|^sha256:[a-f0-9]{64}$"},
    "router.image.digest": {"pattern": r"^$|^sha256:[a-f0-9]{64}$"},
    "workload.kind": {"enum": ["Deployment", "StatefulSet"]},
    "router.image.repository": {"pattern": patterns.IMAGE_REPOSITORY},
    "router.image.tag": {"pattern": _unbounded(patterns.IMAGE_TAG), "maxLength": 128, "not": {"const": "latest"}},
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
    "pull.registryMirror": {"pattern": r"^$|^[A-Za-z0-9_][A-Za-z0-9_.-]*(:[0-9]{1,5})?$", "maxLength": 260},
    # a model pool (only in its charts): at least two gateways, as validate says
    "pool.gateway.replicas": {"minimum": 2},
    "pool.maxLoadedModels": {"minimum": 1},
    "pool.gateway.config.hashLoadFactor": {"exclusiveMinimum": 1},
    "pool.workerPortName": {"pattern": r"^[a-z]([-a-z0-9]*[a-z0-9])?$", "maxLength": 15},  # an IANA service name
}
MODEL_ITEM = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name"],
    "properties": {
        "name": {"type": "string", "pattern": _unbounded(patterns.MODEL_NAME), "maxLength": 500, "description": "Ollama model name."},
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


def _emit(value: dict, indent: int, path: str, docs: dict[str, str] | None, parents: set[str], out: list[str]) -> None:
    """Block YAML of a mapping, a `# --` comment above each documented key (`docs` None: none below)."""
    pad = " " * indent
    for key, child in value.items():
        if docs is not None:
            child_path = f"{path}.{key}" if path else key
            doc = docs.get(child_path)
            if doc:
                out.append(f"{pad}# -- {doc}")
        label = _key(key)
        kind = type(child)
        if kind is str:
            out.append(f"{pad}{label}: {_string(child)}")
        elif kind is dict:
            if child:
                out.append(f"{pad}{label}:")
                documented = docs is not None and child_path in parents
                _emit(child, indent + 2, child_path if documented else "", docs if documented else None, parents, out)
            else:
                out.append(f"{pad}{label}: {{}}")
        elif kind is list:
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
        _emit(item, indent + 2, "", None, set(), lines)
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
    parents = set()  # paths with a documented path below them
    for documented in docs:
        while "." in documented:
            documented = documented.rsplit(".", 1)[0]
            parents.add(documented)
    _emit(values, 0, "", docs, parents, out)
    while out and out[-1] == "":
        out.pop()
    return "\n".join(out) + "\n"


def _schema_of(value, path: str, docs: dict[str, str]) -> dict:
    """The schema node of one value. Nodes are shared between charts (see _NODES): never modify one."""
    doc = docs.get(path)
    properties = None
    if path == "models":
        shape: tuple = ("models",)
    elif path == "modelBases":
        shape = ("bases",)
    elif path in FREE_FORM:
        shape = ("free",)
    elif path in OPEN:
        shape = ("open", isinstance(value, list))
    elif path in ("router.apiKeySecret", "pull.registryKeySecret"):
        shape = ("secret",)
    elif isinstance(value, dict):
        properties = {k: _schema_of(v, f"{path}.{k}" if path else k, docs) for k, v in value.items()}
        shape = ("object", tuple(properties), tuple(map(id, properties.values())))
    elif isinstance(value, list):
        items = "integer" if value and all(type(i) is int for i in value) else \
            "string" if all(isinstance(i, str) for i in value) else "object"
        shape = ("array", items)
    else:
        shape = ("scalar", _JSON_TYPES.get(type(value), "string"))
    key = (path, doc, shape)
    node = _NODES.get(key)
    if node is None:
        node = _NODES[key] = _new_node(shape, path, doc, properties)
    return node


def _new_node(shape: tuple, path: str, doc: str | None, properties: dict | None) -> dict:
    kind = shape[0]
    if kind == "models":
        node = {"type": "array", "minItems": 1, "items": MODEL_ITEM}
    elif kind == "bases":
        node = {"type": "array", "items": MODEL_ITEM}
    elif kind == "free":
        node = {"type": "object", "additionalProperties": FREE_FORM[path]}
    elif kind == "open":
        node = {"type": "array" if shape[1] else "object"}
    elif kind == "secret":
        node = {
            "type": ["object", "null"],
            "additionalProperties": False,
            "required": ["name", "key"],
            "properties": {"name": {"type": "string", "pattern": patterns.DNS_SUBDOMAIN}, "key": {"type": "string", "pattern": patterns.SECRET_KEY}},
        }
    elif kind == "object":
        node = {"type": "object", "additionalProperties": False, "properties": properties}
    elif kind == "array":
        node = {"type": "array", "items": {"type": shape[1]}}
    else:
        node = {"type": shape[1]}
    node.update(CONSTRAINTS.get(path, {}))
    if doc:
        node["description"] = doc
    return node


_JSON_TYPES = {bool: "boolean", int: "integer", float: "number", type(None): "null", str: "string"}
# One node object per distinct (path, doc, shape), so that equal schemas are the same object: a
# key holds its children's identities, which are canonical too. Charts of one catalog nearly all
# share one schema, and values_schema pretty-prints it once per process (the json module
# pretty-prints in pure Python: the costliest step of a chart otherwise).
_NODES: dict[tuple, dict] = {}
_TEXTS: dict[int, str] = {}


def values_schema(values: dict, docs: dict[str, str]) -> str:
    root = _schema_of(values, "", docs)
    text = _TEXTS.get(id(root))
    if text is None:
        schema = {"$schema": "https://json-schema.org/draft-07/schema#", **root, "required": sorted(values)}
        text = _TEXTS[id(root)] = json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    return text
