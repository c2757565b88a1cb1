"""Each rendered service has a Backstage catalog-info.yaml, and every Kubernetes object of its chart carries its id.

The Component (type service) takes owner, lifecycle and system from the leaf after the
_defaults.yaml cascade, names its Kubernetes objects by the `backstage.io/kubernetes-id`
annotation, and provides the OpenAI-compatible API described in the same file.
"""

from __future__ import annotations

import re

import gitops_helpers as g
import pytest
import yaml

from catalog_gen.render.run import plan_leaves

ENTITY_NAME = re.compile(r"^([A-Za-z0-9]+[-_.])*[A-Za-z0-9]+$")  # Backstage's rule, at most 63 characters
SERVICES = [("dev", "chat-multi", "ml-workloads"), ("dev", "ollama-phi", "ml-workloads"), ("dev", "tiny-cpu", "ml-workloads"),
            ("prod", "assistant", "ml-prod"), ("prod", "llama70b", "ml-prod"), ("prod", "secure-chat", "ml-prod"),
            ("staging", "coder", "dev-tools")]


def entities(charts, environment, service) -> dict[str, dict]:
    docs = yaml.safe_load_all((charts / environment / service / "catalog-info.yaml").read_text(encoding="utf-8"))
    return {doc["kind"]: doc for doc in docs}


@pytest.mark.parametrize("environment,service,namespace", SERVICES, ids=[s[1] for s in SERVICES])
def test_component_and_api_come_from_the_leaf(example_charts, environment, service, namespace):
    found = entities(example_charts, environment, service)
    assert set(found) == {"Component", "API"}
    component, api = found["Component"], found["API"]
    name = f"{service}-{environment}"
    assert component["metadata"]["name"] == name and api["metadata"]["name"] == name
    assert component["metadata"]["annotations"]["backstage.io/kubernetes-id"] == name
    assert component["metadata"]["annotations"]["backstage.io/kubernetes-namespace"] == namespace
    spec = component["spec"]
    assert spec["type"] == "service"
    assert spec["owner"] == ("group:developer-experience" if service == "coder" else "group:ml-platform")
    assert spec["lifecycle"] == ("production" if environment == "prod" else "experimental")  # prod/_defaults.yaml
    assert spec["system"] == "llm-inference"
    assert spec["providesApis"] == [f"api:{name}"]
    assert api["spec"]["type"] == "openapi" and api["spec"]["owner"] == spec["owner"]
    definition = yaml.safe_load(api["spec"]["definition"])
    assert definition["openapi"].startswith("3.")
    assert {"/v1/chat/completions", "/v1/embeddings", "/v1/models"} <= set(definition["paths"])
    assert f"http://{service}.{namespace}.svc" in [s["url"] for s in definition["servers"]]
    assert ("security" in definition) == (service == "secure-chat")  # the leaf with API keys


@pytest.mark.parametrize("environment,service,namespace", SERVICES, ids=[s[1] for s in SERVICES])
def test_every_object_and_pod_carries_the_kubernetes_id(example_charts, environment, service, namespace):
    name = f"{service}-{environment}"
    objects = g.service_objects(example_charts, environment, service, namespace)
    assert len(objects) >= 8
    for obj in objects:
        labels = obj["metadata"].get("labels", {})
        assert labels.get("backstage.io/kubernetes-id") == name, f"{obj['kind']}/{obj['metadata']['name']}"
        template = obj.get("spec", {}).get("template")
        if obj["kind"] in ("Deployment", "StatefulSet", "Job"):
            assert template["metadata"]["labels"]["backstage.io/kubernetes-id"] == name, f"pods of {obj['kind']}"
    deployment = g.one(objects, "StatefulSet") if g.of_kind(objects, "StatefulSet") else g.one(objects, "Deployment")
    assert "backstage.io/kubernetes-id" not in deployment["spec"]["selector"]["matchLabels"]  # not a selector label


def test_a_leaf_without_owner_gets_no_catalog_info(tmp_path):
    g.write_leaf(tmp_path / "catalog", g.leaf())
    g.render(tmp_path)
    chart = tmp_path / "charts" / "dev" / "svc"
    assert (chart / "Chart.yaml").is_file() and not (chart / "catalog-info.yaml").exists()
    plans, _ = plan_leaves([tmp_path / "catalog"])
    assert ("catalog", "no catalog-info.yaml", "Backstage needs an owner and `ownership.owner` is not set") in plans[0].decisions


def test_the_longest_names_still_make_valid_entity_names(tmp_path):
    service, environment = "s" * 39 + "x", "e" * 19 + "y"
    data = g.leaf(serviceName=service, environment=environment, ownership={"owner": "group:a", "system": "b"})
    g.write_leaf(tmp_path / "catalog", data)
    g.render(tmp_path)
    found = entities(tmp_path / "charts", environment, service)
    for doc in found.values():
        name = doc["metadata"]["name"]
        assert len(name) <= 63 and ENTITY_NAME.match(name), name
