"""Backstage entities of one service: its Component and the OpenAI-compatible API it provides.

One `catalog-info.yaml` per rendered chart (per leaf). A leaf is a service in
one environment and its owner and lifecycle may differ per environment, so the
entities are named `<serviceName>-<environment>`, which is also the
`backstage.io/kubernetes-id` label every object and pod of the chart carries
(`backstage.kubernetesId` in values.yaml). The Component and the API share the
name: Backstage keys entities by kind too, and `<name>-api` would not fit 63
characters for the longest names. Backstage requires an owner: a leaf without
`ownership.owner` gets no catalog-info.yaml (the plan says so).
"""

from __future__ import annotations

import json

from catalog_gen.catalog.model import OllamaInferenceLoad
from catalog_gen.plan.observability import kubernetes_id
from catalog_gen.render import yamltext

FILE_NAME = "catalog-info.yaml"
OPENAI_PATHS = {
    "/v1/chat/completions": ("post", "Chat completion (streamed with `stream: true`, server-sent events)."),
    "/v1/completions": ("post", "Text completion."),
    "/v1/embeddings": ("post", "Embeddings of the input (embedding models)."),
    "/v1/models": ("get", "The models this service serves."),
    "/v1/models/{model}": ("get", "One model."),
}


def _dump(doc: dict) -> str:
    # yamltext, not yaml.dump: PyYAML's Python emitter cost a render of 1000 leaves seconds, and
    # its C emitter (libyaml) is not on every machine, so output could differ between machines.
    # The same documents; multi-line strings are still literal blocks.
    return yamltext.dump(doc)


def servers(leaf: OllamaInferenceLoad) -> list[dict]:
    found = []
    if leaf.ingress.enabled and leaf.ingress.host:
        scheme = "https" if leaf.ingress.tls.enabled else "http"
        found.append({"url": f"{scheme}://{leaf.ingress.host}", "description": "external"})
    found.append({"url": f"http://{leaf.service_name}.{leaf.namespace}.svc", "description": "inside the cluster"})
    return found


def openapi(leaf: OllamaInferenceLoad) -> dict:
    """A compact OpenAPI 3.0 description of the service's OpenAI-compatible endpoints."""
    models = ", ".join(spec.name for spec in leaf.model_specs)
    paths: dict = {}
    for path, (method, summary) in OPENAI_PATHS.items():
        operation: dict = {"summary": summary, "responses": {"200": {"description": "OK"}}}
        if method == "post":
            operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}}
            operation["responses"].update({"429": {"description": "Queue full; retry after `Retry-After` seconds."},
                                           "503": {"description": "No slot within the queue timeout, or no model ready."}})
        if "{model}" in path:
            operation["parameters"] = [{"name": "model", "in": "path", "required": True, "schema": {"type": "string"}}]
        paths[path] = {method: operation}
    doc: dict = {
        "openapi": "3.0.3",
        "info": {"title": f"{leaf.service_name} ({leaf.environment})", "version": leaf.ollama.version,
                 "description": f"OpenAI-compatible API of Ollama {leaf.ollama.version} behind the catalog-gen router. Models: {models}."},
        "servers": servers(leaf),
        "paths": paths,
    }
    if leaf.router.enabled and leaf.router.api_key_secret is not None:
        doc["components"] = {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}}
        doc["security"] = [{"bearer": []}]
    return doc


def entities(leaf: OllamaInferenceLoad, source: str) -> list[dict] | None:
    """The Component and its API, or None when the leaf names no owner."""
    own = leaf.ownership
    if not own.owner:
        return None
    name = kubernetes_id(leaf)
    models = ", ".join(spec.name for spec in leaf.model_specs)
    common = {"lifecycle": own.lifecycle, "owner": own.owner}
    if own.system:
        common["system"] = own.system
    component: dict = {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Component",
        "metadata": {
            "name": name,
            "title": f"{leaf.service_name} ({leaf.environment})",
            "description": f"Ollama inference service {leaf.service_name} in {leaf.environment}: {models}.",
            "tags": ["ollama", "llm", leaf.environment],
            "annotations": {
                "backstage.io/kubernetes-id": name,
                "backstage.io/kubernetes-namespace": leaf.namespace,
                "catalog-gen.io/source-leaf": source,
            },
        },
        "spec": {"type": "service", **common, "providesApis": [f"api:{name}"]},
    }
    if leaf.ingress.enabled and leaf.ingress.host:
        component["metadata"]["links"] = [{"url": servers(leaf)[0]["url"], "title": "API endpoint"}]
    api = {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "API",
        "metadata": {
            "name": name,
            "title": f"{leaf.service_name} ({leaf.environment}) OpenAI-compatible API",
            "description": f"OpenAI-compatible chat, completion and embedding endpoints of {leaf.service_name}.",
            "tags": ["openai", "llm"],
        },
        "spec": {"type": "openapi", **common, "definition": _dump(openapi(leaf))},
    }
    return [component, api]


def catalog_info(leaf: OllamaInferenceLoad, source: str) -> str | None:
    found = entities(leaf, source)
    if found is None:
        return None
    header = f"# Generated by catalog-gen from {json.dumps(source)}. Do not edit: change the leaf and run `catalog-gen render`.\n"
    return header + "---\n".join(_dump(entity) for entity in found)
