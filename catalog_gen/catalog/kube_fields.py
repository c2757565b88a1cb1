"""Pod-spec fragments a leaf passes through verbatim (`container.affinity`), checked as the API server checks them.

The fragment is validated against the strict Kubernetes schema of its type from
the ``kubernetes-validate`` package (the same files `catalog-gen lint` uses), so
a leaf that validates is not refused later by lint or the API server.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

KUBE_VERSION = "1.31"


@functools.cache
def _validator(definition: str):
    import jsonschema_rs
    import kubernetes_validate

    root = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema" / f"v{KUBE_VERSION}.0-local-strict"
    definitions = json.loads((root / "_definitions.json").read_text(encoding="utf-8"))
    registry = jsonschema_rs.Registry([(definitions["$id"], definitions)])
    return jsonschema_rs.validator_for({"$ref": f"{definitions['$id']}#/$defs/{definition}"}, registry=registry)


def problems(value, definition: str) -> list[tuple[str, str]]:
    """(JSON pointer below the value, message) for each way `value` breaks the Kubernetes type `definition`."""
    found = []
    for error in _validator(definition).iter_errors(value):
        pointer = "".join(f"/{part}" for part in error.instance_path)
        found.append((pointer, error.message))
    return sorted(found)


AFFINITY = "io.k8s.api.core.v1.Affinity"
